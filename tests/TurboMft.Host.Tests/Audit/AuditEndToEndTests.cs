using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using TurboMft.Host.Audit;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Tests.Server;

namespace TurboMft.Host.Tests.Audit;

/// <summary>The audit trail of a real server under load and with secrets in play.</summary>
public sealed class AuditEndToEndTests : IAsyncLifetime
{
    private ServerFixture _server = null!;

    public async ValueTask InitializeAsync() => _server = await ServerFixture.StartAsync();

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Thirty_two_parallel_clients_leave_one_unbroken_chain_with_every_action_in_it()
    {
        const int Clients = 32;
        const int FilesEach = 4;
        await PostAsync("/v1/admin/users", new { name = "crowd", roles = new[] { new { role = "operator", area = "/crowd" } } });
        var clients = new List<HttpClient>();
        for (var i = 0; i < Clients; i++)
        {
            // A token each, and a connection each: 32 callers racing into the log at once.
            var issued = await PostAsync("/v1/admin/tokens", new { user = "crowd", label = $"client {i}" });
            clients.Add(ServerFixture.CreateClient(_server.Server.Fingerprint, issued.GetProperty("token").GetString(), i % 2 == 0 ? HttpVersion.Version11 : HttpVersion.Version20));
        }

        await Parallel.ForEachAsync(Enumerable.Range(0, Clients), new ParallelOptions { MaxDegreeOfParallelism = Clients }, async (i, ct) =>
        {
            for (var f = 0; f < FilesEach; f++)
            {
                var url = _server.Url($"/v1/files/crowd/{i}/{f}.bin");
                using var content = new ByteArrayContent(RandomNumberGenerator.GetBytes(2000 + f));
                Assert.Equal(HttpStatusCode.Created, (await clients[i].PutAsync(url, content, ct)).StatusCode);
                Assert.Equal(HttpStatusCode.OK, (await clients[i].GetAsync(url, ct)).StatusCode);
                Assert.Equal(HttpStatusCode.Forbidden, (await clients[i].GetAsync(_server.Url($"/v1/files/elsewhere/{i}.bin"), ct)).StatusCode);
            }
        });
        clients.ForEach(c => c.Dispose());

        await _server.Server.Services.GetRequiredService<AuditLog>().FlushAsync();
        var directory = Path.Combine(_server.DataPath, "audit");
        using (var key = DataDirectory.Open(_server.DataPath).LoadAuditKey())
        {
            var verification = AuditVerifier.Verify(new AuditFileReader(directory), key);
            Assert.Null(verification.Break);
        }

        var records = new AuditFileReader(directory).Read().ToList();
        Assert.Equal(Enumerable.Range(1, records.Count).Select(i => (long)i), records.Select(r => r.Seq));
        var expected = Enumerable.Range(0, Clients).SelectMany(i => Enumerable.Range(0, FilesEach).Select(f => $"/crowd/{i}/{f}.bin")).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected, records.Where(r => r.Action == "file.upload").Select(r => r.Path!).Order(StringComparer.Ordinal));
        Assert.Equal(expected, records.Where(r => r.Action == "file.download").Select(r => r.Path!).Order(StringComparer.Ordinal));
        Assert.Equal(Clients * FilesEach, records.Count(r => r.Action == "access.denied" && r.Actor.User == "crowd"));

