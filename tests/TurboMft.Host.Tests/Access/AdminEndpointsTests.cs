using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using TurboMft.Engine.Client;
using TurboMft.Engine.Protocol;
using TurboMft.Host.Access;
using TurboMft.Host.Audit;
using TurboMft.Host.Http;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Server;
using TurboMft.Host.Tests.Server;

namespace TurboMft.Host.Tests.Access;

/// <summary>
/// /v1/admin over real HTTPS, through <see cref="TurboMftAdminClient"/>. Authenticated with the first-start admin token;
/// the audit trail is a recording one registered through the server's service hook.
/// </summary>
public sealed class AdminEndpointsTests : IAsyncLifetime
{
    private readonly RecordingAuditTrail _audit = new();
    private ServerFixture _fixture = null!;
    private TurboMftAdminClient _client = null!;

    public async ValueTask InitializeAsync()
    {
        _fixture = await ServerFixture.StartAsync(logging: _ => { }, services: services => services.AddSingleton<IAuditTrail>(_audit));
        _client = Client(_fixture.Token);
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _fixture.DisposeAsync();
    }

    [Fact]
    public void Every_admin_endpoint_requires_the_admin_permission_on_root()
    {
        var endpoints = _fixture.Server.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText!.StartsWith("/v1/admin", StringComparison.Ordinal))
            .ToList();

