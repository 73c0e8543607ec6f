using System.Globalization;
using System.Text;
using TurboMft.Compare.Summaries;

namespace TurboMft.Compare.Reports;

/// <summary>results.md: the run's facts, the targets, a headline of ratios, and one table per scenario.</summary>
internal static class MarkdownReport
{
    /// <summary>The peer families of the headline, in column order: key prefix and heading.</summary>
    private static readonly (string Prefix, string Heading)[] Families =
        [("scp", "scp"), ("sftp", "sftp"), ("rsync", "rsync"), ("rclone", "rclone"), ("nginx", "curl ↔ nginx")];

    public static string Write(Comparison run, string chartFile)
    {
        var md = new StringBuilder();
        var meta = run.Meta;
        md.Line($"# Peer comparison, {meta.GetValueOrDefault("started", "?")}");
        md.Line();
        md.Line($"`bench/compare/run.sh` (bench/README.md, \"Peer comparison\"). Machine: {meta.GetValueOrDefault("cpu", "?")}, "
            + $"{meta.GetValueOrDefault("cores", "?")} cores, {meta.GetValueOrDefault("memory", "?")}, {meta.GetValueOrDefault("os", "?")}, "
            + $"kernel {meta.GetValueOrDefault("kernel", "?")}; files in {meta.GetValueOrDefault("work", "?")}. "
            + $"turbomft {meta.GetValueOrDefault("version_turbomft", "?")} (commit {meta.GetValueOrDefault("commit", "?")}).");
        md.Line();
        md.Line("Peers: " + string.Join("; ", meta.Where(m => m.Key.StartsWith("version_", StringComparison.Ordinal) && m.Key != "version_turbomft").Select(m => m.Value))
            + ". " + string.Join(" ", meta.Where(m => m.Key.StartsWith("peer_", StringComparison.Ordinal) && m.Value != "yes").Select(m => $"{m.Key[5..]} {m.Value}.")));
        md.Line();
        md.Line($"Run: {meta.GetValueOrDefault("rounds", "?")} round(s), {meta.GetValueOrDefault("size", "?")} per file, small files {meta.GetValueOrDefault("small_files", "?")}, "
            + $"link {meta.GetValueOrDefault("link_rate", "?")}; every tool once per round, odd rounds in the listed order and even rounds reversed; "
            + "medians over the successful runs. Every result was compared with its source (`cmp`, `diff -r`). "
            + $"Load average (1/5/15 min): {meta.GetValueOrDefault("load_start", "?")} at the start, {meta.GetValueOrDefault("load_end", "?")} at the end.");
        if (run.LoadWasHigh)
        {
            md.Line();
            md.Line("**The load was above the core count: other work shared the machine, so absolute figures are indicative; the ratios measured side by side in the same rounds are the signal.**");
        }

        foreach (var skipped in meta.Where(m => m.Key.StartsWith("skipped_", StringComparison.Ordinal)))
        {
            md.Line();
            md.Line($"{skipped.Key[8..]} was skipped: {skipped.Value}.");
        }

        md.Line();
        md.Line($"![chart]({chartFile})");
        md.Line();
        WriteFailures(md, run);
        WriteTargets(md, run);
        WriteHeadline(md, run);
        foreach (var (scenario, dataset) in run.Tables)
        {
            WriteScenario(md, run, scenario, dataset);
        }

        if (run.Interruptions.Count > 0)
        {
            WriteInterruptions(md, run);
        }

        return md.ToString();
    }

    private static void WriteFailures(StringBuilder md, Comparison run)
    {
        var failures = run.Failures.ToList();
        md.Line("## Failures");
        md.Line();
        if (failures.Count == 0)
        {
            md.Line("None: every transfer exited 0 and its result equals its source.");
            md.Line();
            return;
        }

        md.Line("A failed or wrong transfer is left out of the medians and listed here (a fast wrong answer is a failure).");
        md.Line();
        md.Line("| scenario | tool | round | phase | what |");
        md.Line("|---|---|---:|---|---|");
        foreach (var f in failures)
        {
            md.Line($"| {f.Scenario} {f.Dataset} | {f.Label} | {f.Round} | {f.Phase} | {Cell(f.Note)} |");
        }

        md.Line();
    }

