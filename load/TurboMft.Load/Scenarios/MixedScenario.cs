using System.Globalization;
using TurboMft.Load.Recording;
using TurboMft.Load.Reporting;

namespace TurboMft.Load.Scenarios;

/// <summary>
/// <c>mixed</c>: for each client count, that many clients upload and download files of the mixed sizes for the window;
/// reported against the targets (throughput at 64 clients, errors, p99 chunk latency at 64, RSS at 256).
/// </summary>
public static class MixedScenario
{
    /// <summary>The scenario's name.</summary>
    public const string Name = "mixed";

    /// <summary>Runs one measured run per entry of <paramref name="clientCounts"/>, in order.</summary>
    public static async Task<LoadReport> RunAsync(LoadSession session, IReadOnlyList<int> clientCounts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(clientCounts);
        var date = DateTimeOffset.UtcNow;
        var runs = new List<RunReport>();
        foreach (var clients in clientCounts)
        {
            runs.Add(await session.MeasureAsync(clients == 1 ? "1 client" : $"{clients} clients", clients, null, cancellationToken).ConfigureAwait(false));
        }

        return new LoadReport
        {
            Scenario = Name,
            Date = date,
            Machine = MachineInfo.Current(),
            Runs = runs,
            Targets = Targets(runs),
            OutcomesAsIntended = runs.All(r => r.ErrorCount == 0),
            Notes = Notes(runs),
        };
    }

    /// <summary>The targets for this scenario, evaluated on the runs that measure them.</summary>
    public static IReadOnlyList<TargetCheck> Targets(IReadOnlyList<RunReport> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        var single = runs.Where(r => r.Clients == 1).MaxBy(r => r.TotalMBps);
        var at64 = runs.FirstOrDefault(r => r.Clients == 64);
        var at256 = runs.FirstOrDefault(r => r.Clients == 256);
        var errors = runs.Sum(r => r.ErrorCount);
        var chunkAt64 = at64?.Latencies.FirstOrDefault(l => l.Operation == Operations.ChunkPut);
        return
        [
            single is null || at64 is null
                ? new TargetCheck("throughput at 64 clients", "≥ 80% of the best single-client throughput", "needs runs with 1 and 64 clients", null)
                : new TargetCheck(
                    "throughput at 64 clients",
                    "≥ 80% of the best single-client throughput",
                    Invariant($"{at64.TotalMBps:0.0} MB/s = {at64.TotalMBps / single.TotalMBps:P0} of {single.TotalMBps:0.0} MB/s (1 client)"),
                    at64.TotalMBps >= 0.8 * single.TotalMBps),
            new TargetCheck("errors", "zero (other than slow-client cut-offs)", Invariant($"{errors} in {runs.Count} runs"), errors == 0),
            at64 is null
                ? new TargetCheck("p99 chunk PUT latency at 64 clients", "reported", "needs a run with 64 clients", null)
                : new TargetCheck("p99 chunk PUT latency at 64 clients", "reported", chunkAt64 is null ? "no chunk PUT completed" : Invariant($"{chunkAt64.P99Ms:0} ms (p50 {chunkAt64.P50Ms:0}, p99.9 {chunkAt64.P999Ms:0})"), chunkAt64 is not null),
            at256?.Server?.RssPeakMiB is not { } rss
                ? new TargetCheck("server RSS at 256 clients", "≤ 512 MiB", at256 is null ? "needs a run with 256 clients" : "server process unknown (give --server-pid)", null)
                : new TargetCheck("server RSS at 256 clients", "≤ 512 MiB", Invariant($"{rss:0} MiB peak, {at256.Server.ThreadsPeak} threads"), rss <= 512),
        ];
    }

    private static List<string> Notes(IReadOnlyList<RunReport> runs)
    {
        var notes = new List<string>();
        foreach (var run in runs)
        {
            var pending = run.Outcomes.Where(o => o.Key.StartsWith("commit ", StringComparison.Ordinal) && o.Key != "commit released").Sum(o => o.Value);
            if (pending > 0)
            {
                notes.Add($"{run.Label}: {pending} commits answered before their scan finished (not released yet; the upload still counts).");
            }
        }

        return notes;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
