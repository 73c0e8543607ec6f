using System.Globalization;
using TurboMft.Compare.Results;

namespace TurboMft.Compare.Summaries;

/// <summary>Everything one run measured, summarised: per tool, per S4 tool, and the run's facts from meta.tsv.</summary>
internal sealed class Comparison
{
    public Comparison(IReadOnlyList<Measurement> rows, IReadOnlyDictionary<string, string> meta)
    {
        Rows = rows;
        Meta = meta;
        Tools = ToolSummary.Of(rows);
        Interruptions = InterruptionSummary.Of(rows);
        LinkBytesPerSecond = ParseRate(Meta.GetValueOrDefault("link_rate"));
    }

    public IReadOnlyList<Measurement> Rows { get; }

    public IReadOnlyDictionary<string, string> Meta { get; }

    public IReadOnlyList<ToolSummary> Tools { get; }

    public IReadOnlyList<InterruptionSummary> Interruptions { get; }

    /// <summary>The S2/S4 link's rate in bytes per second (tc's units: 1gbit = 10⁹ bit/s), or null.</summary>
    public double? LinkBytesPerSecond { get; }

    /// <summary>Every failed measurement, in file order.</summary>
    public IEnumerable<Measurement> Failures => Rows.Where(r => !r.Ok);

    /// <summary>The (scenario, dataset) pairs that have plain rows, in order.</summary>
    public IEnumerable<(string Scenario, string Dataset)> Tables =>
        Tools.Select(t => (t.Scenario, t.Dataset)).Distinct().OrderBy(t => t.Scenario, StringComparer.Ordinal);

    public ToolSummary? Tool(string scenario, string dataset, string key) =>
        Tools.FirstOrDefault(t => t.Scenario == scenario && t.Dataset == dataset && t.Key == key);

    public ToolSummary? Reference(string scenario, string dataset) =>
        Tools.FirstOrDefault(t => t.Scenario == scenario && t.Dataset == dataset && t.Role == Roles.Reference);

    /// <summary>Median throughput of <paramref name="a"/> over <paramref name="b"/>, or null when either has none.</summary>
    public static double? Ratio(ToolSummary? a, ToolSummary? b) =>
        a?.Throughput is { } x && b?.Throughput is > 0 ? x / b.Throughput.Value : null;

    /// <summary>The median over rounds of a ÷ b within one round: less exposed to load drifting between rounds.</summary>
    public static double? PairedRatio(ToolSummary? a, ToolSummary? b)
    {
        if (a is null || b is null)
        {
            return null;
        }

        var ratios = a.Succeeded
            .Join(b.Succeeded, r => r.Round, r => r.Round, (x, y) => y.Throughput > 0 ? x.Throughput / y.Throughput : double.NaN)
            .Where(v => !double.IsNaN(v))
            .ToList();
        return ratios.Count > 0 ? Statistics.Median(ratios) : null;
    }

    /// <summary>1-minute load average above the core count at the start or end of the run.</summary>
    public bool LoadWasHigh
    {
        get
        {
            var cores = double.TryParse(Meta.GetValueOrDefault("cores"), NumberStyles.Float, CultureInfo.InvariantCulture, out var c) ? c : 1;
            return new[] { "load_start", "load_end" }.Any(k => FirstNumber(Meta.GetValueOrDefault(k)) > cores);
        }
    }

    private static double FirstNumber(string? text) =>
        double.TryParse(text?.Split(' ')[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : 0;

    private static double? ParseRate(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var lower = text.Trim().ToLowerInvariant();
        var digits = new string([.. lower.TakeWhile(c => char.IsDigit(c) || c == '.')]);
        if (!double.TryParse(digits, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            return null;
        }

        var bitsPerSecond = lower[digits.Length..] switch
        {
            "gbit" => value * 1e9,
            "mbit" => value * 1e6,
            "kbit" => value * 1e3,
            "bit" => value,
            "gbps" => value * 8e9,
            "mbps" => value * 8e6,
            "kbps" => value * 8e3,
            _ => double.NaN,
        };
        return double.IsNaN(bitsPerSecond) ? null : bitsPerSecond / 8;
    }
}