    private static void WriteTargets(StringBuilder md, Comparison run)
    {
        var targets = Target.Of(run);
        if (targets.Count == 0)
        {
            return;
        }

        md.Line("## Targets");
        md.Line();
        md.Line("Ratios of medians; \"per round\" is the median over rounds of the ratio inside one round. Results, not tests.");
        md.Line();
        md.Line("| scenario | target | bound | measured | per round | met |");
        md.Line("|---|---|---:|---:|---:|---|");
        foreach (var t in targets)
        {
            var met = t.Met switch { true => "yes", false => "**no**", null => "not measured" };
            md.Line($"| {t.Scenario} | {t.What} | {(t.AtMost ? "≤" : "≥")} {Num(t.Bound)} | {Num(t.Value)} | {Num(t.PerRound)} | {met} |");
        }

        md.Line();
    }

    private static void WriteHeadline(StringBuilder md, Comparison run)
    {
        md.Line("## Headline: turbomft (default settings) ÷ each peer");
        md.Line();
        md.Line("Median throughput of turbomft over the peer's, same run (> 1: turbomft is faster). Where a peer ran in several "
            + "variants, the fastest counts. S3 in files/s; S4 over the killed run plus the rerun.");
        md.Line();
        md.Line("| scenario | turbomft | " + string.Join(" | ", Families.Select(f => f.Heading)) + " |");
        md.Line("|---|---:|" + string.Concat(Families.Select(_ => "---:|")));
        foreach (var (scenario, dataset) in run.Tables)
        {
            var reference = run.Reference(scenario, dataset);
            if (reference is null)
            {
                continue;
            }

            var cells = Families.Select(f =>
            {
                var best = run.Tools.Where(t => t.Scenario == scenario && t.Dataset == dataset && t.Role == Roles.Peer && Family(t.Key) == f.Prefix)
                    .MaxBy(t => t.Throughput ?? -1);
                return best is null ? "–" : best.Throughput is null ? "FAILED" : Num(Comparison.Ratio(reference, best));
            });
            md.Line($"| {ScenarioName(scenario, dataset)} | {Rate(reference.Throughput, reference.CountsFiles)} | {string.Join(" | ", cells)} |");
        }

        var resumed = run.Interruptions.FirstOrDefault(i => i.Role == Roles.Reference);
        if (resumed?.Throughput is { } speed)
        {
            var cells = Families.Select(f =>
            {
                var peer = run.Interruptions.Where(i => i.Role == Roles.Peer && Family(i.Key) == f.Prefix).MaxBy(i => i.Throughput ?? -1);
                return peer?.Throughput is > 0 ? Num(speed / peer.Throughput.Value) : "–";
            });
            md.Line($"| S4 killed at half + rerun | {Rate(speed, false)} | {string.Join(" | ", cells)} |");
        }

        md.Line();
    }

