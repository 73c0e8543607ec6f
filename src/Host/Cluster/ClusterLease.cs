namespace TurboMft.Host.Cluster;

/// <summary>
/// A named lease as the store keeps it (docs/cluster.md, "Background work under leases"): held by one node for a term,
/// with a fencing token that grows by one each time the lease changes hands (never reused for one name).
/// </summary>
/// <param name="Name">What the lease covers, e.g. <c>scan-sweep</c> (see <see cref="LeaseNames"/>).</param>
/// <param name="Holder">The node name of the holder (<see cref="ClusterNode.Name"/>).</param>
/// <param name="Token">The fencing token of this holding: a write under the lease is refused once a larger one exists.</param>
/// <param name="AcquiredAt">When this holding began (the store's clock).</param>
/// <param name="ExpiresAt">When it lapses unless renewed (the store's clock).</param>
public sealed record ClusterLease(string Name, string Holder, long Token, DateTimeOffset AcquiredAt, DateTimeOffset ExpiresAt)
{
    /// <summary>How long a claim or renewal holds a lease: a killed holder's work moves within this plus one <see cref="RenewInterval"/>.</summary>
    public static readonly TimeSpan Term = TimeSpan.FromSeconds(15);

    /// <summary>How often a node renews the leases it holds and claims those it wants: a third of the term, so one failed renewal still leaves it held.</summary>
    public static readonly TimeSpan RenewInterval = TimeSpan.FromSeconds(5);
}

/// <summary>The names of the cluster's leases, one per piece of work that must run once per cluster (docs/cluster.md).</summary>
public static class LeaseNames
{
    /// <summary>The scan sweep: pending scans picked up again, approvals past their expiry rejected.</summary>
    public const string ScanSweep = "scan-sweep";

    /// <summary>Upload sessions past their expiry aborted, staging files no session owns removed.</summary>
    public const string UploadExpiry = "upload-expiry";

    /// <summary>Containers no version names set aside (cluster mode: only those older than the grace period).</summary>
    public const string OrphanSweep = "orphan-sweep";

    /// <summary>The replication sweep: released versions under a push rule that have no job yet enqueued.</summary>
    public const string ReplicationSweep = "replication-sweep";

    /// <summary>The polls of pull rule <paramref name="rule"/>: its peer listed and what this site lacks enqueued.</summary>
    public static string ReplicationPull(string rule) => "replication-pull:" + rule;
}

/// <summary>A write under a lease was refused: the lease lapsed or another node took it over (its fencing token is no longer current).</summary>
public sealed class LeaseLostException(string message) : IOException(message);
