using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Scanning;

/// <summary>Registers content scanning.</summary>
public static class ScanningServices
{
    /// <summary>The scanner chain built from <paramref name="content"/> (clamd, file types, deny-list, archive limits), and the settings.</summary>
    public static TurboMftBuilder AddContentScanning(this TurboMftBuilder builder, ContentSettings content)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(content);
        builder.Services.AddSingleton(content);
        builder.Services.AddSingleton<IScannerChain>(provider =>
            ScannerChain.Create(content, provider.GetRequiredService<TimeProvider>(), provider.GetRequiredService<ILoggerFactory>()));
        return builder;
    }
}
