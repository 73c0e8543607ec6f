using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using TurboMft.Load.Recording;
using TurboMft.Load.Reporting;
using TurboMft.Load.Target;
using TurboMft.Load.Workload;

namespace TurboMft.Load.Scenarios;

/// <summary>Work that runs beside the transferring clients in a measured run (idle connections, slow clients).</summary>
public interface IBackgroundLoad
{
    /// <summary>Runs until <paramref name="cancellationToken"/> fires (after the clients finished), recording into <paramref name="recorder"/>.</summary>
    Task RunAsync(LoadRecorder recorder, CancellationToken cancellationToken);

    /// <summary>Adds what this load measured to the run's report.</summary>
    RunReport Describe(RunReport run);
}

/// <summary>
/// Everything the scenarios share against one server: the target and its <c>/proc</c> probe, the payload generated once,
/// the seeded files downloads read, a unique remote folder, and the measured run (settle, sample, clients, summary).
/// </summary>
public sealed class LoadSession : IAsyncDisposable
{
    private readonly Func<IReadOnlyList<string>>? _serverLog;
    private readonly TextWriter _log;
    private readonly TransferClient _admin;

    private LoadSession(LoadTarget target, WorkloadSettings settings, Payload payload, string folder, TextWriter log, Func<IReadOnlyList<string>>? serverLog, JsonElement info)
    {
        Target = target;
        Settings = settings;
        Payload = payload;
        Folder = folder;
        _log = log;
        _serverLog = serverLog;
        ServerInfo = info;
        Probe = new ServerProbe(target.ServerPid, target.Address.Port);
        _admin = new TransferClient(target, payload, new LoadRecorder(), settings.Profile with { ChunksInFlight = Math.Max(4, settings.Profile.ChunksInFlight) });
    }

    /// <summary>The server.</summary>
    public LoadTarget Target { get; }

    /// <summary>The workload settings.</summary>
    public WorkloadSettings Settings { get; }

    /// <summary>The bytes every file is made of.</summary>
    public Payload Payload { get; }

    /// <summary>The remote folder of this session, <c>/load/YYYYMMDD-HHMMSS-XXXX</c>: nothing else is written.</summary>
    public string Folder { get; }

    /// <summary>The server's <c>/v1/info</c> document, read at the start.</summary>
    public JsonElement ServerInfo { get; }

    /// <summary>Reads the server's RSS, threads, CPU and connections.</summary>
    public ServerProbe Probe { get; }

    /// <summary>Progress lines (stderr for the command line).</summary>
    public TextWriter Log => _log;

    /// <summary>The server's minimum request body rate and its grace in seconds, from <c>/v1/info</c> (240 B/s and the 10 s a server without the grace setting uses, if absent).</summary>
    public (double BytesPerSecond, double GraceSeconds) MinimumBodyRate
    {
        get
        {
            var limits = ServerInfo.TryGetProperty("limits", out var l) ? l : default;
            var rate = limits.ValueKind == JsonValueKind.Object && limits.TryGetProperty("minRequestBodyBytesPerSecond", out var r) ? r.GetDouble() : 240;
            var grace = limits.ValueKind == JsonValueKind.Object && limits.TryGetProperty("minRequestBodyGraceSeconds", out var g) ? g.GetDouble() : 10;
            return (rate, grace);
        }
    }

