using System.Globalization;
using ScottPlot;
using TurboMft.Compare.Summaries;

namespace TurboMft.Compare.Reports;

/// <summary>chart.png: one horizontal bar panel per scenario table, median with a min–max whisker, turbomft highlighted.</summary>
internal static class ChartReport
{
    private static readonly Color TurboMftColor = Color.FromHex("#E4572E");
    private static readonly Color PeerColor = Color.FromHex("#4C78A8");
    private static readonly Color CeilingColor = Color.FromHex("#9D9D9D");

    public static void Write(Comparison run, string path)
    {
        var panels = new List<Panel>();
        foreach (var (scenario, dataset) in run.Tables)
        {
            var tools = run.Tools.Where(t => t.Scenario == scenario && t.Dataset == dataset).ToList();
            var files = tools[0].CountsFiles;
            panels.Add(new Panel(
                $"{scenario} {dataset}" + (scenario == "S2" ? $", {run.Meta.GetValueOrDefault("link_rate")} link (dashed)" : string.Empty),
                files ? "files/s (median; whisker min–max)" : "MB/s (median; whisker min–max)",
                [.. tools.Select(t => new BarValue(t.Label, t.Role, t.Throughput, t.Min, t.Max))],
                scenario == "S2" ? run.LinkBytesPerSecond / 1e6 : null));
        }

        if (run.Interruptions.Count > 0)
        {
            panels.Add(new Panel(
                "S4 killed at half, then rerun",
                "MB/s over killed run + rerun (median)",
                [.. run.Interruptions.Select(i => new BarValue(i.Label, i.Role, i.Throughput, null, null))],
                null));
        }

        if (panels.Count == 0)
        {
            return;
        }

        var multiplot = new Multiplot();
        multiplot.AddPlots(panels.Count);
        for (var p = 0; p < panels.Count; p++)
        {
            Draw(multiplot.GetPlot(p), panels[p]);
        }

        multiplot.GetPlot(0).Title($"{panels[0].Title}  ·  {run.Meta.GetValueOrDefault("started")}  ·  {run.Meta.GetValueOrDefault("cpu")}, {run.Meta.GetValueOrDefault("cores")} cores");
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Rows();
        var height = panels.Sum(p => 110 + (32 * p.Bars.Count));
        multiplot.SavePng(path, 1100, height);
    }

    private static void Draw(Plot plot, Panel panel)
    {
        plot.Title(panel.Title);
        plot.XLabel(panel.Unit);
        var bars = new List<Bar>();
        var ticks = new List<Tick>();
        var top = panel.Bars.Max(b => b.Max ?? b.Median ?? 0);
        for (var i = 0; i < panel.Bars.Count; i++)
        {
            // The first listed tool at the top.
            var b = panel.Bars[i];
            var y = panel.Bars.Count - 1 - i;
            ticks.Add(new Tick(y, b.Label));
            var failed = b.Median is null;
            bars.Add(new Bar
            {
                Position = y,
                Value = b.Median ?? 0,
                ValueBase = 0,
                Orientation = Orientation.Horizontal,
                FillColor = b.Role switch
                {
                    Roles.Reference or Roles.TurboMft => TurboMftColor,
                    Roles.Ceiling => CeilingColor,
                    _ => PeerColor,
                },
                Label = failed ? "FAILED" : Format(b.Median!.Value),
            });
        }

        var plottable = plot.Add.Bars(bars);
        plottable.Horizontal = true;
        plottable.ValueLabelStyle.FontSize = 12;

        // Whiskers over the bars, so the part below the median shows too.
        for (var i = 0; i < panel.Bars.Count; i++)
        {
            if (panel.Bars[i] is { Min: { } min, Max: { } max } && max > min)
            {
                var y = panel.Bars.Count - 1 - i;
                var whisker = plot.Add.Line(min, y, max, y);
                whisker.Color = Colors.Black;
                whisker.LineWidth = 1.5f;
            }
        }
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. ticks]);
        if (panel.Reference is { } reference)
        {
            var line = plot.Add.VerticalLine(reference);
            line.LinePattern = LinePattern.Dashed;
            line.Color = Colors.Black;
            top = Math.Max(top, reference);
        }

        plot.Axes.SetLimitsX(0, Math.Max(top, 1) * 1.18);
        plot.Axes.SetLimitsY(-0.6, panel.Bars.Count - 0.4);
        plot.Grid.MajorLineColor = Colors.Black.WithOpacity(0.08);
    }

    private static string Format(double value) =>
        value.ToString(value >= 100 ? "0" : value >= 10 ? "0.0" : "0.00", CultureInfo.InvariantCulture);

    /// <summary>One panel; <paramref name="Reference"/> is drawn as a dashed line (S2: the link rate in MB/s).</summary>
    private sealed record Panel(string Title, string Unit, IReadOnlyList<BarValue> Bars, double? Reference);

    private sealed record BarValue(string Label, string Role, double? Median, double? Min, double? Max);
}
