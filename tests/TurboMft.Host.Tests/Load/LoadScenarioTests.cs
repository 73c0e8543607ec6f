using System.Text.Json;
using TurboMft.Engine.Client;
using TurboMft.Host.Tests.Server;
using TurboMft.Load.Recording;
using TurboMft.Load.Reporting;
using TurboMft.Load.Scenarios;
using TurboMft.Load.Target;
using TurboMft.Load.Workload;

namespace TurboMft.Host.Tests.Load;

/// <summary>
/// The load driver's scenarios at a tiny size against a real server: each must produce operations, latency percentiles
/// and the intended outcome (no unexpected error; slow clients cut off and counted as cut-offs, not errors). Speed is
/// not asserted: that is what the driver reports.
/// </summary>
public class LoadScenarioTests
{
    private static readonly WorkloadSettings Tiny = new()
    {
        // 1 MiB chunks: the 1 and 2 MiB files go through sessions (one and two chunk PUTs), the 64 KiB ones one-shot.
        Sizes = SizeMix.Parse("64KiB:2,1MiB:1,2MiB:1"),
        ChunkSize = 1 << 20,
        Duration = TimeSpan.FromSeconds(2),
        Drain = TimeSpan.FromSeconds(20),
        Profile = new ClientProfile(2, System.Net.HttpVersion.Version11, TimeSpan.FromSeconds(60)),

        // The server shares this process with the other tests: waiting for it to go quiet would only wait.
        SettleLimit = TimeSpan.Zero,
    };

    private readonly CancellationToken _cancel = TestContext.Current.CancellationToken;

    [Fact]
    public async Task Mixed_clients_upload_and_download_with_percentiles_per_operation_and_no_error()
    {
        await using var server = await ServerFixture.StartAsync();
        await using var session = await LoadSession.OpenAsync(Target(server), Tiny, TextWriter.Null, null, _cancel);

        var report = await MixedScenario.RunAsync(session, [1, 3], _cancel);

        Assert.True(report.OutcomesAsIntended, ReportWriter.ToText(report));
        Assert.Equal([1, 3], report.Runs.Select(r => r.Clients));
        foreach (var run in report.Runs)
        {
            Assert.True(run.Operations > 0, ReportWriter.ToText(report));
            Assert.Empty(run.Errors);
            Assert.True(run.UploadBytes > 0 && run.DownloadBytes > 0, ReportWriter.ToText(report));
            Assert.True(run.Server?.RssPeakMiB > 0 && run.Server.ThreadsPeak > 0, "the probe read no RSS or threads");
        }

        // Three clients over two seconds draw every size and both directions; each request type is timed.
        var latencies = report.Runs[1].Latencies.ToDictionary(l => l.Operation);
        foreach (var operation in new[] { Operations.Upload, Operations.Download, Operations.OneShotPut, Operations.SessionOpen, Operations.ChunkPut, Operations.Complete, Operations.Head, Operations.RangeGet })
        {
            var latency = Assert.Contains(operation, latencies);
            Assert.True(latency.Count > 0 && latency.P50Ms > 0 && latency.P50Ms <= latency.P99Ms && latency.P99Ms <= latency.P999Ms && latency.P999Ms <= latency.MaxMs, $"{operation}: {latency}");
        }

        Assert.Contains(report.Targets, t => t.Name == "errors" && t.Met == true);
        using var json = JsonDocument.Parse(ReportWriter.ToJson(report));
        Assert.Equal("mixed", json.RootElement.GetProperty("scenario").GetString());
        Assert.Contains("| chunk PUT | 3 clients |", ReportWriter.ToMarkdown(report), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Idle_connections_are_held_and_answered_beside_active_clients()
    {
        await using var server = await ServerFixture.StartAsync();
        await using var session = await LoadSession.OpenAsync(Target(server), Tiny, TextWriter.Null, null, _cancel);
        var settings = new IdleSettings { ActiveClients = 2, IdleConnections = 24, IdleInterval = TimeSpan.FromMilliseconds(500) };

        var report = await IdleScenario.RunAsync(session, settings, _cancel);

        Assert.True(report.OutcomesAsIntended, ReportWriter.ToText(report));
        var (alone, beside) = (report.Runs[0], report.Runs[1]);
        Assert.True(alone.Operations > 0 && beside.Operations > 0, ReportWriter.ToText(report));
        Assert.Empty(alone.Errors);
        Assert.Empty(beside.Errors);
        var idle = Assert.IsType<IdleFigures>(beside.Idle);
        Assert.Equal(24, idle.Connects);
        Assert.Equal(0, idle.ClosedDuringRun);
        Assert.True(idle.Requests >= 24, $"only {idle.Requests} idle requests were answered");
        Assert.True(beside.Server!.ConnectionsMax >= 24, $"the server never had more than {beside.Server.ConnectionsMax} connections");
        Assert.Contains(beside.Latencies, l => l.Operation == Operations.IdleRequest && l.Count == idle.Requests);
    }

    [Fact]
    public async Task Slow_clients_are_cut_off_by_the_minimum_data_rate_and_counted_apart_from_errors()
    {
        // A 2 s grace instead of 10 s keeps the test short; 100 B/s is far below the 240 B/s minimum.
        await using var server = await ServerFixture.StartAsync(configure: s => s.Uploads.MinRequestBodyGraceSeconds = 2);
        await using var session = await LoadSession.OpenAsync(Target(server), Tiny with { Duration = TimeSpan.FromSeconds(4), MinimumPayload = 64 << 10 }, TextWriter.Null, null, _cancel);
        Assert.Equal((240, 2), session.MinimumBodyRate);

        var report = await SlowScenario.RunAsync(session, new SlowSettings { Clients = 2, SlowClients = 2, BytesPerSecond = 100, BodySize = 64 << 10 }, _cancel);

        Assert.True(report.OutcomesAsIntended, ReportWriter.ToText(report));
        var run = Assert.Single(report.Runs);
        Assert.True(run.Operations > 0, ReportWriter.ToText(report));
        Assert.Empty(run.Errors);
        Assert.True(run.CutOffs >= 2, ReportWriter.ToText(report));
        Assert.All(run.Outcomes.Keys.Where(k => k.Contains("cut", StringComparison.Ordinal)), k => Assert.StartsWith(FailureKinds.CutOff + ":", k, StringComparison.Ordinal));
        var toCutOff = Assert.Single(run.Latencies, l => l.Operation == Operations.SlowPut);
        Assert.Equal(run.CutOffs, toCutOff.Count);
        Assert.InRange(toCutOff.P50Ms, 1000, 30_000);
    }

    private static LoadTarget Target(ServerFixture server) =>
        new(server.Address, server.Token, CertificatePin.Parse(server.Server.Fingerprint), null, Environment.ProcessId);
}
