using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Protocol;
using TurboMft.Host.Tests.Server;

namespace TurboMft.Host.Tests.Access;

/// <summary>Roles on areas, enforced on every endpoint of a real server, with users and tokens made through the admin API.</summary>
public sealed class AuthorizationTests : IAsyncLifetime
{
    private ServerFixture _server = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await ServerFixture.StartAsync();
        await AddUserAsync("alice", ("uploader", "/ot/plant1"));
        await AddUserAsync("bob", ("downloader", "/ot/plant1"));
        await AddUserAsync("carol", ("downloader", "/it"));
    }

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Uploader_writes_only_inside_its_area_segment_wise()
    {
        using var alice = await ClientForAsync("alice");
        Assert.Equal(HttpStatusCode.Created, (await PutAsync(alice, "/ot/plant1/a.bin")).StatusCode);
        await AssertForbiddenAsync(await PutAsync(alice, "/ot/plant2/a.bin"));
        await AssertForbiddenAsync(await PutAsync(alice, "/ot/plant10/a.bin"));
        await AssertForbiddenAsync(await PutAsync(alice, "/ot/a.bin"));

        // An uploader may not read back or delete.
        await AssertForbiddenAsync(await alice.GetAsync(_server.Url("/v1/files/ot/plant1/a.bin")));
        await AssertForbiddenAsync(await alice.DeleteAsync(_server.Url("/v1/files/ot/plant1/a.bin")));
        Assert.Equal(HttpStatusCode.Created, (await PutAsync(_server.Client, "/ot/plant2/b.bin")).StatusCode);
    }

    [Fact]
    public async Task Downloader_reads_but_cannot_write_or_delete()
    {
        Assert.Equal(HttpStatusCode.Created, (await PutAsync(_server.Client, "/ot/plant1/x.bin")).StatusCode);
        using var bob = await ClientForAsync("bob");
        Assert.Equal(HttpStatusCode.OK, (await bob.GetAsync(_server.Url("/v1/files/ot/plant1/x.bin"))).StatusCode);
        await AssertForbiddenAsync(await PutAsync(bob, "/ot/plant1/y.bin"));
        await AssertForbiddenAsync(await bob.DeleteAsync(_server.Url("/v1/files/ot/plant1/x.bin")));
        await AssertForbiddenAsync(await bob.PostAsJsonAsync(_server.Url("/v1/uploads"), new { path = "/ot/plant1/y.bin", size = 10 }));
    }

    [Fact]
    public async Task A_denial_looks_the_same_whether_or_not_the_path_exists()
    {
        Assert.Equal(HttpStatusCode.Created, (await PutAsync(_server.Client, "/secret/exists.bin")).StatusCode);
        using var carol = await ClientForAsync("carol");
        var existing = await carol.GetAsync(_server.Url("/v1/files/secret/exists.bin"));
        var missing = await carol.GetAsync(_server.Url("/v1/files/secret/missing.bin"));
        Assert.Equal(WithoutTraceId(await AssertForbiddenAsync(existing)), WithoutTraceId(await AssertForbiddenAsync(missing)));
        await AssertForbiddenAsync(await carol.SendAsync(new HttpRequestMessage(HttpMethod.Head, _server.Url("/v1/files/secret/exists.bin"))), problemBody: false);
        await AssertForbiddenAsync(await carol.GetAsync(_server.Url("/v1/files?prefix=/secret")));
    }

    [Fact]
    public async Task Listing_shows_only_the_areas_the_caller_may_list()
    {
        Assert.Equal(HttpStatusCode.Created, (await PutAsync(_server.Client, "/ot/plant1/h1.csv")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await PutAsync(_server.Client, "/ot/plant2/h2.csv")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await PutAsync(_server.Client, "/it/report.pdf")).StatusCode);
        using var bob = await ClientForAsync("bob");
        Assert.Equal(["/ot/plant1/h1.csv"], await ListAsync(bob, "/"));
        Assert.Equal(["/ot/plant1/h1.csv"], await ListAsync(bob, "/ot"));
        await AssertForbiddenAsync(await bob.GetAsync(_server.Url("/v1/files?prefix=/ot/plant2")));
        Assert.Equal(["/it/report.pdf", "/ot/plant1/h1.csv", "/ot/plant2/h2.csv"], await ListAsync(_server.Client, "/"));
    }

    [Fact]
    public async Task Resumable_upload_needs_write_on_the_sessions_path_for_every_step()
    {
        using var alice = await ClientForAsync("alice");
        using var bob = await ClientForAsync("bob");
        var data = RandomNumberGenerator.GetBytes(1 << 20);
        await AssertForbiddenAsync(await alice.PostAsJsonAsync(_server.Url("/v1/uploads"), new { path = "/ot/plant2/r.bin", size = data.Length }));
        var created = await alice.PostAsJsonAsync(_server.Url("/v1/uploads"), new { path = "/ot/plant1/r.bin", size = data.Length, chunkSize = 1 << 20 });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();

        await AssertForbiddenAsync(await PutChunkAsync(bob, id!, data));
        await AssertForbiddenAsync(await bob.GetAsync(_server.Url($"/v1/uploads/{id}")));
        await AssertForbiddenAsync(await bob.DeleteAsync(_server.Url($"/v1/uploads/{id}")));
        Assert.Equal(HttpStatusCode.OK, (await PutChunkAsync(alice, id!, data)).StatusCode);
        await AssertForbiddenAsync(await bob.PostAsync(_server.Url($"/v1/uploads/{id}/complete"), null));
        Assert.Equal(HttpStatusCode.OK, (await alice.PostAsync(_server.Url($"/v1/uploads/{id}/complete"), null)).StatusCode);
    }

    [Fact]
    public async Task A_token_scope_narrows_and_never_widens()
    {
        Assert.Equal(HttpStatusCode.Created, (await PutAsync(_server.Client, "/ot/plant1/n.bin")).StatusCode);

        // bob (downloader) asking for write and admin gets neither; with list only he can no longer read.
        using var wider = await ClientForAsync("bob", permissions: "list,read,write,admin");
        await AssertForbiddenAsync(await PutAsync(wider, "/ot/plant1/w.bin"));
        await AssertForbiddenAsync(await wider.GetAsync(_server.Url("/v1/admin/users")));
        Assert.Equal(HttpStatusCode.OK, (await wider.GetAsync(_server.Url("/v1/files/ot/plant1/n.bin"))).StatusCode);
        using var listOnly = await ClientForAsync("bob", permissions: "list");
        await AssertForbiddenAsync(await listOnly.GetAsync(_server.Url("/v1/files/ot/plant1/n.bin")));
        Assert.Equal(["/ot/plant1/n.bin"], await ListAsync(listOnly, "/ot/plant1"));

        // alice narrowed to a sub-area writes only there; an area outside hers gives nothing.
        using var sub = await ClientForAsync("alice", areas: ["/ot/plant1/sub"]);
        await AssertForbiddenAsync(await PutAsync(sub, "/ot/plant1/a.bin"));
        Assert.Equal(HttpStatusCode.Created, (await PutAsync(sub, "/ot/plant1/sub/a.bin")).StatusCode);
        using var outside = await ClientForAsync("alice", areas: ["/it"]);
        await AssertForbiddenAsync(await PutAsync(outside, "/it/a.bin"));
    }

    [Fact]
    public async Task Admin_endpoints_need_admin()
    {
        using var alice = await ClientForAsync("alice");
        await AssertForbiddenAsync(await alice.GetAsync(_server.Url("/v1/admin/users")));
        await AssertForbiddenAsync(await alice.PostAsJsonAsync(_server.Url("/v1/admin/grants"), new { role = "admin", user = "alice", area = "/" }));
        await AssertForbiddenAsync(await alice.PostAsJsonAsync(_server.Url("/v1/admin/tokens"), new { user = "admin" }));
        Assert.Equal(HttpStatusCode.OK, (await _server.Client.GetAsync(_server.Url("/v1/admin/users"))).StatusCode);
    }

    [Fact]
    public async Task Revoked_tokens_and_disabled_users_are_401()
    {
        var (id, secret) = await CreateTokenAsync("bob");
        using var bob = ServerFixture.CreateClient(_server.Server.Fingerprint, secret, HttpVersion.Version11);
        Assert.Equal(HttpStatusCode.OK, (await bob.GetAsync(_server.Url("/v1/info"))).StatusCode);
        Assert.True((await _server.Client.DeleteAsync(_server.Url($"/v1/admin/tokens/{id}"))).IsSuccessStatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await bob.GetAsync(_server.Url("/v1/info"))).StatusCode);

        using var carol = await ClientForAsync("carol");
        Assert.Equal(HttpStatusCode.OK, (await carol.GetAsync(_server.Url("/v1/info"))).StatusCode);
        Assert.True((await _server.Client.PostAsync(_server.Url("/v1/admin/users/carol/disable"), null)).IsSuccessStatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await carol.GetAsync(_server.Url("/v1/info"))).StatusCode);
    }

    internal static async Task<string> AssertForbiddenAsync(HttpResponseMessage response, bool problemBody = true)
    {
        if (!problemBody)
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            return string.Empty;
        }

        var problem = await UploadProtocolTests.AssertProblemAsync(response, HttpStatusCode.Forbidden, "forbidden");
        return problem.GetRawText();
    }

    private static string WithoutTraceId(string problem)
    {
        var node = JsonNode.Parse(problem)!.AsObject();
        node.Remove("traceId");
        return node.ToJsonString();
    }

    private async Task AddUserAsync(string name, (string Role, string Area) grant)
    {
        var response = await _server.Client.PostAsJsonAsync(_server.Url("/v1/admin/users"), new { name, roles = new[] { new { role = grant.Role, area = grant.Area } } });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<(string Id, string Secret)> CreateTokenAsync(string user, string? permissions = null, string[]? areas = null)
    {
        var response = await _server.Client.PostAsJsonAsync(_server.Url("/v1/admin/tokens"), new { user, permissions, areas });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (body.GetProperty("id").GetString()!, body.GetProperty("token").GetString()!);
    }

    private async Task<HttpClient> ClientForAsync(string user, string? permissions = null, string[]? areas = null)
    {
        var (_, secret) = await CreateTokenAsync(user, permissions, areas);
        return ServerFixture.CreateClient(_server.Server.Fingerprint, secret, HttpVersion.Version11);
    }

    private async Task<HttpResponseMessage> PutAsync(HttpClient client, string path)
    {
        using var content = new ByteArrayContent(RandomNumberGenerator.GetBytes(1000));
        return await client.PutAsync(_server.Url("/v1/files" + path), content);
    }

    private async Task<HttpResponseMessage> PutChunkAsync(HttpClient client, string id, byte[] data)
    {
        using var content = new ByteArrayContent(data);
        content.Headers.Add(ProtocolHeaders.ChunkCrc64, ChunkCrc.Format(ChunkCrc.Compute(data)));
        return await client.PutAsync(_server.Url($"/v1/uploads/{id}/chunks/0"), content);
    }

    private async Task<string[]> ListAsync(HttpClient client, string prefix)
    {
        var response = await client.GetAsync(_server.Url("/v1/files?prefix=" + Uri.EscapeDataString(prefix)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return [.. body.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("path").GetString()!)];
    }
}
