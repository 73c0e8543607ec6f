using Microsoft.Extensions.DependencyInjection;

namespace TurboMft.Host.Infrastructure;

/// <summary>
/// The services of one TurboMft server as its features add them, in the style of
/// <c>services.AddTurboMft(…).UseSqlite().UseLocalObjects().AddContentScanning(…).AddReplication(…)</c>: each feature
/// folder has one extension on this builder that registers what it is made of (docs/architecture.md, "Composition").
/// </summary>
public sealed class TurboMftBuilder
{
    /// <summary>A builder over <paramref name="services"/> for the server on <paramref name="data"/>.</summary>
    public TurboMftBuilder(IServiceCollection services, DataDirectory data)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(data);
        Services = services;
        Data = data;
    }

    /// <summary>Where the features register their services.</summary>
    public IServiceCollection Services { get; }

    /// <summary>The data directory the server runs on.</summary>
    public DataDirectory Data { get; }
}
