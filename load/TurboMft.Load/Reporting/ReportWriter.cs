using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace TurboMft.Load.Reporting;

/// <summary>Writes a <see cref="LoadReport"/> as a terminal table, as one JSON document, or as a markdown page.</summary>
public static class ReportWriter
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>The report as one JSON document.</summary>
    public static string ToJson(LoadReport report) => JsonSerializer.Serialize(report, Json);

    /// <summary>The report as aligned plain-text tables for a terminal.</summary>
    public static string ToText(LoadReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var text = new StringBuilder();
        text.AppendLine(Invariant($"TurboMft load: {report.Scenario}, {report.Date:yyyy-MM-dd HH:mm:ss} UTC"));
        text.AppendLine(MachineLine(report.Machine));
        text.AppendLine();
        Aligned(text, RunHeader, report.Runs.Select(RunRow), textColumns: 1);
        text.AppendLine();
        Aligned(text, LatencyHeader, LatencyRows(report), textColumns: 2);
        AppendLists(text, report, markdown: false);
        return text.ToString();
    }

    /// <summary>The report as a markdown page: machine, command, settings, tables, targets and notes.</summary>
    public static string ToMarkdown(LoadReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var md = new StringBuilder();
        md.AppendLine(Invariant($"# Load: {report.Scenario}, {report.Date:yyyy-MM-dd HH:mm} UTC"));
        md.AppendLine();
        md.AppendLine(MachineLine(report.Machine) + ".");
        md.AppendLine();
        md.AppendLine($"Command: `{report.Command}`");
        md.AppendLine();
        md.AppendLine("Settings: " + string.Join(", ", report.Settings.Select(s => $"`{s.Key}={s.Value}`")) + ".");
        md.AppendLine();
        Markdown(md, RunHeader, report.Runs.Select(RunRow), textColumns: 1);
        md.AppendLine();
        Markdown(md, LatencyHeader, LatencyRows(report), textColumns: 2);
        AppendLists(md, report, markdown: true);
        return md.ToString();
    }

    private static readonly string[] RunHeader =
        ["run", "MB/s", "up MB/s", "down MB/s", "ops/s", "ops", "errors", "cut-offs", "server RSS peak MiB", "threads peak", "server CPU %", "driver CPU s", "load avg"];

    private static readonly string[] LatencyHeader = ["operation (ms)", "run", "count", "p50", "p90", "p99", "p99.9", "max"];

    private static string MachineLine(MachineInfo m) => $"Machine: {m.CpuModel}, {m.Cores} cores, {m.Os}, kernel {m.Kernel}, {m.Runtime}";

    private static string[] RunRow(RunReport r) =>
    [
        r.Label,
        Invariant($"{r.TotalMBps:0.0}"),
        Invariant($"{r.UploadMBps:0.0}"),
        Invariant($"{r.DownloadMBps:0.0}"),
        Invariant($"{r.OperationsPerSecond:0.0}"),
        Invariant($"{r.Operations}"),
        Invariant($"{r.ErrorCount}"),
        Invariant($"{r.CutOffs}"),
        r.Server?.RssPeakMiB is { } rss ? Invariant($"{rss:0}") : "–",
        r.Server?.ThreadsPeak is { } threads ? Invariant($"{threads}") : "–",
        r.Server?.CpuPercent is { } cpu ? Invariant($"{cpu:0}") : "–",
        Invariant($"{r.DriverCpuSeconds:0.0}"),
        string.Join("→", r.LoadAverage.Select(l => l.ToString("0.0", CultureInfo.InvariantCulture))),
    ];

    private static IEnumerable<string[]> LatencyRows(LoadReport report) =>
        from op in report.Runs.SelectMany(r => r.Latencies.Concat(r.LatenciesBySize)).Select(l => l.Operation).Distinct()
        from run in report.Runs
        let l = run.Latencies.Concat(run.LatenciesBySize).FirstOrDefault(x => x.Operation == op)
        where l is not null
        select new[]
        {
            op,
            run.Label,
            Invariant($"{l.Count}"),
            Ms(l.P50Ms),
            Ms(l.P90Ms),
            Ms(l.P99Ms),
            Ms(l.P999Ms),
            Ms(l.MaxMs),
        };

    private static string Ms(double ms) => ms >= 100 ? Invariant($"{ms:0}") : ms >= 10 ? Invariant($"{ms:0.0}") : Invariant($"{ms:0.00}");

    private static void AppendLists(StringBuilder text, LoadReport report, bool markdown)
    {
        var bullet = markdown ? "- " : "  ";
        text.AppendLine();
        text.AppendLine(markdown ? "Errors and outcomes:" : "errors and outcomes:");
        if (markdown)
        {
            text.AppendLine();
        }

        foreach (var run in report.Runs)
        {
            var errors = run.Errors.Count == 0 ? "no errors" : string.Join("; ", run.Errors.OrderByDescending(e => e.Value).Select(e => Invariant($"{e.Key} × {e.Value}")));
            var outcomes = string.Join("; ", run.Outcomes.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => Invariant($"{o.Key} × {o.Value}")));
            var server = run.ServerWarnings is { } w ? Invariant($"; server logged {w} warnings") : string.Empty;
            var idle = run.Idle is { } i ? Invariant($"; idle: {i.Connections} connections, {i.Connects} opened, {i.ClosedDuringRun} closed during the run, {i.Requests} requests; server-side established {run.Server?.ConnectionsMin}–{run.Server?.ConnectionsMax}") : string.Empty;
            text.AppendLine(Invariant($"{bullet}{run.Label}: {errors}; {outcomes}{server}{idle}; {run.OperationsAfterWindow} operations finished in the drain ({run.ElapsedSeconds:0.0} s in all)"));
            foreach (var sample in run.ServerWarningSamples.Take(markdown ? 3 : 2))
            {
                text.AppendLine($"{(markdown ? "  - " : "      ")}{(markdown ? "`" + sample.Replace("`", "'", StringComparison.Ordinal) + "`" : sample)}");
            }
        }

        text.AppendLine();
        text.AppendLine(markdown ? "Targets:" : "targets:");
        if (markdown)
        {
            text.AppendLine();
        }

        foreach (var target in report.Targets)
        {
            var verdict = target.Met switch { true => "met", false => "MISSED", null => "not measured" };
            text.AppendLine($"{bullet}[{verdict}] {target.Name}: {target.Target}; measured {target.Measured}");
        }

        text.AppendLine();
        text.AppendLine((markdown ? "Outcomes as intended: " : "outcomes as intended: ") + (report.OutcomesAsIntended ? "yes" : "NO"));
        if (report.Notes.Count > 0)
        {
            text.AppendLine();
            foreach (var note in report.Notes)
            {
                text.AppendLine($"{bullet}{note}");
            }
        }
    }

    private static void Aligned(StringBuilder text, string[] header, IEnumerable<string[]> rows, int textColumns)
    {
        var all = rows.Prepend(header).ToList();
        var widths = header.Select((_, c) => all.Max(r => r[c].Length)).ToArray();
        foreach (var row in all)
        {
            text.AppendLine(string.Join("  ", row.Select((cell, c) => c < textColumns ? cell.PadRight(widths[c]) : cell.PadLeft(widths[c]))).TrimEnd());
        }
    }

    private static void Markdown(StringBuilder md, string[] header, IEnumerable<string[]> rows, int textColumns)
    {
        md.AppendLine("| " + string.Join(" | ", header) + " |");
        md.AppendLine("|" + string.Join("|", header.Select((_, c) => c < textColumns ? "---" : "---:")) + "|");
        foreach (var row in rows)
        {
            md.AppendLine("| " + string.Join(" | ", row) + " |");
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
