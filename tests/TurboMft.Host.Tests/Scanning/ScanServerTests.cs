using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using TurboMft.Engine.Crypto;
using TurboMft.Engine.Storage;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Metadata;
using TurboMft.Host.Scanning;
using TurboMft.Host.Server;
using TurboMft.Host.Tests.Server;

namespace TurboMft.Host.Tests.Scanning;

public class ScanServerTests
{
    [Fact]
    public void A_server_with_invalid_content_settings_does_not_start()
    {
        var data = Directory.CreateTempSubdirectory("tmf-scan-bad-").FullName;
        try
        {
            var settings = new ServerSettings { Data = data, Listen = "127.0.0.1:0" };
            settings.Content.Areas.Add(new AreaContentSettings { Area = "/ot", DenyTypes = ["exe"] });
            var error = Assert.Throws<ContentSettingsException>(() => TurboMftServer.Create(settings, DataDirectory.Open(data)));
            Assert.Contains("Content:Areas:0:DenyTypes: unknown file type 'exe'", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task The_chain_is_one_service_built_from_the_settings()
    {
        await using var server = await ServerFixture.StartAsync(configure: s => s.Content.Areas.Add(new AreaContentSettings { Area = "/ot", DenyTypes = ["elf"] }));
        var chain = server.Server.Services.GetRequiredService<IScannerChain>();
        Assert.Same(chain, server.Server.Services.GetRequiredService<IScannerChain>());
        Assert.Equal(["elf"], chain.PolicyFor(RemotePath.Parse("/ot/a/b.csv")).DenyTypes!);
        Assert.Equal(["file-type", "archive"], ((ScannerChain)chain).Scanners.Select(s => s.Name));
    }

    [Fact]
    public async Task Zip_bombs_uploaded_and_scanned_are_findings_while_the_server_stays_responsive()
    {
        await using var server = await ServerFixture.StartAsync(configure: s => s.Content.Areas.Add(new AreaContentSettings { Area = "/ot", DenyTypes = ["pe", "elf"] }));
        var bomb = ScanTestFiles.ZipOfZeros(1L << 30, "historian-2026.csv");
        var put = await server.Client.PutAsync(server.Url("/v1/files/ot/plant1/export.zip"), new ByteArrayContent(bomb), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);

        var services = server.Server.Services;
        var version = await services.GetRequiredService<IMetadataStore>().GetCurrentVersionAsync("/ot/plant1/export.zip", TestContext.Current.CancellationToken);
        Assert.NotNull(version);
        var open = ScanSources.PlaintextOf(version, services.GetRequiredService<IObjectStore>(), services.GetRequiredService<KeyRing>());
        var chain = services.GetRequiredService<IScannerChain>();

        using var probing = new CancellationTokenSource();
        var probe = ProbeHealthAsync(server, probing.Token);
        var scans = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => chain.ScanAsync(ScanSources.SubjectOf(version), open, TestContext.Current.CancellationToken))));
        await probing.CancelAsync();
        var slowest = await probe;

        foreach (var report in scans)
        {
            Assert.Equal(ScanOutcome.Infected, report.Outcome);
            var archive = report.Verdicts.Single(v => v.Scanner == "archive");
            Assert.Equal("archive-bomb:ratio", archive.Finding);
            Assert.Contains("historian-2026.csv", archive.Detail, StringComparison.Ordinal);
        }

        Assert.True(slowest < TimeSpan.FromSeconds(1), $"the slowest /healthz took {slowest}");
        Assert.Equal(0, services.GetRequiredService<ServerBuffers>().For(version.ChunkSize).InFlight);
    }

    [Fact]
    public async Task Scans_of_many_commits_reuse_their_stream_buffers_instead_of_allocating_two_per_stream()
    {
        await using var server = await ServerFixture.StartAsync();
        var cancel = TestContext.Current.CancellationToken;
        for (var i = 0; i < 12; i++)
        {
            using var content = new ByteArrayContent(new byte[1000 + i]);
            using var put = await server.Client.PutAsync(server.Url($"/v1/files/in/f{i}.bin"), content, cancel);
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
            Assert.Contains("\"released\"", await put.Content.ReadAsStringAsync(cancel), StringComparison.Ordinal);
        }

        // Twelve scans, each chain opening a stream per scanner (file type, archive); without reuse that is two new pinned
        // buffers per stream, 48 in all. Reused: at most ScanConcurrency (2) scans × 2 streams × 2 buffers.
        var scanPool = server.Server.Services.GetRequiredService<ServerBuffers>().ForScans(new ServerSettings().Uploads.OneShotChunkSize);
        Assert.Equal(0, scanPool.InFlight);
        Assert.InRange(scanPool.Created, 2, 8);
    }

    private static async Task<TimeSpan> ProbeHealthAsync(ServerFixture server, CancellationToken stop)
    {
        var slowest = TimeSpan.Zero;
        using var client = ServerFixture.CreateClient(server.Server.Fingerprint, token: null, HttpVersion.Version11);
        while (!stop.IsCancellationRequested)
        {
            var started = Stopwatch.StartNew();
            var response = await client.GetAsync(server.Url("/healthz"), CancellationToken.None);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            slowest = started.Elapsed > slowest ? started.Elapsed : slowest;
            await Task.Delay(20, CancellationToken.None);
        }

        return slowest;
    }
}
