using Microsoft.Extensions.DependencyInjection;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Server;

/// <summary>
/// The composition root's entry to the feature extensions (docs/architecture.md, "Composition"):
/// <c>services.AddTurboMft(data, time)</c> starts a <see cref="TurboMftBuilder"/>, each feature adds itself with its own
/// extension (<c>.UseSqlite()</c>, <c>.AddContentScanning(…)</c>, <c>.AddReplication(…)</c>…), and
/// <c>.AddHttpApi()</c> adds what the endpoints need beyond the features.
/// </summary>
public static class TurboMftServices
{
    /// <summary>Starts the services of a server on <paramref name="data"/> keeping time by <paramref name="time"/>.</summary>
    public static TurboMftBuilder AddTurboMft(this IServiceCollection services, DataDirectory data, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(time);
        services.AddSingleton(data);
        services.AddSingleton(time);
        return new TurboMftBuilder(services, data);
    }
}
