using Microsoft.Extensions.DependencyInjection;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Metadata;

/// <summary>Registers the metadata store.</summary>
public static class MetadataServices
{
    /// <summary>The SQLite metadata store in the data directory (<c>metadata.db</c>, migrated when opened).</summary>
    public static TurboMftBuilder UseSqlite(this TurboMftBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<IMetadataStore>(SqliteMetadataStore.OpenAsync(builder.Data.Root).GetAwaiter().GetResult());
        return builder;
    }

    /// <summary>The PostgreSQL metadata store in the shared <paramref name="database"/> (docs/cluster.md), migrated when opened.</summary>
    public static TurboMftBuilder UsePostgresMetadata(this TurboMftBuilder builder, PostgresDatabase database)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(database);
        builder.Services.AddSingleton<IMetadataStore>(PostgresMetadataStore.OpenAsync(database).GetAwaiter().GetResult());
        return builder;
    }
}
