using System.Diagnostics;
using System.Globalization;
using TurboMft.Load.Recording;
using TurboMft.Load.Reporting;
using TurboMft.Load.Workload;

namespace TurboMft.Load.Scenarios;

/// <summary>
/// <c>idle</c>: a few active clients are measured alone, then again while the server holds many mostly idle TLS
/// connections, each sending a cheap authenticated request now and then; the second run is compared with the first.
/// </summary>
public static class IdleScenario
{
    /// <summary>The scenario's name.</summary>
    public const string Name = "idle";

    /// <summary>Active throughput with idle connections must stay at or above this share of the throughput alone.</summary>
    public const double ThroughputKept = 0.9;

    /// <summary>The active clients' p99 chunk PUT latency with idle connections may grow at most by this factor.</summary>
    public const double P99Growth = 1.5;

    /// <summary>Runs the two phases.</summary>
    public static async Task<LoadReport> RunAsync(LoadSession session, IdleSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(settings);
        var date = DateTimeOffset.UtcNow;
        var alone = await session.MeasureAsync($"{settings.ActiveClients} active alone", settings.ActiveClients, null, cancellationToken).ConfigureAwait(false);
        RunReport beside;
        using (var idle = new IdleConnections(session, settings))
        {
            await idle.OpenAsync(cancellationToken).ConfigureAwait(false);
            beside = await session.MeasureAsync($"{settings.ActiveClients} active + {settings.IdleConnections} idle", settings.ActiveClients, idle, cancellationToken).ConfigureAwait(false);
        }

        var runs = new[] { alone, beside };
        var targets = Targets(alone, beside, settings);
        return new LoadReport
        {
            Scenario = Name,
            Date = date,
            Machine = MachineInfo.Current(),
            Runs = runs,
            Targets = targets,
            OutcomesAsIntended = runs.All(r => r.ErrorCount == 0) && targets[0].Met == true,
            Notes =
            [
                Invariant($"Each idle connection sends GET /{settings.IdlePath} every {settings.IdleInterval.TotalSeconds:0} s at its own random phase; thresholds for 'unaffected' (≥ {ThroughputKept:P0} of the throughput alone, p99 chunk PUT ≤ {P99Growth}× alone) are the driver's, not the issue's."),
            ],
        };
    }

