using TurboMft.Compare.Reports;
using TurboMft.Compare.Results;
using TurboMft.Compare.Summaries;

// TurboMft.Compare RESULTS_DIR: reads RESULTS_DIR/results.tsv and meta.tsv (bench/compare/run.sh), writes results.md and chart.png.
if (args.Length != 1 || args[0] is "-h" or "--help")
{
    await Console.Error.WriteLineAsync("usage: TurboMft.Compare RESULTS_DIR   (reads results.tsv and meta.tsv, writes results.md and chart.png)");
    return 2;
}

var directory = args[0];
try
{
    var rows = ResultsFile.ReadMeasurements(Path.Combine(directory, "results.tsv"));
    var meta = ResultsFile.ReadMeta(Path.Combine(directory, "meta.tsv"));
    var run = new Comparison(rows, meta);
    const string chart = "chart.png";
    ChartReport.Write(run, Path.Combine(directory, chart));
    await File.WriteAllTextAsync(Path.Combine(directory, "results.md"), MarkdownReport.Write(run, chart));
    Console.WriteLine($"wrote {Path.Combine(directory, "results.md")} and {chart} ({rows.Count} measurements, {run.Failures.Count()} failed)");
    return 0;
}
catch (Exception e) when (e is InvalidResultsException or IOException or UnauthorizedAccessException)
{
    await Console.Error.WriteLineAsync($"TurboMft.Compare: {e.Message}");
    return 2;
}
