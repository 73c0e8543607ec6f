using TurboMft.Host.Metadata;

namespace TurboMft.Host.Replication;

/// <summary>
/// Replication rules and the durable outbox of jobs (docs/replication.md, "Outbox semantics (push)"). SQLite embedded
/// (<see cref="SqliteReplicationStore"/>, in <c>metadata.db</c>); a shared database when several nodes work one outbox
/// (docs/architecture.md, "Stores").
/// </summary>
/// <remarks>
/// <para>
/// Jobs wait in the store, not in memory: a worker claims due jobs of one peer in small batches whatever the backlog.
/// A claim is a lease: the job becomes <see cref="ReplicationJobState.Running"/>, held by the claimer's owner name until
/// the lease expires. While the lease holds no other claimer gets the job; once it has expired (the holder stopped or
/// died) the job is due again and the next claim takes it over. The holder renews its leases while it works
/// (<see cref="RenewLeasesAsync"/>) and closes a job with <see cref="FinishAsync"/> or <see cref="FailAsync"/>, which
/// succeed only while it still holds the lease.
/// </para>
/// <para>
/// Jobs are unique per (subject, peer, direction). The sweep's <see cref="UnqueuedReleasedAsync"/> reads the metadata
/// store's released versions, so a provider lives in the same database as the metadata store's provider.
/// </para>
/// </remarks>
public interface IReplicationStore
{
    /// <summary>Adds a rule; false when the name is taken.</summary>
    Task<bool> AddRuleAsync(ReplicationRule rule, CancellationToken cancellationToken);

    /// <summary>Every rule, by name.</summary>
    Task<IReadOnlyList<ReplicationRule>> ListRulesAsync(CancellationToken cancellationToken);

    /// <summary>Removes a rule and its jobs still open or failed for good (done and skipped ones stay as history); false when there is none.</summary>
    Task<bool> RemoveRuleAsync(string name, CancellationToken cancellationToken);

    /// <summary>Adds a pending job, due now, unless one exists for the same subject, peer and direction; true when it was added.</summary>
    Task<bool> EnqueueAsync(ReplicationJob job, CancellationToken cancellationToken);

    /// <summary>Adds pending jobs at once, each unless one exists for its subject, peer and direction; returns how many were added.</summary>
    Task<int> EnqueueAsync(IReadOnlyList<ReplicationJob> jobs, CancellationToken cancellationToken);

    /// <summary>The peers of rules that have due jobs now: pending ones whose next attempt time has come, or running ones whose lease has expired.</summary>
    Task<IReadOnlyList<string>> DuePeersAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Claims up to <paramref name="limit"/> due jobs of <paramref name="peer"/> (oldest due first) for
    /// <paramref name="owner"/>: each becomes running with a lease until now plus <paramref name="lease"/>. A job whose
    /// lease has not expired is never returned to another claimer.
    /// </summary>
    Task<IReadOnlyList<ReplicationJob>> ClaimDueAsync(string peer, string owner, int limit, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>Extends every lease <paramref name="owner"/> holds to now plus <paramref name="lease"/>; returns how many.</summary>
    Task<int> RenewLeasesAsync(string owner, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>
    /// Gives up every lease <paramref name="owner"/> holds: its running jobs are pending and due again (a node starting
    /// again takes back at once what its previous run left; their remote session ids stay, so they resume). Returns how many.
    /// </summary>
    Task<int> ReleaseLeasesAsync(string owner, CancellationToken cancellationToken);

    /// <summary>When the next job falls due (a pending job's next attempt or a running job's lease expiry), or null when there is none.</summary>
    Task<DateTimeOffset?> NextDueAsync(CancellationToken cancellationToken);

    /// <summary>Records the destination's upload session id of a job, so its next attempt resumes that session.</summary>
    Task SetRemoteUploadAsync(long id, string? uploadId, CancellationToken cancellationToken);

    /// <summary>
    /// Closes a job <paramref name="owner"/> holds as <paramref name="state"/> (<see cref="ReplicationJobState.Done"/> or
    /// <see cref="ReplicationJobState.Skipped"/>), adding the bytes moved by its last attempt; false, changing nothing,
    /// when the owner no longer holds its lease (it expired and another claimer took the job, or the rule was removed).
    /// </summary>
    Task<bool> FinishAsync(long id, string owner, string state, long bytes, string? note, CancellationToken cancellationToken);

    /// <summary>
    /// Records a failed attempt of a job <paramref name="owner"/> holds: pending again at <paramref name="nextAttemptAt"/>,
    /// or <see cref="ReplicationJobState.FailedPermanent"/>; false, changing nothing, when the owner no longer holds its lease.
    /// </summary>
    Task<bool> FailAsync(long id, string owner, string error, long bytes, DateTimeOffset nextAttemptAt, bool permanent, CancellationToken cancellationToken);

    /// <summary>The jobs of a peer (all peers when null), newest first, at most <paramref name="limit"/>; for tests and diagnosis.</summary>
    Task<IReadOnlyList<ReplicationJob>> ListJobsAsync(string? peer, int limit, CancellationToken cancellationToken);

    /// <summary>Per peer with jobs, by peer: backlog (pending or running), oldest open job, counts and the last error.</summary>
    Task<IReadOnlyList<PeerBacklog>> BacklogAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Released current versions under <paramref name="rule"/>'s area, after sequence <paramref name="afterSeq"/>, that have no
    /// push job for its peer yet, oldest first, at most <paramref name="limit"/>: what a crash between release and enqueue, or
    /// a new rule, left to send. Returns each with its sequence number, for the next page.
    /// </summary>
    Task<IReadOnlyList<(long Seq, FileVersion Version)>> UnqueuedReleasedAsync(ReplicationRule rule, long afterSeq, int limit, CancellationToken cancellationToken);

    /// <summary>Whether a job for this subject, peer and direction exists (in any state).</summary>
    Task<bool> HasJobAsync(string subject, string peer, ReplicationDirection direction, CancellationToken cancellationToken);
}
