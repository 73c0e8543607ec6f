using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TurboMft.Engine.Storage;
using TurboMft.Host.Audit;
using TurboMft.Host.Cluster;
using TurboMft.Host.Metadata;

namespace TurboMft.Host.Ingest;

/// <summary>
/// The orphaned-container sweep of a node on a shared database (docs/cluster.md): every <see cref="Interval"/>, first at
/// start, on the node holding <see cref="LeaseNames.OrphanSweep"/> only, for containers committed longer than
/// <see cref="Grace"/> ago that nothing names (<see cref="OrphanedObjects"/>). Embedded, the sweep runs once at start instead.
/// </summary>
public sealed class OrphanSweepService(IObjectStore store, IMetadataStore metadata, IAuditTrail audit, ClusterLeases leases, TimeProvider time, ILogger<OrphanSweepService> logger)
    : BackgroundService
{
    /// <summary>How often the sweep runs.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    /// <summary>How long a container must have had its key before the sweep may take it for orphaned: far longer than any commit's rename-to-row step.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromHours(1);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            await SweepAsync(stoppingToken).ConfigureAwait(false);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    /// <summary>One sweep, when this node holds the lease; returns how many containers it set aside (0 without the lease).</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (await leases.HoldAsync(LeaseNames.OrphanSweep, cancellationToken).ConfigureAwait(false) is not { } lease)
            {
                return 0;
            }

            using var lost = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lease.Lost);
            return await OrphanedObjects.SetAsideAsync(store, metadata, audit, logger, Grace, lease, lost.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // One failed sweep must not stop later ones; the next tick retries.
            logger.LogError(e, "Sweeping for orphaned containers failed");
            return 0;
        }
    }
}
