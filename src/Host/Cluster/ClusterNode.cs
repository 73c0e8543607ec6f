namespace TurboMft.Host.Cluster;

/// <summary>A node of the service as the registry keeps it (docs/cluster.md, "Nodes").</summary>
/// <param name="Name">Unique among the live nodes of one database (<c>--node</c>; default host name and port).</param>
/// <param name="Site">The site it serves (every node of a cluster is one site to its peers).</param>
/// <param name="Version">The TurboMft build it runs.</param>
/// <param name="StartedAt">When it joined.</param>
/// <param name="HeartbeatAt">Its last heartbeat.</param>
public sealed record ClusterNode(string Name, string Site, string Version, DateTimeOffset StartedAt, DateTimeOffset HeartbeatAt)
{
    /// <summary>A node whose last heartbeat is older than this is taken for dead: its name may be taken again.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>How often a node beats.</summary>
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(5);

    /// <summary>True when its last heartbeat is within <see cref="Timeout"/> of <paramref name="now"/>.</summary>
    public bool IsLive(DateTimeOffset now) => now - HeartbeatAt < Timeout;
}

/// <summary>The node name is held by a live node of the same database: the start stops here.</summary>
public sealed class NodeNameTakenException(string message) : IOException(message);
