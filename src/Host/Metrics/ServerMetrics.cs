using Prometheus;

namespace TurboMft.Host.Metrics;

/// <summary>
/// The server's own Prometheus registry (docs/operations.md, "Metrics"). Each server instance has its own, so several
/// servers in one process (tests, embedding) never mix their counts; features create their instruments from
/// <see cref="Factory"/> and <c>GET /metrics</c> exports <see cref="Registry"/>. It starts with the build and process
/// instruments (<see cref="InstanceMetrics"/>).
/// </summary>
public sealed class ServerMetrics
{
    /// <summary>Creates a registry holding the build and process instruments.</summary>
    public ServerMetrics()
    {
        Registry = Prometheus.Metrics.NewCustomRegistry();
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);

        // No exemplars: by default prometheus-net attaches the current trace to observations, an allocation per chunk.
        factory.ExemplarBehavior = ExemplarBehavior.NoExemplars();
        Factory = factory;
        InstanceMetrics.Register(this);
    }

    /// <summary>The registry <c>GET /metrics</c> exports.</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>Creates counters, gauges and histograms in <see cref="Registry"/>.</summary>
    public IMetricFactory Factory { get; }

    /// <summary>Runs <paramref name="update"/> before every scrape: for gauges read from state the code already keeps (queue lengths, pool use).</summary>
    public void BeforeScrape(Action update) => Registry.AddBeforeCollectCallback(update);

    /// <summary>Exponential buckets from 1 ms doubling up to at least <paramref name="upTo"/> (seconds).</summary>
    public static double[] SecondsBuckets(double upTo)
    {
        var count = 1 + (int)Math.Ceiling(Math.Log2(upTo / 0.001));
        return Histogram.ExponentialBuckets(0.001, 2, count);
    }
}