    private static TargetCheck[] Targets(RunReport alone, RunReport beside, IdleSettings settings)
    {
        var idle = beside.Idle!;
        // Clients' own counts decide (a read of /proc/net/tcp can miss sockets that other connections move around); the
        // server's side is shown as the range of its samples.
        var maxHeld = beside.Server is { Samples: > 0 } server ? server.ConnectionsMax : 0;
        var range = beside.Server is { Samples: > 0 } s ? Invariant($"{s.ConnectionsMin}–{s.ConnectionsMax}") : "none sampled";
        var ratio = alone.TotalMBps > 0 ? beside.TotalMBps / alone.TotalMBps : 0;
        var p99Alone = alone.Latencies.FirstOrDefault(l => l.Operation == Operations.ChunkPut)?.P99Ms;
        var p99Beside = beside.Latencies.FirstOrDefault(l => l.Operation == Operations.ChunkPut)?.P99Ms;
        return
        [
            new TargetCheck(
                "idle connections held",
                Invariant($"{settings.IdleConnections} open throughout, none reopened"),
                Invariant($"{idle.Connects} opened, {idle.ClosedDuringRun} closed during the run; {range} established on the server's port (active clients' included)"),
                idle.Connects == settings.IdleConnections && idle.ClosedDuringRun == 0 && maxHeld >= settings.IdleConnections),
            new TargetCheck(
                "active throughput unaffected",
                Invariant($"≥ {ThroughputKept:P0} of alone"),
                Invariant($"{beside.TotalMBps:0.0} vs {alone.TotalMBps:0.0} MB/s = {ratio:P0}"),
                ratio >= ThroughputKept),
            p99Alone is null || p99Beside is null
                ? new TargetCheck("active p99 chunk PUT unaffected", Invariant($"≤ {P99Growth}× alone"), "no chunk PUT in one of the runs", null)
                : new TargetCheck("active p99 chunk PUT unaffected", Invariant($"≤ {P99Growth}× alone"), Invariant($"{p99Beside:0} vs {p99Alone:0} ms"), p99Beside <= P99Growth * p99Alone),
            new TargetCheck("errors", "zero", Invariant($"{alone.ErrorCount + beside.ErrorCount} ({idle.Requests} idle requests answered)"), alone.ErrorCount + beside.ErrorCount == 0),
            beside.Server?.RssPeakMiB is { } rss
                ? new TargetCheck("server with idle connections", "reported", Invariant($"RSS peak {rss:0} MiB (alone {alone.Server?.RssPeakMiB:0}), threads peak {beside.Server.ThreadsPeak} (alone {alone.Server?.ThreadsPeak})"), true)
                : new TargetCheck("server with idle connections", "reported", "server process unknown (give --server-pid)", null),
        ];
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>The idle connections: each its own client with one connection, opened before the run and kept alive by its requests.</summary>
    private sealed class IdleConnections(LoadSession session, IdleSettings settings) : IBackgroundLoad, IDisposable
    {
        private readonly List<TransferClient> _clients = [];
        private readonly Dictionary<string, long> _openErrors = [];
        private long _connects;
        private long _closes;
        private long _closesAtStart;
        private long _requests;

        public async Task OpenAsync(CancellationToken cancellationToken)
        {
            var started = Stopwatch.GetTimestamp();
            var setup = new LoadRecorder();
            var profile = session.Settings.Profile with { ChunksInFlight = 1, RequestTimeout = TimeSpan.FromSeconds(60) };
            for (var i = 0; i < settings.IdleConnections; i++)
            {
                _clients.Add(new TransferClient(session.Target, session.Payload, setup, profile, () => Interlocked.Increment(ref _connects), () => Interlocked.Increment(ref _closes)));
            }

            await Parallel.ForEachAsync(_clients, new ParallelOptions { MaxDegreeOfParallelism = settings.OpenConcurrency, CancellationToken = cancellationToken }, async (client, token) =>
            {
                try
                {
                    await client.GetAsync(Operations.IdleRequest, settings.IdlePath, token).ConfigureAwait(false);
                }
                catch (OperationFailedException e)
                {
                    lock (_openErrors)
                    {
                        var key = $"{FailureKinds.Classify(e)} (opening an idle connection)";
                        _openErrors[key] = _openErrors.GetValueOrDefault(key) + 1;
                    }
                }
            }).ConfigureAwait(false);
            await session.Log.WriteLineAsync(Invariant($"load: {_clients.Count} idle connections opened in {Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s ({_connects} connects, {_openErrors.Values.Sum()} failures)")).ConfigureAwait(false);
        }

        public async Task RunAsync(LoadRecorder recorder, CancellationToken cancellationToken)
        {
            _closesAtStart = Interlocked.Read(ref _closes);
            foreach (var client in _clients)
            {
                client.Recorder = recorder;
            }

            var interval = settings.IdleInterval;
            await Task.WhenAll(_clients.Select((client, i) => Task.Run(
                async () =>
                {
                    // Spread the requests over the interval, each connection at its own phase.
                    var phase = TimeSpan.FromTicks((long)(interval.Ticks * new Random(i).NextDouble()));
                    try
                    {
                        await Task.Delay(phase, cancellationToken).ConfigureAwait(false);
                        while (!cancellationToken.IsCancellationRequested)
                        {
                            try
                            {
                                // Not cancelled at the end: cancelling a request in flight closes its connection, which would count as dropped.
                                await client.GetAsync(Operations.IdleRequest, settings.IdlePath, CancellationToken.None).ConfigureAwait(false);
                                Interlocked.Increment(ref _requests);
                            }
                            catch (OperationFailedException e)
                            {
                                recorder.Error(e.Operation, FailureKinds.Classify(e));
                            }

                            await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
                        }
                    }
                    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                    {
                        // The run is over.
                    }
                },
                CancellationToken.None))).ConfigureAwait(false);
        }

        public RunReport Describe(RunReport run)
        {
            var errors = new Dictionary<string, long>(run.Errors);
            foreach (var (key, count) in _openErrors)
            {
                errors[key] = count;
            }

            return run with
            {
                Errors = errors,
                Idle = new IdleFigures
                {
                    Connections = settings.IdleConnections,
                    Connects = Interlocked.Read(ref _connects),
                    ClosedDuringRun = Interlocked.Read(ref _closes) - _closesAtStart,
                    Requests = Interlocked.Read(ref _requests),
                },
            };
        }

        public void Dispose()
        {
            foreach (var client in _clients)
            {
                client.Dispose();
            }
        }
    }
}
