using Microsoft.Extensions.DependencyInjection;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Release;

namespace TurboMft.Host.Replication;

/// <summary>Registers replication.</summary>
public static class ReplicationServices
{
    /// <summary>
    /// Replication with <paramref name="settings"/> as <paramref name="node"/>: rules and the outbox in the metadata
    /// database, the outbox as the observer of released versions, peers, push and pull, and the worker (a hosted service).
    /// </summary>
    public static TurboMftBuilder AddReplication(this TurboMftBuilder builder, ReplicationSettings settings, NodeIdentity node)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(node);
        var metadataPath = builder.Data.MetadataPath;
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(node);
        builder.Services.AddSingleton(provider => new ReplicationStore(metadataPath, provider.GetRequiredService<TimeProvider>()));
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
}
