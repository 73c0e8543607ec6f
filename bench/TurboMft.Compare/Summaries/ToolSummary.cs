using TurboMft.Compare.Results;

namespace TurboMft.Compare.Summaries;

/// <summary>One tool in one scenario and dataset over all rounds: medians of the successful runs, and every failed run.</summary>
internal sealed class ToolSummary
{
    public ToolSummary(IReadOnlyList<Measurement> runs)
    {
        ArgumentOutOfRangeException.ThrowIfZero(runs.Count);
        Runs = runs;
        var first = runs[0];
        (Scenario, Dataset, Key, Label, Role) = (first.Scenario, first.Dataset, first.Key, first.Label, first.Role);
        Succeeded = [.. runs.Where(r => r.Ok)];
        Failed = [.. runs.Where(r => !r.Ok)];
        CountsFiles = first.CountsFiles;
        if (Succeeded.Count > 0)
        {
            Throughput = Statistics.Median(Succeeded.Select(r => r.Throughput));
            Min = Succeeded.Min(r => r.Throughput);
            Max = Succeeded.Max(r => r.Throughput);
            WallSeconds = Statistics.Median(Succeeded.Select(r => r.WallSeconds));
            ClientCpuSeconds = Statistics.Median(Succeeded.Select(r => r.ClientCpuSeconds));
            ServerCpuSeconds = Statistics.Median(Succeeded.Select(r => r.ServerCpuSeconds));
            ClientRssKib = Succeeded.Max(r => r.ClientRssKib);
            ServerRssKib = Succeeded.Max(r => r.ServerRssKib);
            var wire = Succeeded.Where(r => r.WireBytes is not null).Select(r => (double)r.WireBytes!.Value).ToList();
            WireBytes = wire.Count > 0 ? Statistics.Median(wire) : null;
            Bytes = first.Bytes;
            Files = first.Files;
        }
    }

    public string Scenario { get; }

    public string Dataset { get; }

    public string Key { get; }

    public string Label { get; }

    public string Role { get; }

    public IReadOnlyList<Measurement> Runs { get; }

    public IReadOnlyList<Measurement> Succeeded { get; }

    public IReadOnlyList<Measurement> Failed { get; }

    /// <summary>True when the measure is files per second (S3), else MB/s.</summary>
    public bool CountsFiles { get; }

    /// <summary>Median files/s or MB/s of the successful runs; null when none succeeded.</summary>
    public double? Throughput { get; }

    public double? Min { get; }

    public double? Max { get; }

    public double? WallSeconds { get; }

    public double? ClientCpuSeconds { get; }

    public double? ServerCpuSeconds { get; }

    public long? ClientRssKib { get; }

    public long? ServerRssKib { get; }

    /// <summary>Median bytes the client's end of the link sent (S2), null on loopback.</summary>
    public double? WireBytes { get; }

    public long Bytes { get; }

    public int Files { get; }

    public bool IsTurboMft => Role is Roles.Reference or Roles.TurboMft;

    /// <summary>Groups rows that are not S4 phases by scenario, dataset and key, in the order they first appear.</summary>
    public static IReadOnlyList<ToolSummary> Of(IEnumerable<Measurement> rows) =>
        [.. rows.Where(r => r.Phase.Length == 0)
            .GroupBy(r => (r.Scenario, r.Dataset, r.Key))
            .Select(g => new ToolSummary([.. g]))];
}

/// <summary>The roles a row can have.</summary>
internal static class Roles
{
    /// <summary>turbomft with default settings: what every ratio is taken against.</summary>
    public const string Reference = "ref";

    /// <summary>turbomft with other settings.</summary>
    public const string TurboMft = "turbomft";

    /// <summary>Another tool.</summary>
    public const string Peer = "peer";

    /// <summary>The bare TLS sink: what the transport alone reaches.</summary>
    public const string Ceiling = "ceiling";
}

/// <summary>Medians.</summary>
internal static class Statistics
{
    /// <summary>The median (mean of the middle two for an even count).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        ArgumentOutOfRangeException.ThrowIfZero(sorted.Length);
        var middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }
}
