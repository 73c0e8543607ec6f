using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
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

    /// <summary>
    /// Containers and their staging in a directory other nodes share (<c>--store dir:PATH</c>, e.g. an NFS mount), with the
    /// upload locks of the nodes' one PostgreSQL database when there is one (docs/cluster.md, "Shared object store").
    /// </summary>
    public static TurboMftBuilder UseSharedDirectory(this TurboMftBuilder builder, string path, PostgresDatabase? database)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<IObjectStore>(new LocalObjectStore(path, shared: true));
        if (database is not null)
        {
            builder.Services.AddSingleton<IUploadLocks>(new PostgresUploadLocks(database));
        }

        return builder;
    }

    /// <summary>The ingest core (<see cref="FileIngest"/>), upload sessions and their expiry, held to <paramref name="uploads"/>.</summary>
    public static TurboMftBuilder AddIngest(this TurboMftBuilder builder, UploadSettings uploads)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(uploads);
        builder.Services.AddSingleton(uploads);
        builder.Services.TryAddSingleton<IUploadLocks, LocalUploadLocks>();
        builder.Services.AddSingleton<UploadRegistry>();
        builder.Services.AddSingleton<FileIngest>();
        builder.Services.AddHostedService<UploadExpiryService>();
        return builder;
    }
}
