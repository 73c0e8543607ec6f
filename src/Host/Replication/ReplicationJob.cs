namespace TurboMft.Host.Replication;

/// <summary>What a job does.</summary>
public enum ReplicationDirection
{
    /// <summary>Send a local version to the peer.</summary>
    Push,

    /// <summary>Fetch a peer's version into this node.</summary>
    Pull,

    /// <summary>Delete on the peer a file deleted here.</summary>
    Delete,
}

/// <summary>A job's state in the outbox.</summary>
public static class ReplicationJobState
{
    /// <summary>Waiting for its next attempt.</summary>
    public const string Pending = "pending";

    /// <summary>Claimed and being worked on under a lease; due again once the lease expires (its holder stopped or died).</summary>
    public const string Running = "running";

    /// <summary>The peer committed the same digest.</summary>
    public const string Done = "done";

    /// <summary>Nothing had to move: the destination already held the digest, or the version was superseded or deleted.</summary>
    public const string Skipped = "skipped";

    /// <summary>Refused for good (forbidden, no such area): needs a change of configuration, then the job is retried by hand.</summary>
    public const string FailedPermanent = "failed-permanent";
}

/// <summary>
/// One job of the durable outbox (docs/replication.md, "Outbox"): one per (file version or remote digest and path, peer,
/// direction), in the <see cref="IReplicationStore"/>.
/// </summary>
/// <param name="Id">Row id.</param>
/// <param name="Rule">The rule that made it.</param>
/// <param name="Peer">The peer.</param>
/// <param name="Direction">Push, pull or delete.</param>
/// <param name="Subject">What makes it unique with the peer and direction: the version id (push, delete) or digest and path (pull).</param>
/// <param name="VersionId">The local version (push, delete).</param>
/// <param name="SourcePath">Path on the source side.</param>
/// <param name="TargetPath">Path on the destination side.</param>
/// <param name="Digest">The <c>sha256-tree</c> to end up with (or to delete).</param>
/// <param name="Size">Bytes.</param>
/// <param name="State">See <see cref="ReplicationJobState"/>.</param>
/// <param name="Attempts">Attempts made.</param>
/// <param name="NextAttemptAt">When it is due.</param>
/// <param name="LastError">Why the last attempt failed.</param>
/// <param name="RemoteUploadId">The destination's upload session id, kept so a retry resumes rather than restarts.</param>
/// <param name="BytesSent">Body bytes sent (push) or received (pull) over all attempts.</param>
/// <param name="CorrelationId">The id both ends audit the transfer under.</param>
/// <param name="OriginSite">Provenance to send: the origin site.</param>
/// <param name="OriginPath">Provenance: the origin path.</param>
/// <param name="OriginTime">Provenance: the origin commit time.</param>
/// <param name="CreatedAt">When it was enqueued.</param>
public sealed record ReplicationJob(
    long Id,
    string Rule,
    string Peer,
    ReplicationDirection Direction,
    string Subject,
    Guid? VersionId,
    string SourcePath,
    string TargetPath,
    string? Digest,
    long Size,
    string State,
    int Attempts,
    DateTimeOffset NextAttemptAt,
    string? LastError,
    string? RemoteUploadId,
    long BytesSent,
    string CorrelationId,
    string? OriginSite,
    string? OriginPath,
    DateTimeOffset? OriginTime,
    DateTimeOffset CreatedAt)
{
    /// <summary>Who holds the job's lease while it runs (the claimer's owner name), or null.</summary>
    public string? LeaseOwner { get; init; }

    /// <summary>When the lease of a running job expires and the job is due again, or null.</summary>
    public DateTimeOffset? LeaseExpiresAt { get; init; }

    /// <summary>The direction's stored name.</summary>
    public static string DirectionName(ReplicationDirection direction) => direction switch
    {
        ReplicationDirection.Pull => "pull",
        ReplicationDirection.Delete => "delete",
        _ => "push",
    };
}

/// <summary>One peer's outbox figures.</summary>
/// <param name="Peer">The peer.</param>
/// <param name="Backlog">Jobs pending or running.</param>
/// <param name="OldestPendingAt">When the oldest of them was enqueued.</param>
/// <param name="Done">Jobs done.</param>
/// <param name="Skipped">Jobs skipped.</param>
/// <param name="FailedPermanent">Jobs failed for good.</param>
/// <param name="LastError">The most recent failure of a job still open or failed, if any.</param>
public sealed record PeerBacklog(string Peer, long Backlog, DateTimeOffset? OldestPendingAt, long Done, long Skipped, long FailedPermanent, string? LastError);
