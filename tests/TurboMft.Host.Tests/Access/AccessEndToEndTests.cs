using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using TurboMft.Host.Audit;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Tests.Server;

namespace TurboMft.Host.Tests.Access;

/// <summary>
/// Access control met from outside: peers over real mTLS with curl, the password login and its throttle, and the audit
/// trail those requests leave (read back through <c>GET /v1/audit</c> and verified as a chain).
/// </summary>
public sealed class AccessEndToEndTests : IAsyncLifetime
{
    private readonly string _work = Directory.CreateTempSubdirectory("tmf-e2e-").FullName;
    private X509Certificate2 _siteCa = null!;
    private ServerFixture _server = null!;

    public async ValueTask InitializeAsync()
    {
        _siteCa = TestCertificates.CreateCa("Site B CA");
        var caFile = TestCertificates.WritePem(Path.Combine(_work, "clients-ca.pem"), _siteCa);
        _server = await ServerFixture.StartAsync(Path.Combine(_work, "data"), settings => settings.ClientCaFile = caFile);
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _siteCa.Dispose();
        Directory.Delete(_work, recursive: true);
    }

    [Fact]
    public async Task A_pinned_peer_writes_with_its_client_certificate_inside_its_area_only()
    {
        using var pinned = TestCertificates.CreateSelfSigned("site-b.example");
        var fingerprint = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(pinned.RawData));
        await AdminAsync(HttpMethod.Post, "/v1/admin/peers", new { name = "site-b", fingerprint });
        await AdminAsync(HttpMethod.Post, "/v1/admin/grants", new { role = "uploader", peer = "site-b", area = "/replica" });
        var (cert, key) = WriteClientPem(pinned, "pinned");

        var data = RandomNumberGenerator.GetBytes(300_000);
        var source = Path.Combine(_work, "payload.bin");
        await File.WriteAllBytesAsync(source, data);
        Assert.Equal("201", await CurlStatusAsync("-T", source, "--cert", cert, "--key", key, Url("/v1/files/replica/from-b.bin")));
        Assert.Equal("403", await CurlStatusAsync("-T", source, "--cert", cert, "--key", key, Url("/v1/files/ot/from-b.bin")));