        Assert.True(endpoints.Count >= 16, $"found {endpoints.Count} admin endpoints");
        Assert.All(endpoints, e => Assert.Equal(new RequiredPermission(Permission.Admin, PathSource.Root), e.Metadata.GetMetadata<RequiredPermission>()));
    }

    [Fact]
    public async Task Users_tokens_and_grants_round_trip_and_a_token_issued_here_authenticates()
    {
        var added = await _client.AddUserAsync(new AddUserRequest("alice", "alice's long password", [new RoleAssignmentView("uploader", "/ot/plant1")]));
        var issued = await _client.IssueTokenAsync(new IssueTokenRequest("alice", "ci", 12, "list,write", ["/ot/plant1/inbox"]));
        await _client.GrantAsync(new GrantRequest("downloader", User: "alice", Area: "/it"));

        Assert.Equal(("alice", true, true, "local"), (added.Name, added.Enabled, added.HasPassword, added.Source));
        Assert.Equal([new RoleAssignmentView("uploader", "/ot/plant1")], added.Roles);
        Assert.Equal(["admin", "alice"], (await _client.ListUsersAsync()).Select(u => u.Name));
        var token = Assert.Single(await _client.ListTokensAsync("alice"));
        Assert.Equal((issued.Id, "ci", "list,write", "/ot/plant1/inbox"), (token.Id, token.Label, token.Permissions, Assert.Single(token.Areas!)));
        Assert.InRange((token.ExpiresAt!.Value - token.CreatedAt).TotalHours, 11.99, 12.01);
        var principal = (await _fixture.Server.Services.GetRequiredService<IAccessAuthenticator>().AuthenticateTokenAsync(issued.Token)).Principal!;
        Assert.True(principal.Grants.Allows(Permission.Write, Engine.Storage.RemotePath.Parse("/ot/plant1/inbox/a")));
        Assert.False(principal.Grants.HoldsAnywhere(Permission.Read));
        Assert.Contains(new GrantView("downloader", "alice", null, "/it", "local"), await _client.ListGrantsAsync());
        Assert.Contains(_audit.Durable, e => e.Action == "token.issue" && e.Detail!.Contains(issued.Id, StringComparison.Ordinal));

        await _client.RevokeTokenAsync(issued.Id);
        await _client.RevokeGrantAsync(new GrantRequest("downloader", User: "alice", Area: "/it"));
        await _client.SetUserEnabledAsync("alice", false);
        await _client.SetPasswordAsync("alice", "another long password");

        Assert.NotNull(Assert.Single(await _client.ListTokensAsync("alice")).RevokedAt);
        Assert.DoesNotContain(new GrantView("downloader", "alice", null, "/it", "local"), await _client.ListGrantsAsync());
        Assert.False((await _client.ListUsersAsync()).Single(u => u.Name == "alice").Enabled);
    }

    [Fact]
    public async Task Token_issue_answers_201_with_the_secret_and_no_store()
    {
        using var http = ServerFixture.CreateClient(_fixture.Server.Fingerprint, _fixture.Token, HttpVersion.Version11);

        using var response = await http.PostAsJsonAsync(new Uri(_fixture.Server.Address, "/v1/admin/tokens"), new { user = "admin", label = "second" });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        Assert.StartsWith("tmf_", body.GetProperty("token").GetString(), StringComparison.Ordinal);
        Assert.Equal($"/v1/admin/tokens/{body.GetProperty("id").GetString()}", response.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task Refusals_are_problems_with_stable_types()
    {
        await _client.AddUserAsync(new AddUserRequest("bob"));

        Assert.Equal((409, "user-exists"), await ProblemAsync(() => _client.AddUserAsync(new AddUserRequest("bob"))));
        Assert.Equal((400, "invalid-name"), await ProblemAsync(() => _client.AddUserAsync(new AddUserRequest("Bob"))));
        Assert.Equal((400, "invalid-request"), await ProblemAsync(() => _client.AddUserAsync(new AddUserRequest("carol", "short"))));
        Assert.Equal((404, "role-not-found"), await ProblemAsync(() => _client.GrantAsync(new GrantRequest("uploadr", User: "bob", Area: "/x"))));
        Assert.Equal((400, "invalid-path"), await ProblemAsync(() => _client.GrantAsync(new GrantRequest("uploader", User: "bob", Area: "/x/../y"))));
        Assert.Equal((400, "invalid-request"), await ProblemAsync(() => _client.GrantAsync(new GrantRequest("uploader", "bob", "site", "/x"))));
        Assert.Equal((409, "last-admin"), await ProblemAsync(() => _client.SetUserEnabledAsync("admin", false)));
        Assert.Equal((409, "builtin-role"), await ProblemAsync(() => _client.AddRoleAsync(new AddRoleRequest("admin", "list"))));
        Assert.Equal((404, "token-not-found"), await ProblemAsync(() => _client.RevokeTokenAsync("tok_aaaaaaaaaaaa")));
        Assert.Equal((404, "peer-not-found"), await ProblemAsync(() => _client.RemovePeerAsync("nowhere")));
        Assert.Equal((400, "invalid-request"), await ProblemAsync(() => _client.IssueTokenAsync(new IssueTokenRequest("bob", ExpiresInHours: -1))));

        using var http = ServerFixture.CreateClient(_fixture.Server.Fingerprint, _fixture.Token, HttpVersion.Version11);
        using var malformed = await http.PostAsync(new Uri(_fixture.Server.Address, "/v1/admin/users"), new StringContent("{\"name\":", System.Text.Encoding.UTF8, "application/json"));
        using var polymorphic = await http.PostAsync(new Uri(_fixture.Server.Address, "/v1/admin/users"), new StringContent("{\"$type\":\"x\",\"name\":\"eve\"}", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal("application/problem+json", malformed.Content.Headers.ContentType?.MediaType);
        Assert.Contains("urn:turbomft:problem:invalid-request", await malformed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Created, polymorphic.StatusCode);
    }

    [Fact]
    public async Task Roles_and_peers_round_trip_and_grants_can_be_revoked_by_query()
    {
        var role = await _client.AddRoleAsync(new AddRoleRequest("historian-reader", "read,list"));
        var peer = await _client.AddPeerAsync(new AddPeerRequest("site-b", "sha256:" + new string('C', 64)));
        await _client.GrantAsync(new GrantRequest("historian-reader", Peer: "site-b", Area: "/ot/plant1/historian"));
        using var http = ServerFixture.CreateClient(_fixture.Server.Fingerprint, _fixture.Token, HttpVersion.Version11);

        Assert.Equal(new RoleView("historian-reader", "list,read", false, "local"), role);
        Assert.Equal("sha256:" + new string('c', 64), peer.Fingerprint);
        Assert.Equal([new RoleAssignmentView("historian-reader", "/ot/plant1/historian")], (await _client.ListPeersAsync()).Single().Roles);
        Assert.Contains(new RoleView("uploader", "list,write", true, "builtin"), await _client.ListRolesAsync());

        using var revoked = await http.DeleteAsync(new Uri(_fixture.Server.Address, "/v1/admin/grants?role=historian-reader&peer=site-b&area=%2Fot%2Fplant1%2Fhistorian"));
        Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
        Assert.Empty((await _client.ListPeersAsync()).Single().Roles);

        await _client.SetPeerEnabledAsync("site-b", false);
        Assert.False((await _client.ListPeersAsync()).Single().Enabled);
        await _client.RemovePeerAsync("site-b");
        Assert.Empty(await _client.ListPeersAsync());
    }

    [Fact]
    public async Task Without_the_token_the_admin_api_answers_401()
    {
        using var anonymous = Client("tmf_not-a-token");

        var problem = await Assert.ThrowsAsync<ServerProblemException>(() => anonymous.ListUsersAsync());

        Assert.Equal(401, problem.Status);
    }

    [Fact]
    public async Task The_policy_file_is_applied_at_every_start()
    {
        var root = Directory.CreateTempSubdirectory("tmf-policy-").FullName;
        try
        {
            var policy = Path.Combine(root, "policy.json");
            await File.WriteAllTextAsync(policy, """{ "users": [ { "name": "ops" } ], "grants": [ { "role": "operator", "user": "ops", "area": "/ot" } ] }""");
            await using var site = await ServerFixture.StartAsync(
                Path.Combine(root, "data"), settings => settings.Policy = policy, _ => { }, services => services.AddSingleton<IAuditTrail>(_audit));
            Assert.True((await site.Server.Services.GetRequiredService<IAccessStore>().GrantsForUserAsync("ops")).Allows(Permission.Delete, Engine.Storage.RemotePath.Parse("/ot/x")));

            await File.WriteAllTextAsync(policy, "{}");
            await site.RestartAsync();
            Assert.DoesNotContain(await site.Server.Services.GetRequiredService<AccessAdministration>().ListUsersAsync(), u => u.Name == "ops");

            Assert.Equal(["file=policy.json roles=0 users=1 peers=0 grants=1", "file=policy.json roles=0 users=0 peers=0 grants=0"], _audit.Durable.Where(e => e.Action == "policy.load").Select(e => e.Detail));
            await site.StopAsync();
            await File.WriteAllTextAsync(policy, """{ "grants": [ { "role": "operator", "user": "ops", "area": "/ot" } ] }""");
            var settings = new ServerSettings { Data = site.DataPath, Listen = "127.0.0.1:0", Policy = policy };
            var error = Assert.Throws<PolicyFileException>(() => TurboMftServer.Create(settings, DataDirectory.Open(site.DataPath)));
            Assert.Equal((1, 45), (error.Line, error.Column));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private TurboMftAdminClient Client(string token) =>
        new(new TurboMftClientOptions { BaseAddress = _fixture.Server.Address, Token = token, PinSha256 = _fixture.Server.Fingerprint });

    private static async Task<(int, string?)> ProblemAsync(Func<Task> call)
    {
        var problem = await Assert.ThrowsAsync<ServerProblemException>(call);
        return (problem.Status, problem.ProblemType);
    }
}