    private static void WriteScenario(StringBuilder md, Comparison run, string scenario, string dataset)
    {
        var tools = run.Tools.Where(t => t.Scenario == scenario && t.Dataset == dataset).OrderBy(t => RoleOrder(t.Role)).ToList();
        var reference = run.Reference(scenario, dataset);
        var files = tools[0].CountsFiles;
        var link = scenario == "S2" && run.LinkBytesPerSecond is not null;
        var wire = tools.Any(t => t.WireBytes is not null);
        md.Line($"## {ScenarioName(scenario, dataset)}");
        md.Line();
        md.Line(Description(scenario, dataset, tools[0], run));
        md.Line();
        var unit = files ? "files/s" : "MB/s";
        md.Line($"| tool | {unit} (median) | min–max | "
            + (files ? "MB/s | " : string.Empty)
            + (link ? "× link rate | " : string.Empty)
            + (wire ? "on the link MB | " : string.Empty)
            + "wall s | CPU s client + server | peak RSS MiB client / server | turbomft ÷ this | runs ok |");
        md.Line("|---|---:|---:|" + (files ? "---:|" : string.Empty) + (link ? "---:|" : string.Empty) + (wire ? "---:|" : string.Empty) + "---:|---:|---:|---:|---:|");
        foreach (var t in tools)
        {
            var name = t.IsTurboMft ? $"**{t.Label}**" : t.Label;
            var runs = t.Failed.Count == 0 ? $"{t.Succeeded.Count}/{t.Runs.Count}" : $"{t.Succeeded.Count}/{t.Runs.Count} (**{t.Failed.Count} FAILED**)";
            if (t.Throughput is null)
            {
                var blanks = 6 + (files ? 1 : 0) + (link ? 1 : 0) + (wire ? 1 : 0);
                md.Line($"| {name} | **FAILED** |" + string.Concat(Enumerable.Repeat(" – |", blanks)) + $" {runs} |");
                continue;
            }

            var cpu = $"{Num(t.ClientCpuSeconds)} + {Num(t.ServerCpuSeconds)} = {Num(t.ClientCpuSeconds + t.ServerCpuSeconds)}";
            var rss = $"{Mib(t.ClientRssKib)} / {Mib(t.ServerRssKib)}";
            md.Line($"| {name} | {Rate(t.Throughput, files)} | {Rate(t.Min, files)}–{Rate(t.Max, files)} | "
                + (files ? $"{Rate(t.Bytes / t.WallSeconds / 1e6, false)} | " : string.Empty)
                + (link ? $"{Num(t.Throughput * 1e6 / run.LinkBytesPerSecond)} | " : string.Empty)
                + (wire ? $"{(t.WireBytes is { } w ? Rate(w / 1e6, false) : "–")} | " : string.Empty)
                + $"{Num(t.WallSeconds)} | {cpu} | {rss} | {Num(Comparison.Ratio(reference, t))} | {runs} |");
        }

        md.Line();
    }

