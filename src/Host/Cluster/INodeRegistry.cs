namespace TurboMft.Host.Cluster;

/// <summary>
/// Which nodes serve the service, with their heartbeats (docs/cluster.md, "Nodes"): in the shared database when several
/// nodes share one (<see cref="PostgresNodeRegistry"/>), in memory for the one embedded node (<see cref="LocalNodeRegistry"/>).
/// </summary>
public interface INodeRegistry
{
    /// <summary>The node this process joined as (<see cref="JoinAsync"/>), or null before it joined.</summary>
    ClusterNode? Self { get; }

    /// <summary>
    /// Registers <paramref name="node"/>, or takes its name over from a node whose last heartbeat is older than
    /// <see cref="ClusterNode.Timeout"/> at <paramref name="node"/>'s start.
    /// </summary>
    /// <exception cref="NodeNameTakenException">A live node holds the name.</exception>
    Task JoinAsync(ClusterNode node, CancellationToken cancellationToken = default);

    /// <summary>Records a heartbeat of <paramref name="name"/> at <paramref name="at"/>; false when the node is not registered (it was taken for dead and its name taken over).</summary>
    Task<bool> HeartbeatAsync(string name, DateTimeOffset at, CancellationToken cancellationToken = default);

    /// <summary>Removes <paramref name="name"/> (a clean stop).</summary>
    Task LeaveAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Every registered node, live or not, by name.</summary>
    Task<IReadOnlyList<ClusterNode>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>Throws when the store behind the registry cannot be reached (readiness).</summary>
    Task CheckReachableAsync(CancellationToken cancellationToken = default);
}
