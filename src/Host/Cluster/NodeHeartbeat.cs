using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace TurboMft.Host.Cluster;

/// <summary>
/// This node's heartbeat in the registry every <see cref="ClusterNode.HeartbeatInterval"/> (by <see cref="TimeProvider"/>)
/// and its leave at a clean stop. A database that is away skips beats (logged once until one succeeds again); a node
/// found missing (taken for dead and its name taken over) joins again.
/// </summary>
public sealed class NodeHeartbeat(INodeRegistry registry, ClusterNode self, TimeProvider time, ILogger<NodeHeartbeat> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failing = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(ClusterNode.HeartbeatInterval, time, stoppingToken).ConfigureAwait(false);
                var now = time.GetUtcNow();
                if (!await registry.HeartbeatAsync(self.Name, now, stoppingToken).ConfigureAwait(false))
                {
                    logger.LogWarning("Node {Node} was missing from the registry (silent for longer than {Timeout} s); joining again", self.Name, ClusterNode.Timeout.TotalSeconds);
                    await registry.JoinAsync(self with { HeartbeatAt = now }, stoppingToken).ConfigureAwait(false);
                }

                failing = false;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is IOException)
            {
                if (!failing)
                {
                    logger.LogWarning("Node {Node}: heartbeat failed: {Reason}", self.Name, e.Message);
                }

                failing = true;
            }
        }
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await registry.LeaveAsync(self.Name, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            logger.LogWarning("Node {Node} could not leave the registry ({Reason}); it is taken for dead {Timeout} s after its last heartbeat", self.Name, e.Message, ClusterNode.Timeout.TotalSeconds);
        }
    }
}
