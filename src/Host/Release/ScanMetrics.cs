using Prometheus;
using TurboMft.Host.Metadata;
using TurboMft.Host.Metrics;

namespace TurboMft.Host.Release;

/// <summary>
/// Content scanning instruments (docs/operations.md, "Metrics"): scans by verdict and their duration, quarantines, the
/// scan queue, versions held by a scanner error, and whether the scanners answer.
/// </summary>
public sealed class ScanMetrics
{
    private readonly Counter.Child[] _scans;
    private readonly Histogram _duration;
    private readonly Counter _quarantined;
    private readonly Gauge _queued;
    private readonly Gauge _held;
    private readonly Gauge _available;
    private readonly ServerMetrics _metrics;

    /// <summary>Creates the instruments in <paramref name="metrics"/>.</summary>
    public ScanMetrics(ServerMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        _metrics = metrics;
        var factory = metrics.Factory;
        var scans = factory.CreateCounter("turbomft_scans_total", "Scanner chain runs over a version, by verdict (clean, infected, error: a scanner could not decide and the version is held).", ["verdict"]);
        _scans = [scans.WithLabels("clean"), scans.WithLabels("infected"), scans.WithLabels("error")];
        _duration = factory.CreateHistogram(
            "turbomft_scan_duration_seconds",
            "Time the scanner chain took over one version (every verdict).",
            new HistogramConfiguration { Buckets = ServerMetrics.SecondsBuckets(3600) });
        _quarantined = factory.CreateCounter("turbomft_files_quarantined_total", "Versions put in quarantine because a scanner found something.");
        _queued = factory.CreateGauge("turbomft_scan_queue_length", "Versions queued for a scan or being scanned.");
        _held = factory.CreateGauge("turbomft_scans_held", "Versions pending a scan that a scanner error holds until a retry.");
        _available = factory.CreateGauge("turbomft_scanner_available", "1 while the scanners decide, 0 after a scan a scanner could not decide (until one decides again) or when no scanner is configured.");
    }

    /// <summary>Counts a chain run with its <paramref name="verdict"/> and how long it took.</summary>
    public void Scanned(ScanOutcome verdict, TimeSpan duration)
    {
        _scans[(int)verdict].Inc();
        _duration.Observe(duration.TotalSeconds);
    }

    /// <summary>Counts a version put in quarantine.</summary>
    public void Quarantined() => _quarantined.Inc();

    /// <summary>Reads the queue length, the held count and the scanners' availability before every scrape.</summary>
    public void Observe(Func<int> queued, Func<int> held, Func<bool> available)
    {
        ArgumentNullException.ThrowIfNull(queued);
        ArgumentNullException.ThrowIfNull(held);
        ArgumentNullException.ThrowIfNull(available);
        _metrics.BeforeScrape(() =>
        {
            _queued.Set(queued());
            _held.Set(held());
            _available.Set(available() ? 1 : 0);
        });
    }
}
