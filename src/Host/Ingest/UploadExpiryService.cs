using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TurboMft.Host.Cluster;

namespace TurboMft.Host.Ingest;

/// <summary>
/// Aborts upload sessions past their expiry once a minute, removing their staging containers, and removes staging files
/// no session owns once they are <see cref="OrphanIdle"/> old (left by a one-shot or batch upload the server was killed
/// under). On the node holding <see cref="LeaseNames.UploadExpiry"/> only, so once per cluster.
/// </summary>
public sealed class UploadExpiryService(UploadRegistry uploads, ClusterLeases leases, ILogger<UploadExpiryService> logger) : BackgroundService
{
    /// <summary>How often expired sessions are looked for.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    /// <summary>How long a staging file without a session stays untouched before it is removed.</summary>
    public static readonly TimeSpan OrphanIdle = TimeSpan.FromHours(1);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        do
        {
            try
            {
                // Per node, whatever runs once per cluster: this node's writers of sessions other nodes closed.
                await uploads.ForgetClosedAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError(e, "Dropping the writers of sessions closed on other nodes failed");
            }

            await SweepAsync(stoppingToken).ConfigureAwait(false);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    /// <summary>One round, when this node holds the lease; false when another node does.</summary>
    public async Task<bool> SweepAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (await leases.HoldAsync(LeaseNames.UploadExpiry, cancellationToken).ConfigureAwait(false) is not { } lease)
            {
                return false;
            }

            using var lost = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lease.Lost);
            await uploads.ExpireAsync(DateTimeOffset.UtcNow, lease, lost.Token).ConfigureAwait(false);
            await uploads.RemoveOrphanedStagingAsync(DateTimeOffset.UtcNow, OrphanIdle, lease, lost.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // One failed sweep must not stop later ones; the next tick retries.
            logger.LogError(e, "Expiring upload sessions failed");
            return false;
        }
    }
}
