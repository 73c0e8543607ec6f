using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using TurboMft.Host.Audit;
using TurboMft.Host.Scanning;
using TurboMft.Host.Tests.Notifications;
using TurboMft.Host.Tests.Scanning;
using TurboMft.Host.Tests.Server;

namespace TurboMft.Host.Tests.Release;

/// <summary>
/// The whole boundary with nothing stubbed: the server's own scanner chain (real clamd over its Unix socket, file types,
/// archives) decides what is released, what is quarantined and what is held while clamd is down.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ContentSecurityEndToEndTests : IAsyncLifetime
{
    private const string Eicar = @"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
    private const string Secret = "4f1e8c6b3a0d7f4e1c8b5a2f9e6d3c0b7a4f1e9d2f7c1e4b8a6d3f0e5c2b9a7d";
    private readonly string _dir = Directory.CreateTempSubdirectory("tmf-boundary-").FullName;
    private ClamdFixture _clamd = null!;
    private WebhookReceiver _receiver = null!;
    private ServerFixture _server = null!;

    public async ValueTask InitializeAsync()
    {
        _clamd = await ClamdFixture.StartAsync(new ClamdLimits());
        _receiver = await WebhookReceiver.StartAsync();
        var secretFile = SecretFiles.Write(_dir, Secret);
        _server = await ServerFixture.StartAsync(configure: settings =>
        {
            settings.Notifications.WebhookUrl = _receiver.Url.ToString();
            settings.Notifications.WebhookSecretFile = secretFile;
            settings.Content.Clamd = "unix:" + _clamd.SocketPath;
            settings.Content.InlineScanWaitSeconds = 10;
            settings.Content.ScanRetrySeconds = 0.5;
            settings.Content.ScanRetryMaxSeconds = 1;
            settings.Content.ScanSweepSeconds = 0.5;
            settings.Content.Areas = [new AreaContentSettings { Area = "/ot", DenyTypes = ["pe", "elf", "macho", "script"] }];
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        await _receiver.DisposeAsync();
        await _clamd.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Eicar_is_quarantined_by_clamav_a_disguised_elf_by_the_type_policy_and_a_clean_csv_released()
    {
        Assert.Equal("quarantined", await PutStateAsync("/in/eicar.txt", Encoding.ASCII.GetBytes(Eicar)));
        Assert.Equal(HttpStatusCode.Conflict, (await _server.Client.GetAsync(_server.Url("/v1/files/in/eicar.txt"))).StatusCode);

        // The security team hears of it at once, signed; a downloader never sees the file listed.
        var incident = await _receiver.WaitForAsync(r => r.Kind == "malware-found", TimeSpan.FromSeconds(10));
        Assert.True(ReceiverSide.Verify(incident.Headers["TurboMft-Signature"], incident.Body, Secret, DateTimeOffset.UtcNow));
        Assert.Equal("/in/eicar.txt", incident.Json.GetProperty("path").GetString());
        Assert.Contains("Eicar-Test-Signature", incident.Json.GetRawText(), StringComparison.Ordinal);
        await PostAsync("/v1/admin/users", new { name = "dl", roles = new[] { new { role = "downloader", area = "/in" } } });
        var token = JsonDocument.Parse(await PostAsync("/v1/admin/tokens", new { user = "dl" })).RootElement.GetProperty("token").GetString();
        using (var downloader = ServerFixture.CreateClient(_server.Server.Fingerprint, token, HttpVersion.Version11))
        {
            Assert.DoesNotContain("eicar", await downloader.GetStringAsync(_server.Url("/v1/files?prefix=/in")), StringComparison.Ordinal);
        }

        var elf = new byte[4096];
        new byte[] { 0x7F, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1 }.CopyTo(elf, 0);
        Assert.Equal("quarantined", await PutStateAsync("/ot/plant1/export.csv", elf));

        var csv = ReleaseTestServer.Csv();
        Assert.Equal("released", await PutStateAsync("/ot/plant1/historian.csv", csv));
        Assert.Equal(csv, await _server.Client.GetByteArrayAsync(_server.Url("/v1/files/ot/plant1/historian.csv")));

        await _server.Server.Services.GetRequiredService<AuditLog>().FlushAsync();
        var quarantined = new AuditFileReader(Path.Combine(_server.DataPath, "audit")).Read().Where(r => r.Action == "file.quarantined").ToList();
        Assert.Contains(quarantined, r => r.Path == "/in/eicar.txt" && r.Detail!.Contains("Eicar-Test-Signature", StringComparison.Ordinal) && r.Detail.Contains("clamav", StringComparison.Ordinal));
        Assert.Contains(quarantined, r => r.Path == "/ot/plant1/export.csv" && r.Detail!.Contains("elf", StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_clamd_down_an_upload_is_held_and_released_once_clamd_is_back()
    {
        await _clamd.StopAsync();
        var csv = ReleaseTestServer.Csv(50);
        using (var content = new ByteArrayContent(csv))
        {
            // The commit waits its inline time, then answers with the file still held.
            var put = await _server.Client.PutAsync(_server.Url("/v1/files/in/held.csv"), content);
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
            Assert.Equal("pending-scan", JsonDocument.Parse(await put.Content.ReadAsStringAsync()).RootElement.GetProperty("state").GetString());
        }

        await UploadProtocolTests.AssertProblemAsync(await _server.Client.GetAsync(_server.Url("/v1/files/in/held.csv")), HttpStatusCode.Conflict, "file-pending");

        await _clamd.InitializeAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        HttpResponseMessage get;
        while ((get = await _server.Client.GetAsync(_server.Url("/v1/files/in/held.csv"))).StatusCode != HttpStatusCode.OK)
        {
            Assert.True(DateTime.UtcNow < deadline, $"still {(int)get.StatusCode} after clamd came back");
            await Task.Delay(200);
        }

        Assert.Equal(csv, await get.Content.ReadAsByteArrayAsync());
    }

    private async Task<string> PostAsync(string path, object body)
    {
        using var response = await _server.Client.PostAsJsonAsync(_server.Url(path), body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return text;
    }

    private async Task<string?> PutStateAsync(string path, byte[] data)
    {
        using var content = new ByteArrayContent(data);
        using var put = await _server.Client.PutAsync(_server.Url("/v1/files" + path), content);
        var text = await put.Content.ReadAsStringAsync();
        Assert.True(put.StatusCode == HttpStatusCode.Created, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("state").GetString();
    }
}