        // Each client's records name its own token, and every one of the 32 tokens acted.
        Assert.Equal(Clients, records.Where(r => r.Action == "file.upload").Select(r => r.Actor.TokenId).Distinct().Count());
        Assert.All(records.Where(r => r.Action == "file.upload"), r => Assert.Equal(4, records.Count(o => o.Action == "file.upload" && o.Actor.TokenId == r.Actor.TokenId)));
    }

    [Fact]
    public async Task No_token_password_or_key_is_ever_written_to_the_data_directory_or_the_log()
    {
        const string Password = "plant-one historian export 2026";
        await PostAsync("/v1/admin/users", new { name = "hana", password = Password, roles = new[] { new { role = "operator", area = "/" } } });
        var issued = (await PostAsync("/v1/admin/tokens", new { user = "hana" })).GetProperty("token").GetString()!;
        using var anonymous = ServerFixture.CreateClient(_server.Server.Fingerprint, null, HttpVersion.Version11);
        var login = await anonymous.PostAsJsonAsync(_server.Url("/v1/auth/token"), new { user = "hana", password = Password });
        var loggedIn = (await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync(_server.Url("/v1/auth/token"), new { user = "hana", password = Password + "!" })).StatusCode);
        foreach (var token in new[] { issued, loggedIn })
        {
            using var client = ServerFixture.CreateClient(_server.Server.Fingerprint, token, HttpVersion.Version11);
            using var content = new ByteArrayContent(RandomNumberGenerator.GetBytes(1000));
            Assert.Equal(HttpStatusCode.Created, (await client.PutAsync(_server.Url("/v1/files/hana.bin"), content)).StatusCode);
        }

        using var wrongToken = ServerFixture.CreateClient(_server.Server.Fingerprint, issued[..^2] + "xx", HttpVersion.Version11);
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrongToken.GetAsync(_server.Url("/v1/info"))).StatusCode);
        await _server.Server.Services.GetRequiredService<AuditLog>().FlushAsync();

        var secrets = new List<string> { issued, loggedIn, issued[4..], loggedIn[4..], issued[..^2] + "xx", Password, _server.Token };
        secrets.AddRange(KeyMaterial(Path.Combine(_server.DataPath, "keys", "master.key")));
        secrets.AddRange(KeyMaterial(Path.Combine(_server.DataPath, "keys", "audit.key")));
        // Every file but the audit writer's lock, which the running server holds exclusively (and which stays empty).
        foreach (var file in Directory.EnumerateFiles(_server.DataPath, "*", SearchOption.AllDirectories).Where(f => Path.GetFileName(f) != "lock"))
        {
            var bytes = await File.ReadAllBytesAsync(file);
            var isAudit = file.Contains($"{Path.DirectorySeparatorChar}audit{Path.DirectorySeparatorChar}", StringComparison.Ordinal);
            foreach (var secret in secrets)
            {
                var own = (file.EndsWith("admin.token", StringComparison.Ordinal) && secret == _server.Token) || (file.EndsWith(".key", StringComparison.Ordinal) && !secrets.Take(7).Contains(secret));
                if (!own || isAudit)
                {
                    Assert.True(bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)) < 0, $"a secret ({secret.Length} chars) is in {Path.GetRelativePath(_server.DataPath, file)}");
                }
            }
        }
    }

    [Fact]
    public async Task Each_event_type_is_in_the_log_after_the_action_that_causes_it()
    {
        await PostAsync("/v1/admin/users", new { name = "ivan", password = "a long enough password" });
        await PostAsync("/v1/admin/grants", new { role = "operator", user = "ivan", area = "/ev" });
        var issued = await PostAsync("/v1/admin/tokens", new { user = "ivan" });
        using (var ivan = ServerFixture.CreateClient(_server.Server.Fingerprint, issued.GetProperty("token").GetString(), HttpVersion.Version11))
        {
            using var content = new ByteArrayContent(RandomNumberGenerator.GetBytes(3000));
            Assert.Equal(HttpStatusCode.Created, (await ivan.PutAsync(_server.Url("/v1/files/ev/a.bin"), content)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await ivan.GetAsync(_server.Url("/v1/files/ev/a.bin"))).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await ivan.GetAsync(_server.Url("/v1/files?prefix=/ev"))).StatusCode);
            Assert.Equal(HttpStatusCode.NoContent, (await ivan.DeleteAsync(_server.Url("/v1/files/ev/a.bin"))).StatusCode);
            var upload = await ivan.PostAsJsonAsync(_server.Url("/v1/uploads"), new { path = "/ev/b.bin", size = 10 });
            var id = (await upload.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
            Assert.Equal(HttpStatusCode.NoContent, (await ivan.DeleteAsync(_server.Url($"/v1/uploads/{id}"))).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await ivan.GetAsync(_server.Url("/v1/admin/users"))).StatusCode);
        }

        using var anonymous = ServerFixture.CreateClient(_server.Server.Fingerprint, null, HttpVersion.Version11);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.PostAsJsonAsync(_server.Url("/v1/auth/token"), new { user = "ivan", password = "a long enough password" })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(_server.Url("/v1/info"))).StatusCode);
        Assert.True((await _server.Client.DeleteAsync(_server.Url($"/v1/admin/tokens/{issued.GetProperty("id").GetString()}"))).IsSuccessStatusCode);
        Assert.True((await _server.Client.PostAsync(_server.Url("/v1/admin/users/ivan/disable"), null)).IsSuccessStatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _server.Client.GetAsync(_server.Url("/v1/audit?limit=1"))).StatusCode);
        await _server.Server.Services.GetRequiredService<AuditLog>().FlushAsync();

        var actions = new AuditFileReader(Path.Combine(_server.DataPath, "audit")).Read().Select(r => r.Action).ToHashSet();
        string[] expected =
        [
            "server.start", "user.add", "role.grant", "token.issue", "auth.success", "file.upload", "file.download", "file.list", "file.delete",
            "upload.open", "upload.abort", "access.denied", "auth.login", "auth.failure", "token.revoke", "user.disable", "audit.read",
        ];
        Assert.Empty(expected.Except(actions));
    }

    // The base64 and hex forms of a key file's key lines, as a leak would most likely write them.
    private static IEnumerable<string> KeyMaterial(string path) =>
        File.ReadAllLines(path)
            .Select(line => line.Trim())
            .Where(line => line.Length >= 40 && !line.StartsWith('#'))
            .SelectMany(line => line.Split(' ', ':', '\t'))
            .Where(part => part.Length >= 40)
            .SelectMany(part => TryBase64(part) is { } raw ? new[] { part, Convert.ToHexStringLower(raw), Convert.ToHexString(raw) } : [part]);

    private static byte[]? TryBase64(string text)
    {
        var buffer = new byte[text.Length];
        return Convert.TryFromBase64String(text, buffer, out var written) ? buffer[..written] : null;
    }

    private async Task<JsonElement> PostAsync(string path, object body)
    {
        using var response = await _server.Client.PostAsJsonAsync(_server.Url(path), body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {text}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }
}
