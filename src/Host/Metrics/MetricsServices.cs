using Microsoft.Extensions.DependencyInjection;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Metrics;

/// <summary>Registers the server's Prometheus registry, its transfer instruments and the chunk buffer pools they observe.</summary>
public static class MetricsServices
{
    /// <summary>Adds <see cref="ServerMetrics"/>, <see cref="TransferMetrics"/> and <see cref="ServerBuffers"/>.</summary>
    public static TurboMftBuilder AddMetrics(this TurboMftBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<ServerMetrics>();
        builder.Services.AddSingleton<TransferMetrics>();
        builder.Services.AddSingleton(provider =>
        {
            var buffers = new ServerBuffers();
            provider.GetRequiredService<TransferMetrics>().ObservePools(() => buffers.RequestPools);
            return buffers;
        });
        return builder;
    }
}