        // The admin reads back what the peer sent, byte for byte; the audit names the peer, not a user.
        Assert.Equal(data, await _server.Client.GetByteArrayAsync(_server.Url("/v1/files/replica/from-b.bin")));
        var upload = await WaitForAuditAsync("action=file.upload&path=/replica", r => r.GetProperty("actor").TryGetProperty("peer", out var peer) && peer.GetString() == "site-b");
        Assert.False(upload.GetProperty("actor").TryGetProperty("user", out _));
        Assert.Equal(data.Length, upload.GetProperty("size").GetInt64());
    }

    [Fact]
    public async Task A_ca_issued_peer_is_known_by_its_common_name_and_a_stranger_certificate_is_401()
    {
        await AdminAsync(HttpMethod.Post, "/v1/admin/peers", new { name = "site-c", commonName = "site-c.example" });
        await AdminAsync(HttpMethod.Post, "/v1/admin/grants", new { role = "downloader", peer = "site-c", area = "/" });
        using var issued = TestCertificates.CreateClient(_siteCa, "site-c.example");
        var (cert, key) = WriteClientPem(issued, "issued");
        Assert.Equal("200", await CurlStatusAsync("--cert", cert, "--key", key, Url("/v1/files?prefix=/")));

        // Same common name, other CA; and a self-signed certificate nobody registered.
        using var otherCa = TestCertificates.CreateCa("Impostor CA");
        using var forged = TestCertificates.CreateClient(otherCa, "site-c.example");
        var (forgedCert, forgedKey) = WriteClientPem(forged, "forged");
        Assert.Equal("401", await CurlStatusAsync("--cert", forgedCert, "--key", forgedKey, Url("/v1/files?prefix=/")));
        using var stranger = TestCertificates.CreateSelfSigned("stranger");
        var (strangerCert, strangerKey) = WriteClientPem(stranger, "stranger");
        Assert.Equal("401", await CurlStatusAsync("--cert", strangerCert, "--key", strangerKey, Url("/v1/files?prefix=/")));
        await WaitForAuditAsync("action=auth.failure", r => r.TryGetProperty("detail", out var d) && d.GetString() is { } reason && reason.Contains("certificate", StringComparison.Ordinal));

        // A bearer header always wins over the certificate: a bad token is 401 even from a registered peer.
        Assert.Equal("401", await CurlStatusAsync("--cert", cert, "--key", key, "-H", "Authorization: Bearer tmf_wrong", Url("/v1/files?prefix=/")));
    }

    [Fact]
    public async Task The_password_login_issues_a_working_token_and_repeated_failures_are_throttled_and_audited()
    {
        await AdminAsync(HttpMethod.Post, "/v1/admin/users", new { name = "dora", password = "correct horse battery staple", roles = new[] { new { role = "downloader", area = "/it" } } });
        using var anonymous = ServerFixture.CreateClient(_server.Server.Fingerprint, null, HttpVersion.Version11);

        var login = await anonymous.PostAsJsonAsync(_server.Url("/v1/auth/token"), new { user = "dora", password = "correct horse battery staple", expiresInHours = 1 });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        Assert.Equal("no-store", login.Headers.CacheControl?.ToString());
        var issued = await login.Content.ReadFromJsonAsync<JsonElement>();
        using (var dora = ServerFixture.CreateClient(_server.Server.Fingerprint, issued.GetProperty("token").GetString(), HttpVersion.Version11))
        {
            Assert.Equal(HttpStatusCode.OK, (await dora.GetAsync(_server.Url("/v1/files?prefix=/it"))).StatusCode);
            await AuthorizationTests.AssertForbiddenAsync(await dora.GetAsync(_server.Url("/v1/files?prefix=/ot")));
        }

        // Wrong passwords and an unknown user answer alike; the fifth failure from this address starts the throttle.
        for (var i = 0; i < 5; i++)
        {
            var wrong = await anonymous.PostAsJsonAsync(_server.Url("/v1/auth/token"), new { user = i % 2 == 0 ? "dora" : "nobody", password = "wrong password " + i });
            var problem = await UploadProtocolTests.AssertProblemAsync(wrong, HttpStatusCode.Unauthorized, "unauthorized");
            Assert.Equal("Wrong user name or password.", problem.GetProperty("detail").GetString());
        }

        var throttled = await WaitForAuditAsync("action=auth.throttled", _ => true);
        Assert.Equal("127.0.0.1", throttled.GetProperty("actor").GetProperty("address").GetString());
        var failures = await WaitForAuditAsync("action=auth.login&actor=nobody", r => r.GetProperty("outcome").GetString() == "failure");
        Assert.Equal("127.0.0.1", failures.GetProperty("actor").GetProperty("address").GetString());
        var success = await WaitForAuditAsync("action=auth.login&actor=dora", r => r.GetProperty("outcome").GetString() == "success");
        Assert.Equal(issued.GetProperty("id").GetString(), success.GetProperty("actor").GetProperty("token").GetString());
    }

    [Fact]
    public async Task Every_file_action_and_denial_is_in_a_chain_that_verifies_and_an_auditor_sees_only_its_area()
    {
        await AdminAsync(HttpMethod.Post, "/v1/admin/users", new { name = "erin", roles = new[] { new { role = "auditor", area = "/ot" } } });
        await AdminAsync(HttpMethod.Post, "/v1/admin/users", new { name = "finn", roles = new[] { new { role = "downloader", area = "/it" } } });
        using (var content = new ByteArrayContent(RandomNumberGenerator.GetBytes(5000)))
        {
            Assert.Equal(HttpStatusCode.Created, (await _server.Client.PutAsync(_server.Url("/v1/files/ot/a.bin"), content)).StatusCode);
        }

        using (var content = new ByteArrayContent(RandomNumberGenerator.GetBytes(5000)))
        {
            Assert.Equal(HttpStatusCode.Created, (await _server.Client.PutAsync(_server.Url("/v1/files/it/b.bin"), content)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await _server.Client.GetAsync(_server.Url("/v1/files/ot/a.bin"))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await _server.Client.DeleteAsync(_server.Url("/v1/files/ot/a.bin"))).StatusCode);
        using var finn = await TokenClientAsync("finn");
        await AuthorizationTests.AssertForbiddenAsync(await finn.GetAsync(_server.Url("/v1/files/ot/a.bin")));

        await WaitForAuditAsync("action=access.denied&actor=finn", r => r.GetProperty("path").GetString() == "/ot/a.bin");
        await WaitForAuditAsync("action=file.download&path=/ot", _ => true);
        var delete = await WaitForAuditAsync("action=file.delete", _ => true);
        Assert.Equal("admin", delete.GetProperty("actor").GetProperty("user").GetString());
        Assert.Equal("tok_admin", delete.GetProperty("actor").GetProperty("token").GetString());
        Assert.StartsWith("sha256-tree:", delete.GetProperty("digest").GetString(), StringComparison.Ordinal);

        // erin audits /ot: she sees its records and none of /it, nor the server-wide ones without a path.
        using var erin = await TokenClientAsync("erin");
        var page = await erin.GetFromJsonAsync<JsonElement>(_server.Url("/v1/audit?limit=10000"));
        var paths = page.GetProperty("records").EnumerateArray().Select(r => r.TryGetProperty("path", out var p) ? p.GetString() : null).ToList();
        Assert.Contains("/ot/a.bin", paths);
        Assert.DoesNotContain("/it/b.bin", paths);
        Assert.DoesNotContain(null, paths);
        await AuthorizationTests.AssertForbiddenAsync(await finn.GetAsync(_server.Url("/v1/audit")));

        // The whole trail, from server.start on, is one unbroken chain.
        await _server.Server.Services.GetRequiredService<AuditLog>().FlushAsync();
        using var key = DataDirectoryKey();
        var verification = AuditVerifier.Verify(new AuditFileReader(Path.Combine(_server.DataPath, "audit")), key);
        Assert.Null(verification.Break);
        Assert.True(verification.Records > 10, $"{verification.Records} records");
    }

    private AuditKey DataDirectoryKey() => TurboMft.Host.Infrastructure.DataDirectory.Open(_server.DataPath).LoadAuditKey();

    private string Url(string path) => _server.Url(path).ToString();

    private (string Cert, string Key) WriteClientPem(X509Certificate2 certificate, string name)
    {
        var cert = TestCertificates.WritePem(Path.Combine(_work, name + ".crt"), certificate);
        var key = Path.Combine(_work, name + ".key");
        File.WriteAllText(key, certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        return (cert, key);
    }

    private async Task<string> CurlStatusAsync(params string[] args)
    {
        var (exit, output, error) = await FileProtocolTests.RunAsync(
            "curl",
            ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", Path.Combine(_server.DataPath, "tls", "server.crt"), .. args]);
        Assert.True(exit == 0, $"curl exit {exit}: {error}");
        return output.Trim();
    }

    private async Task AdminAsync(HttpMethod method, string path, object body)
    {
        using var request = new HttpRequestMessage(method, _server.Url(path)) { Content = JsonContent.Create(body) };
        using var response = await _server.Client.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, $"{method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private async Task<HttpClient> TokenClientAsync(string user)
    {
        var response = await _server.Client.PostAsJsonAsync(_server.Url("/v1/admin/tokens"), new { user });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var token = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString();
        return ServerFixture.CreateClient(_server.Server.Fingerprint, token, HttpVersion.Version11);
    }

    // Reads and listings are group-committed within about a second, so poll the admin's view for a little while.
    private async Task<JsonElement> WaitForAuditAsync(string query, Func<JsonElement, bool> match)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var page = await _server.Client.GetFromJsonAsync<JsonElement>(_server.Url("/v1/audit?limit=10000&" + query));
            foreach (var record in page.GetProperty("records").EnumerateArray())
            {
                if (match(record))
                {
                    return record.Clone();
                }
            }

            Assert.True(DateTime.UtcNow < deadline, $"no audit record for {query}: {page}");
            await Task.Delay(100);
        }
    }
}
