using Prometheus;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Metrics;

/// <summary>
/// What the server is and how its process fares: <c>turbomft_build_info</c>, <c>turbomft_http3_enabled</c>, and
/// prometheus-net's process collector (CPU seconds, resident memory, threads, handles, GC collections) plus the GC's
/// allocated bytes and pause time. Process values are the process's, whichever server in it is scraped.
/// </summary>
internal static class InstanceMetrics
{
    /// <summary>Creates the instruments in <paramref name="metrics"/>' registry.</summary>
    public static void Register(ServerMetrics metrics)
    {
        var factory = metrics.Factory;
        factory.CreateGauge("turbomft_build_info", "Always 1; the label names the TurboMft version serving.", ["version"])
            .WithLabels(ProductInfo.Version).Set(1);
        factory.CreateGauge("turbomft_http3_enabled", "1 when HTTP/3 (QUIC) is served, 0 when the host lacks libmsquic.")
            .Set(ProductInfo.QuicAvailable ? 1 : 0);

        DotNetStats.Register(metrics.Registry);
        var allocated = factory.CreateCounter("dotnet_gc_allocated_bytes_total", "Bytes allocated on the managed heap since the process started.");
        var paused = factory.CreateCounter("dotnet_gc_pause_seconds_total", "Time the garbage collector paused the process since it started.");
        metrics.BeforeScrape(() =>
        {
            allocated.IncTo(GC.GetTotalAllocatedBytes());
            paused.IncTo(GC.GetTotalPauseDuration().TotalSeconds);
        });
    }
}
