using Microsoft.Extensions.DependencyInjection;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Release;

/// <summary>Registers release: the scan service and release decisions.</summary>
public static class ReleaseServices
{
    /// <summary>The scan service (a hosted service), release decisions (approve, reject, quarantine) and the scan metrics.</summary>
    public static TurboMftBuilder AddRelease(this TurboMftBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<ScanMetrics>();
        builder.Services.AddSingleton<ReleaseDecisions>();
        builder.Services.AddSingleton<ScanService>();
        builder.Services.AddHostedService(provider => provider.GetRequiredService<ScanService>());
        return builder;
    }
}