    private static void WriteInterruptions(StringBuilder md, Comparison run)
    {
        md.Line("## S4 — killed at about half, then run again");
        md.Line();
        md.Line("Per round and tool: a clean transfer; the same command killed (SIGKILL of the client's process tree) as soon as the server "
            + "side held half the file (turbomft: the chunks its upload status lists as received; the others: the size of the files in "
            + "their destination folder, partial and temporary files included), polled every 50 ms; then the same command again to "
            + "completion, checked with `cmp`. \"Sent twice\" = bytes the client's end of the link sent in the killed run plus the rerun, "
            + "minus the clean run's: what the interruption cost. Medians over the rounds.");
        md.Line();
        md.Line("| tool | clean s | held after the kill | rerun s | killed run + rerun s | MB/s over both | rerun on the link MB | sent twice MB | turbomft ÷ this | rounds |");
        md.Line("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        var reference = run.Interruptions.FirstOrDefault(i => i.Role == Roles.Reference);
        foreach (var i in run.Interruptions.OrderBy(i => RoleOrder(i.Role)))
        {
            var name = i.IsTurboMft ? $"**{i.Label}**" : i.Label;
            var rounds = $"{i.Rounds.Count}" + (i.Failed.Count > 0 ? $" (**{i.Failed.Count} FAILED**)" : string.Empty)
                + (i.NotInterrupted.Count > 0 ? $" ({i.NotInterrupted.Count} not interrupted)" : string.Empty);
            if (i.Rounds.Count == 0)
            {
                md.Line($"| {name} | **FAILED** | – | – | – | – | – | – | – | {rounds} |");
                continue;
            }

            var ratio = reference?.Throughput is { } r && i.Throughput is > 0 ? Num(r / i.Throughput.Value) : "–";
            md.Line($"| {name} | {Num(i.CleanSeconds)} | {Percent(i.HeldFraction)} | {Num(i.RerunSeconds)} | {Num(i.TotalSeconds)} | "
                + $"{Rate(i.Throughput, false)} | {Rate(i.RerunWireBytes / 1e6, false)} | {Rate(i.SentTwiceBytes / 1e6, false)} | {ratio} | {rounds} |");
        }

        md.Line();
        if (reference is { ChunksSentTwicePerConnection: { } perConnection })
        {
            md.Line($"turbomft: the rerun skipped {reference.RerunChunksSkipped:0} of {reference.Chunks} chunks the server already held and sent "
                + $"{Rate(reference.RerunPayloadBytes / 1e6, false)} MB of payload (`push --json`: chunksSkipped, bytesSent); the bytes sent twice "
                + $"come to {Num(perConnection)} chunks of {reference.ChunkSize / 1048576} MiB per connection ({reference.Connections} connections).");
            md.Line();
        }
    }

    private static string Description(string scenario, string dataset, ToolSummary sample, Comparison run) => scenario switch
    {
        "S1" => $"Upload of {Size(sample.Bytes)} of incompressible data on 127.0.0.1, both ends on this machine's cores. MB/s = file bytes ÷ wall time of the "
            + "whole command (start, handshake, commit included). CPU: the client from /usr/bin/time, the server's processes from /proc "
            + "(sshd's per-connection processes included). The TLS sink (`turbomft bench sink`, a Kestrel TLS 1.3 connection handler "
            + "that discards the bytes) is the transport's ceiling. SSH peers use aes256-gcm@openssh.com (rclone's SSH library offers no "
            + "aes256-gcm and negotiates aes128-gcm@openssh.com); rclone checks the upload with md5sum on the server, its default.",
        "S2" => $"Upload of {Size(sample.Bytes)} of historian CSV (compressible ≈ 3.5× by LZ4) from one network namespace to another across a "
            + $"veth pair limited by tc tbf to {run.Meta.GetValueOrDefault("link_rate", "?")} on both ends. Effective throughput = file bytes ÷ wall time; "
            + "\"× link rate\" compares it with the link; \"on the link\" is what the client's end sent (compression shows there).",
        "S3" => $"Upload of a tree of {sample.Files:N0} files ({Size(sample.Bytes)}, random bytes, 100 per folder) on 127.0.0.1; files/s = files ÷ wall "
            + "time. Checked with `diff -r` (turbomft: its tree pulled back first). rclone runs without its per-file md5sum check here "
            + "(it costs an ssh session per file).",
        "S5" => $"Download of S1's {Size(sample.Bytes)} file on 127.0.0.1 (turbomft: parallel range requests on 4 connections; rclone: 4 streams).",
        "S6" => $"Download of S3's tree of {sample.Files:N0} files ({Size(sample.Bytes)}) on 127.0.0.1 into a fresh folder; files/s = files ÷ wall time "
            + "(turbomft: listing, then files of one chunk by one GET each, 4 at once). Checked with `diff -r`.",
        _ => string.Empty,
    };

    private static string ScenarioName(string scenario, string dataset) => (scenario, dataset) switch
    {
        ("S1", _) => "S1 — loopback upload, incompressible",
        ("S2", _) => "S2 — historian CSV across a rate-limited link",
        ("S3", "files-64k") => "S3 — many small files (64 KiB)",
        ("S3", "files-1m") => "S3 — many files (1 MiB)",
        ("S5", _) => "S5 — loopback download",
        ("S6", "files-64k") => "S6 — download of many small files (64 KiB)",
        ("S6", "files-1m") => "S6 — download of many files (1 MiB)",
        _ => $"{scenario} — {dataset}",
    };

    private static string Family(string key) => key.Split('-')[0];

    private static int RoleOrder(string role) => role switch
    {
        Roles.Ceiling => 0,
        Roles.Reference => 1,
        Roles.TurboMft => 2,
        _ => 3,
    };

    private static string Size(long bytes) => bytes >= 1L << 30 ? $"{bytes / (double)(1L << 30):0.##} GiB" : $"{bytes / (double)(1L << 20):0.##} MiB";

    private static string Num(double? value) => value is null ? "–" : value.Value.ToString("0.00", CultureInfo.InvariantCulture);

    private static string Rate(double? value, bool files) =>
        value is null ? "–" : value.Value.ToString(files || value >= 100 ? "0" : value >= 10 ? "0.0" : "0.00", CultureInfo.InvariantCulture);

    private static string Mib(long? kib) => kib is null ? "–" : (kib.Value / 1024.0).ToString("0", CultureInfo.InvariantCulture);

    private static string Percent(double? fraction) => fraction is null ? "–" : (fraction.Value * 100).ToString("0", CultureInfo.InvariantCulture) + "%";

    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal);

    private static void Line(this StringBuilder md, string text = "") => md.Append(text).Append('\n');
}