    /// <summary>
    /// Generates the payload, reads <c>/v1/info</c> and uploads one seed file per size (waiting until each is released),
    /// so that downloads have something to read. <paramref name="serverLog"/> gives the server's warning lines, when the
    /// driver started it.
    /// </summary>
    public static async Task<LoadSession> OpenAsync(LoadTarget target, WorkloadSettings settings, TextWriter log, Func<IReadOnlyList<string>>? serverLog, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(log);
        var started = Stopwatch.GetTimestamp();
        var sizes = settings.Sizes.Classes.Select(c => c.Bytes).ToList();
        var payload = Payload.Create(settings.Content, settings.Seed, settings.ChunkSize, sizes, settings.Compress, settings.MinimumPayload);
        var folder = string.Create(CultureInfo.InvariantCulture, $"/load/{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Random.Shared.Next(0x10000):x4}");
        JsonElement info;
        using (var http = target.CreateHttpClient(1, settings.Profile.HttpVersion))
        {
            using var document = JsonDocument.Parse(await http.GetStringAsync(new Uri("v1/info", UriKind.Relative), cancellationToken).ConfigureAwait(false));
            info = document.RootElement.Clone();
        }

        var session = new LoadSession(target, settings, payload, folder, log, serverLog, info);
        try
        {
            await session.SeedAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await session.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"load: payload {payload.Bytes.Length >> 20} MiB of {settings.Content} and {sizes.Count} seed files ready in {Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s under {folder}")).ConfigureAwait(false);
        return session;
    }

    /// <summary>Where downloads of <paramref name="size"/> read from.</summary>
    public string SeedPath(SizeClass size) => $"{Folder}/seed/{size.Label}";

    /// <summary>Where client <paramref name="client"/> uploads (one path each, overwritten: the server removes the replaced version's container).</summary>
    public string UploadPath(int client) => string.Create(CultureInfo.InvariantCulture, $"{Folder}/up/c{client:D4}");

    /// <summary>
    /// One measured run: waits for the server to settle, samples it, runs <paramref name="clients"/> transferring clients for
    /// the window (plus the drain) with <paramref name="background"/> beside them, and sums everything up.
    /// </summary>
    public async Task<RunReport> MeasureAsync(string label, int clients, IBackgroundLoad? background, CancellationToken cancellationToken)
    {
        await SettleAsync(cancellationToken).ConfigureAwait(false);
        await _log.WriteLineAsync($"load: {label}: running for {Settings.Duration.TotalSeconds:0} s").ConfigureAwait(false);
        var recorder = new LoadRecorder();
        var warningsBefore = _serverLog?.Invoke().Count ?? 0;
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var loadBefore = MachineInfo.LoadAverage();
        var watch = Probe.Watch(Settings.SampleInterval);
        var started = Stopwatch.GetTimestamp();
        recorder.StartWindow(Settings.Duration);
        using var stopBackground = new CancellationTokenSource();
        var backgroundTask = background?.RunAsync(recorder, stopBackground.Token) ?? Task.CompletedTask;
        await ClientFleet.RunAsync(this, clients, recorder, cancellationToken).ConfigureAwait(false);
        await stopBackground.CancelAsync().ConfigureAwait(false);
        await backgroundTask.ConfigureAwait(false);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var server = await watch.StopAsync().ConfigureAwait(false);
        var warnings = _serverLog?.Invoke().Skip(warningsBefore).ToList();
        var window = recorder.WindowSeconds;
        var run = new RunReport
        {
            Label = label,
            Clients = clients,
            WindowSeconds = window,
            ElapsedSeconds = elapsed,
            Operations = recorder.Operations,
            OperationsAfterWindow = recorder.OperationsAfterWindow,
            OperationsPerSecond = recorder.Operations / window,
            UploadBytes = recorder.UploadBytes,
            DownloadBytes = recorder.DownloadBytes,
            UploadMBps = recorder.UploadBytes / window / 1e6,
            DownloadMBps = recorder.DownloadBytes / window / 1e6,
            TotalMBps = (recorder.UploadBytes + recorder.DownloadBytes) / window / 1e6,
            Latencies = [.. Operations.ReportOrder.Select(op => Summarise(recorder, op)).OfType<LatencySummary>()],
            LatenciesBySize =
            [
                .. Settings.Sizes.Classes.SelectMany(c => new[] { $"{Operations.Upload} {c.Label}", $"{Operations.Download} {c.Label}" })
                    .Select(op => Summarise(recorder, op)).OfType<LatencySummary>(),
            ],
            Errors = recorder.Errors.ToDictionary(e => $"{e.Key.Kind} ({e.Key.Operation})", e => e.Value),
            CutOffs = recorder.Outcomes.Where(o => o.Key.StartsWith(FailureKinds.CutOff, StringComparison.Ordinal)).Sum(o => o.Value),
            Outcomes = recorder.Outcomes,
            Server = server,
            ServerWarnings = warnings?.Count,
            ServerWarningSamples = warnings?.Take(5).ToList() ?? [],
            DriverCpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds,
            LoadAverage = [loadBefore, MachineInfo.LoadAverage()],
        };
        run = background?.Describe(run) ?? run;
        await _log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"load: {label}: {run.TotalMBps:0.0} MB/s, {run.OperationsPerSecond:0.0} ops/s, {run.ErrorCount} errors, {run.CutOffs} cut-offs, server RSS peak {server.RssPeakMiB:0} MiB")).ConfigureAwait(false);
        return run;
    }

    /// <summary>Deletes what the session wrote on the server (for a server the driver did not start), untimed.</summary>
    public async Task CleanUpAsync(int clients, CancellationToken cancellationToken)
    {
        var paths = Settings.Sizes.Classes.Select(SeedPath).Concat(Enumerable.Range(0, clients).Select(UploadPath));
        await Parallel.ForEachAsync(paths, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellationToken }, async (path, token) =>
            await _admin.DeleteAsync(path, token).ConfigureAwait(false)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _admin.Dispose();
        return ValueTask.CompletedTask;
    }

    private static LatencySummary? Summarise(LoadRecorder recorder, string operation)
    {
        var h = recorder.LatencyOf(operation);
        if (h is null || h.TotalCount == 0)
        {
            return null;
        }

        static double Ms(long micros) => micros / 1000.0;
        return new LatencySummary(
            operation,
            h.TotalCount,
            HdrHistogram.HistogramExtensions.GetMean(h) / 1000.0,
            Ms(h.GetValueAtPercentile(50)),
            Ms(h.GetValueAtPercentile(90)),
            Ms(h.GetValueAtPercentile(99)),
            Ms(h.GetValueAtPercentile(99.9)),
            Ms(HdrHistogram.HistogramExtensions.GetMaxValue(h)));
    }

    private async Task SeedAsync(CancellationToken cancellationToken)
    {
        foreach (var size in Settings.Sizes.Classes)
        {
            var path = SeedPath(size);
            var state = await _admin.UploadAsync(path, size.Bytes, cancellationToken).ConfigureAwait(false);
            var deadline = Stopwatch.GetTimestamp() + (long)(120 * Stopwatch.Frequency);
            while (state != "released")
            {
                // Held pending a scan: downloads need it released, so wait for the background scan.
                if (Stopwatch.GetTimestamp() > deadline)
                {
                    throw new InvalidOperationException($"The seed file {path} is still {state} after 2 minutes; downloads need it released (is a scanner down or is approval required under /load?).");
                }

                await Task.Delay(500, cancellationToken).ConfigureAwait(false);
                state = await _admin.ReleaseStateAsync(path, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Waits until the server's CPU use over the last second is under 5% of a core (scans and commits of the last run done).</summary>
    private async Task SettleAsync(CancellationToken cancellationToken)
    {
        if (Probe.Pid is null)
        {
            return;
        }

        var started = Stopwatch.GetTimestamp();
        var previous = Probe.Sample();
        while (previous is not null && Stopwatch.GetElapsedTime(started) < Settings.SettleLimit)
        {
            await Task.Delay(1000, cancellationToken).ConfigureAwait(false);
            var now = Probe.Sample();
            if (now is null || now.CpuSeconds - previous.CpuSeconds < 0.05)
            {
                return;
            }

            previous = now;
        }
    }
}
