using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace TurboMft.Host.Ingest;

/// <summary>
/// Aborts upload sessions past their expiry once a minute, removing their staging containers, and removes staging files
/// no session owns once they are <see cref="OrphanIdle"/> old (left by a one-shot or batch upload the server was killed under).
/// </summary>
public sealed class UploadExpiryService(UploadRegistry uploads, ILogger<UploadExpiryService> logger) : BackgroundService
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
                await uploads.ExpireAsync(DateTimeOffset.UtcNow, stoppingToken).ConfigureAwait(false);
                await uploads.RemoveOrphanedStagingAsync(DateTimeOffset.UtcNow, OrphanIdle, stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // One failed sweep must not stop later ones; the next tick retries.
                logger.LogError(e, "Expiring upload sessions failed");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }
}
