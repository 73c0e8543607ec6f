using Microsoft.Extensions.DependencyInjection;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Release;

namespace TurboMft.Host.Replication;

/// <summary>Registers replication.</summary>
public static class ReplicationServices
{
    /// <summary>
    /// Replication with <paramref name="settings"/> as <paramref name="node"/>: the outbox as the observer of released versions,
    /// peers, push and pull, and the worker (a hosted service). The store of rules and the outbox is the composition's
    /// choice (<see cref="UseSqliteReplication"/>, <see cref="UsePostgresReplication"/>).
    /// </summary>
    public static TurboMftBuilder AddReplication(this TurboMftBuilder builder, ReplicationSettings settings, NodeIdentity node)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(node);
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(node);
        builder.Services.AddSingleton<ReplicationOutbox>();
        builder.Services.AddSingleton<IVersionObserver>(provider => provider.GetRequiredService<ReplicationOutbox>());
        builder.Services.AddSingleton<ReplicationActivity>();
        builder.Services.AddSingleton<ReplicationMetrics>();
        builder.Services.AddSingleton<PeerConnections>();
        builder.Services.AddSingleton<PushReplicator>();
        builder.Services.AddSingleton<PullReplicator>();
        builder.Services.AddSingleton<ReplicationWorker>();
        builder.Services.AddSingleton<ReplicationAdministration>();
        builder.Services.AddHostedService(provider => provider.GetRequiredService<ReplicationWorker>());
        return builder;
    }

    /// <summary>
    /// The SQLite replication store: rules and the outbox as tables of the data directory's <c>metadata.db</c>, created
    /// or migrated when the server first asks for it (at start, by the worker). A replacement registered after it wins.
    /// </summary>
    public static TurboMftBuilder UseSqliteReplication(this TurboMftBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var path = builder.Data.MetadataPath;
        builder.Services.AddSingleton<IReplicationStore>(provider =>
            SqliteReplicationStore.OpenAsync(path, provider.GetRequiredService<TimeProvider>()).GetAwaiter().GetResult());
        return builder;
    }

    /// <summary>
    /// The PostgreSQL replication store: rules and the outbox in the shared database beside the metadata store's tables
    /// (docs/cluster.md), migrated when the server first asks for it.
    /// </summary>
    public static TurboMftBuilder UsePostgresReplication(this TurboMftBuilder builder, PostgresDatabase database)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(database);
        builder.Services.AddSingleton<IReplicationStore>(provider =>
            PostgresReplicationStore.OpenAsync(database, provider.GetRequiredService<TimeProvider>()).GetAwaiter().GetResult());
        return builder;
    }
}
