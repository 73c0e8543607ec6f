using TurboMft.Engine.Protocol;

namespace TurboMft.Host.Metadata;

/// <summary>One committed version of a remote file: where its container lives and what it must hash to.</summary>
/// <param name="VersionId">Unique id of this version.</param>
/// <param name="Path">The canonical remote path (<c>RemotePath.Value</c>).</param>
/// <param name="Size">Plaintext length in bytes.</param>
/// <param name="ChunkSize">Chunk size the file was cut into, in bytes.</param>
/// <param name="Digest">The chunked digest, <c>sha256-tree:&lt;hex&gt;</c>.</param>
/// <param name="Sha256">The whole-file digest, <c>sha256:&lt;hex&gt;</c>, when it was computed; otherwise null.</param>
/// <param name="ObjectKey">The object store key of the version's container.</param>
/// <param name="CommittedAt">When the version was committed (stored to the millisecond, UTC).</param>
public sealed record FileVersion(
    Guid VersionId,
    string Path,
    long Size,
    int ChunkSize,
    string Digest,
    string? Sha256,
    string ObjectKey,
    DateTimeOffset CommittedAt)
{
    /// <summary>
    /// Where the version stands between upload and release (docs/content-security.md, "Release states"). A new version
    /// starts <see cref="ReleaseState.PendingScan"/>: nothing is downloadable until the scan service has released it.
    /// </summary>
    public ReleaseState State { get; init; } = ReleaseState.PendingScan;

    /// <summary>Who committed it: a user name, or <c>peer:NAME</c> for a peer site; null for versions committed before release states existed.</summary>
    public string? UploadedBy { get; init; }

    /// <summary>When it became <see cref="ReleaseState.Released"/> (to the millisecond); null while it is not released.</summary>
    public DateTimeOffset? ReleasedAt { get; init; }

    /// <summary>While <see cref="ReleaseState.PendingApproval"/>: when it is rejected automatically; null when it waits forever.</summary>
    public DateTimeOffset? ApprovalExpiresAt { get; init; }

    /// <summary>The last human or automatic decision about it (approved, rejected, expired, released from quarantine), if any.</summary>
    public ReleaseDecision? Decision { get; init; }

    /// <summary>
    /// False once a newer version of the path was committed or it was deleted. Only the current version of a path can
    /// be released or downloaded; a superseded quarantined version keeps its container as evidence until an admin deletes it.
    /// </summary>
    public bool IsCurrent { get; init; } = true;

    /// <summary>For a replicated version: where it comes from (docs/replication.md, "Provenance"); null for a local upload.</summary>
    public Provenance? Origin { get; init; }
}

/// <summary>A decision about a held version.</summary>
/// <param name="Decision">One of <see cref="Approved"/>, <see cref="Rejected"/>, <see cref="Expired"/>, <see cref="ReleasedFromQuarantine"/>.</param>
/// <param name="By">Who decided: a user name, <c>peer:NAME</c>, or <c>system</c> for an automatic decision.</param>
/// <param name="Reason">Why, as given (free text, at most <see cref="MaxReasonLength"/> characters).</param>
/// <param name="At">When (to the millisecond).</param>
public sealed record ReleaseDecision(string Decision, string? By, string? Reason, DateTimeOffset At)
{
    /// <summary>A second person approved the version.</summary>
    public const string Approved = "approved";

    /// <summary>An approver rejected the version.</summary>
    public const string Rejected = "rejected";

    /// <summary>The approval expired and the service rejected the version.</summary>
    public const string Expired = "expired";

    /// <summary>An admin released the version from quarantine.</summary>
    public const string ReleasedFromQuarantine = "released-from-quarantine";

    /// <summary>Longest reason kept.</summary>
    public const int MaxReasonLength = 1000;
}

/// <summary>The new state of a version and what goes with it, for <see cref="IMetadataStore.SetReleaseStateAsync"/>.</summary>
/// <param name="State">The new state.</param>
/// <param name="At">When the change happens; becomes <see cref="FileVersion.ReleasedAt"/> when <paramref name="State"/> is released.</param>
public sealed record ReleaseStateChange(ReleaseState State, DateTimeOffset At)
{
    /// <summary>The approval expiry to store (replaces the old one; null clears it).</summary>
    public DateTimeOffset? ApprovalExpiresAt { get; init; }

    /// <summary>The decision to store (replaces the old one; null clears it).</summary>
    public ReleaseDecision? Decision { get; init; }
}

/// <summary>One scanner's verdict as recorded for a version.</summary>
/// <param name="Seq">Its position among the version's recorded verdicts (0, 1, …, across scans).</param>
/// <param name="Verdict">The verdict.</param>
/// <param name="ScannedAt">When the scan that gave it finished (to the millisecond).</param>
public sealed record RecordedVerdict(int Seq, ScanVerdict Verdict, DateTimeOffset ScannedAt);
