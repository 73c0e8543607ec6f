namespace TurboMft.Engine.Protocol;

// The JSON bodies of /v1/admin/replication (docs/protocol.md, "Administration"), shared by the server's endpoints and
// TurboMftAdminClient. Areas are remote path prefixes; times ISO 8601 UTC.

/// <summary>
/// Body of <c>POST /v1/admin/replication/rules</c> (docs/protocol.md, "Administration"): replicate <see cref="Area"/> with <see cref="Peer"/>. Mode <c>push</c>
/// (default) or <c>pull</c>; <see cref="Target"/> defaults to the area; <see cref="IntervalSeconds"/> null or 0 means continuous;
/// <see cref="BandwidthBytesPerSecond"/> null or 0 means unlimited.
/// </summary>
public sealed record AddReplicationRuleRequest(
    string? Name,
    string? Area,
    string? Peer,
    string? Mode = null,
    string? Target = null,
    bool? PropagateDeletes = null,
    long? IntervalSeconds = null,
    long? BandwidthBytesPerSecond = null,
    IReadOnlyList<string>? Include = null,
    IReadOnlyList<string>? Exclude = null);

/// <summary>A replication rule as listed and as added (docs/protocol.md, "Administration").</summary>
public sealed record ReplicationRuleView(
    string Name,
    string Area,
    string Peer,
    string Mode,
    string Target,
    bool PropagateDeletes,
    long IntervalSeconds,
    long BandwidthBytesPerSecond,
    IReadOnlyList<string> Include,
    IReadOnlyList<string> Exclude,
    bool Enabled,
    DateTimeOffset CreatedAt);

/// <summary>Answer of <c>GET /v1/admin/replication/rules</c> (docs/protocol.md, "Administration").</summary>
public sealed record ReplicationRuleList(IReadOnlyList<ReplicationRuleView> Rules);

/// <summary>One peer's replication status (docs/protocol.md, "Administration").</summary>
/// <param name="Peer">The peer.</param>
/// <param name="Backlog">Jobs pending or running.</param>
/// <param name="Running">Jobs running now.</param>
/// <param name="OldestPendingSeconds">Age of the oldest open job, 0 when none.</param>
/// <param name="LastError">The most recent failure of an open or failed job.</param>
/// <param name="BytesPerSecond">Bytes moved per second over the last minute.</param>
/// <param name="Done">Jobs done.</param>
/// <param name="Skipped">Jobs skipped (the destination held the digest, or the version went away).</param>
/// <param name="FailedPermanent">Jobs failed for good.</param>
public sealed record ReplicationPeerStatus(string Peer, long Backlog, int Running, double OldestPendingSeconds, string? LastError, double BytesPerSecond, long Done, long Skipped, long FailedPermanent);

/// <summary>Answer of <c>GET /v1/admin/replication/status</c> (docs/protocol.md, "Administration").</summary>
public sealed record ReplicationStatus(string Site, IReadOnlyList<ReplicationPeerStatus> Peers);
