using Microsoft.Extensions.DependencyInjection;
using TurboMft.Engine.Storage;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Ingest;

/// <summary>Registers the ingest core and the object store it commits into.</summary>
public static class IngestServices
{
    /// <summary>Containers and their staging on the local disk of the data directory (<c>store/</c>).</summary>
    public static TurboMftBuilder UseLocalObjects(this TurboMftBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<IObjectStore>(new LocalObjectStore(builder.Data.StorePath));
        return builder;
    }

    /// <summary>The ingest core (<see cref="FileIngest"/>), upload sessions and their expiry, held to <paramref name="uploads"/>.</summary>
    public static TurboMftBuilder AddIngest(this TurboMftBuilder builder, UploadSettings uploads)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(uploads);
        builder.Services.AddSingleton(uploads);
        builder.Services.AddSingleton<UploadRegistry>();
        builder.Services.AddSingleton<FileIngest>();
        builder.Services.AddHostedService<UploadExpiryService>();
        return builder;
    }
}
