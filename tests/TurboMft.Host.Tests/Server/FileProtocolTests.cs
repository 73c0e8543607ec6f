using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using TurboMft.Engine.Protocol;

namespace TurboMft.Host.Tests.Server;

public class FileProtocolTests : IAsyncLifetime
{
    // The data directory sits alone in a parent of its own, so anything written beside it would show.
    private readonly string _parent = Directory.CreateTempSubdirectory("tmf-files-").FullName;
    private ServerFixture _server = null!;

    public async ValueTask InitializeAsync() => _server = await ServerFixture.StartAsync(Path.Combine(_parent, "data"));

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_parent, recursive: true);
    }

    [Fact]
    public async Task One_shot_put_verifies_repr_digest_and_lists_and_deletes()
    {
        var data = RandomNumberGenerator.GetBytes((5 << 20) + 3);
        using var content = new ByteArrayContent(data);
        content.Headers.Add(ProtocolHeaders.ReprDigest, DigestFields.FormatSha256(SHA256.HashData(data)));
        var put = await _server.Client.PutAsync(_server.Url("/v1/files/in/a%20file.bin"), content);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        using (var body = JsonDocument.Parse(await put.Content.ReadAsStringAsync()))
        {
            Assert.Equal("/in/a file.bin", body.RootElement.GetProperty("path").GetString());
            Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(data)), body.RootElement.GetProperty("sha256").GetString());
        }

        var head = await _server.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, _server.Url("/v1/files/in/a%20file.bin")));
        Assert.Equal(data.Length, head.Content.Headers.ContentLength);
        Assert.Equal(DigestFields.FormatSha256(SHA256.HashData(data)), head.Headers.GetValues(ProtocolHeaders.ReprDigest).Single());

        using (var list = JsonDocument.Parse(await _server.Client.GetStringAsync(_server.Url("/v1/files?prefix=/in"))))
        {
            Assert.Equal("/in/a file.bin", list.RootElement.GetProperty("files")[0].GetProperty("path").GetString());
        }

        Assert.Equal(HttpStatusCode.NoContent, (await _server.Client.DeleteAsync(_server.Url("/v1/files/in/a%20file.bin"))).StatusCode);
        await UploadProtocolTests.AssertProblemAsync(await _server.Client.GetAsync(_server.Url("/v1/files/in/a%20file.bin")), HttpStatusCode.NotFound, "file-not-found");
    }

    [Fact]
    public async Task One_shot_put_with_wrong_digest_commits_nothing()
    {
        var data = RandomNumberGenerator.GetBytes(100_000);
        using var content = new ByteArrayContent(data);
        content.Headers.Add(ProtocolHeaders.ContentDigest, DigestFields.FormatSha256(SHA256.HashData(data.AsSpan(1))));
        await UploadProtocolTests.AssertProblemAsync(await _server.Client.PutAsync(_server.Url("/v1/files/bad.bin"), content), HttpStatusCode.UnprocessableEntity, "file-digest-mismatch");
        Assert.Equal(HttpStatusCode.NotFound, (await _server.Client.GetAsync(_server.Url("/v1/files/bad.bin"))).StatusCode);
        Assert.Empty(Directory.GetFiles(Path.Combine(_server.DataPath, "store", "staging")));
    }

    [Theory]
    [InlineData("/v1/files/a/../b")]
    [InlineData("/v1/files/a/%2e%2e/b")]
    [InlineData("/v1/files/..%2f..%2fetc%2fpasswd")]
    [InlineData("/v1/files/a//b")]
    [InlineData("/v1/files/a/CON")]
    [InlineData("/v1/files/a/nul.txt")]
    [InlineData("/v1/files/a/b%00c")]
    [InlineData("/v1/files/a/b%0Ac")]
    [InlineData("/v1/files/a\\b")]
    [InlineData("/v1/files/a/b.")]
    public async Task Bad_paths_are_refused_and_nothing_is_written_outside_the_data_directory(string url)
    {
        using var content = new ByteArrayContent([1, 2, 3]);
        var request = new HttpRequestMessage(HttpMethod.Put, new Uri(_server.Address + url.TrimStart('/'), new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true })) { Content = content };
        var response = await _server.Client.SendAsync(request);
        Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"{url}: {(int)response.StatusCode}");
        // Kestrel itself refuses some targets (an encoded NUL) with a bare 400 before the application sees them.
        if (response.StatusCode == HttpStatusCode.BadRequest && response.Content.Headers.ContentType is not null)
        {
            await UploadProtocolTests.AssertProblemAsync(response, HttpStatusCode.BadRequest, "invalid-path");
        }

        Assert.Equal([_server.DataPath], Directory.GetFileSystemEntries(_parent));
        Assert.Empty(Directory.GetFiles(Path.Combine(_server.DataPath, "store", "objects"), "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Every_route_but_healthz_needs_the_token()
    {
        using var anonymous = ServerFixture.CreateClient(_server.Server.Fingerprint, null, HttpVersion.Version20);
        Assert.Equal("ok\n", await anonymous.GetStringAsync(_server.Url("/healthz")));
        foreach (var path in new[] { "/v1/info", "/v1/files?prefix=/", "/v1/files/x", "/v1/uploads/" + Guid.NewGuid() })
        {
            var response = await anonymous.GetAsync(_server.Url(path));
            await UploadProtocolTests.AssertProblemAsync(response, HttpStatusCode.Unauthorized, "unauthorized");
        }

        using var wrong = ServerFixture.CreateClient(_server.Server.Fingerprint, "tmf_wrong", HttpVersion.Version11);
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync(_server.Url("/v1/info"))).StatusCode);
        anonymous.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String("admin:admin"u8));
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(_server.Url("/v1/info"))).StatusCode);
    }

    [Fact]
    public async Task Info_reports_quic_state_and_http2_works()
    {
        using var h2 = ServerFixture.CreateClient(_server.Server.Fingerprint, _server.Token, HttpVersion.Version20);
        var response = await h2.GetAsync(_server.Url("/v1/info"));
        Assert.Equal(HttpVersion.Version20, response.Version);
        using var info = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("1.3", info.RootElement.GetProperty("tls").GetString());
        Assert.Equal(TurboMft.Host.Infrastructure.ProductInfo.QuicAvailable, info.RootElement.GetProperty("quic").GetProperty("http3").GetBoolean());
    }

    [Fact]
    public async Task Openapi_document_describes_the_api_and_needs_the_token()
    {
        using var anonymous = ServerFixture.CreateClient(_server.Server.Fingerprint, null, HttpVersion.Version11);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(_server.Url("/openapi/v1.json"))).StatusCode);
        using var document = JsonDocument.Parse(await _server.Client.GetStringAsync(_server.Url("/openapi/v1.json")));
        var paths = document.RootElement.GetProperty("paths");
        foreach (var path in new[] { "/v1/uploads", "/v1/uploads/{id}/chunks/{index}", "/v1/uploads/{id}/complete", "/v1/files/{path}", "/v1/files", "/v1/info" })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"{path} missing from the OpenAPI document");
        }
    }

    [Fact]
    public async Task Openssl_tls12_handshake_is_refused_and_tls13_succeeds()
    {
        var endpoint = $"127.0.0.1:{_server.Address.Port}";
        var tls12 = await RunAsync("openssl", "s_client", "-connect", endpoint, "-tls1_2");
        Assert.NotEqual(0, tls12.ExitCode);
        Assert.Contains("alert protocol version", tls12.Output + tls12.Error, StringComparison.Ordinal);
        var tls13 = await RunAsync("openssl", "s_client", "-connect", endpoint, "-tls1_3");
        Assert.Contains("TLSv1.3", tls13.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Curl_upload_and_ranged_download_work_as_documented()
    {
        var dir = Directory.CreateTempSubdirectory("tmf-curl-").FullName;
        try
        {
            var source = Path.Combine(dir, "file.bin");
            var data = RandomNumberGenerator.GetBytes(3 << 20);
            await File.WriteAllBytesAsync(source, data);
            var certificate = Path.Combine(_server.DataPath, "tls", "server.crt");
            var auth = $"Authorization: Bearer {_server.Token}";
            var url = _server.Url("/v1/files/in/file.bin").ToString();
            var put = await RunAsync("curl", "-sS", "--fail-with-body", "--cacert", certificate, "-H", auth, "-T", source, url);
            Assert.True(put.ExitCode == 0, put.Error + put.Output);
            var part = Path.Combine(dir, "part");
            var get = await RunAsync("curl", "-sS", "--fail-with-body", "--cacert", certificate, "-H", auth, "-r", "1048576-2097151", "-o", part, url);
            Assert.True(get.ExitCode == 0, get.Error + get.Output);
            Assert.Equal(data.AsSpan(1 << 20, 1 << 20).ToArray(), await File.ReadAllBytesAsync(part));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    internal static async Task<(int ExitCode, string Output, string Error)> RunAsync(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }
}
