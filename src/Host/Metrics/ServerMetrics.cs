using Prometheus;

namespace TurboMft.Host.Metrics;

/// <summary>
/// The server's own Prometheus registry (docs/operations.md, "Metrics"). Each server instance has its own, so several
/// servers in one process (tests, embedding) never mix their counts; features create their instruments from
/// <see cref="Factory"/> and <c>GET /metrics</c> exports <see cref="Registry"/>.
/// </summary>
public sealed class ServerMetrics
{
    /// <summary>Creates an empty registry.</summary>
    public ServerMetrics()
    {
        Registry = Prometheus.Metrics.NewCustomRegistry();
        Factory = Prometheus.Metrics.WithCustomRegistry(Registry);
    }

    /// <summary>The registry <c>GET /metrics</c> exports.</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>Creates counters, gauges and histograms in <see cref="Registry"/>.</summary>
    public IMetricFactory Factory { get; }
}
