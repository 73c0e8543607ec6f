using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using TurboMft.Host.Audit;
using TurboMft.Host.Scanning;
using TurboMft.Host.Tests.Scanning;
using TurboMft.Host.Tests.Server;

namespace TurboMft.Host.Tests.Release;

/// <summary>
/// The whole boundary with nothing stubbed: the server's own scanner chain (real clamd over its Unix socket, file types,
/// archives) decides what is released, what is quarantined and what is held while clamd is down.
/// </summary>
public sealed class ContentSecurityEndToEndTests : IAsyncLifetime
{
    private const string Eicar = @"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
    private ClamdFixture _clamd = null!;
    private ServerFixture _server = null!;

    public async ValueTask InitializeAsync()
    {
        _clamd = await ClamdFixture.StartAsync(new ClamdLimits());
        _server = await ServerFixture.StartAsync(configure: settings =>
        {
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
        await _clamd.DisposeAsync();
    }

    [Fact]
    public async Task Eicar_is_quarantined_by_clamav_a_disguised_elf_by_the_type_policy_and_a_clean_csv_released()
    {
        Assert.Equal("quarantined", await PutStateAsync("/in/eicar.txt", Encoding.ASCII.GetBytes(Eicar)));
        Assert.Equal(HttpStatusCode.Conflict, (await _server.Client.GetAsync(_server.Url("/v1/files/in/eicar.txt"))).StatusCode);

        var elf = new byte[4096];
        new byte[] { 0x7F, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1 }.CopyTo(elf, 0);
        Assert.Equal("quarantined", await PutStateAsync("/ot/plant1/export.csv", elf));

        var csv = ReleaseTestServer.Csv();
        Assert.Equal("released", await PutStateAsync("/ot/plant1/historian.csv", csv));
        Assert.Equal(csv, await _server.Client.GetByteArrayAsync(_server.Url("/v1/files/ot/plant1/historian.csv")));

        await _server.Server.Services.GetRequiredService<AuditLog>().FlushAsync();
        var quarantined = AuditQuery.ReadAll(Path.Combine(_server.DataPath, "audit")).Where(r => r.Action == "file.quarantined").ToList();
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

    private async Task<string?> PutStateAsync(string path, byte[] data)
    {
        using var content = new ByteArrayContent(data);
        using var put = await _server.Client.PutAsync(_server.Url("/v1/files" + path), content);
        var text = await put.Content.ReadAsStringAsync();
        Assert.True(put.StatusCode == HttpStatusCode.Created, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("state").GetString();
    }
}
