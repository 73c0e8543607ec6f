namespace TurboMft.Engine.Protocol;

// The JSON bodies of /v1/quarantine and /v1/approvals (docs/protocol.md, "Quarantine" and "Approvals"), shared by the
// server's endpoints and TurboMftReleaseClient. States and outcomes travel as their lower-case names, times as ISO 8601 UTC.

/// <summary>One scanner's recorded verdict on a version, in held versions and in a quarantined commit's findings (docs/protocol.md, "Quarantine", "Release states in answers").</summary>
/// <param name="Scanner">Scanner name, e.g. <c>clamav</c>.</param>
/// <param name="ScannerVersion">Its version (for ClamAV: engine and signature database).</param>
/// <param name="Outcome"><c>clean</c>, <c>infected</c> or <c>error</c>.</param>
/// <param name="Finding">What it found, e.g. <c>Eicar-Signature</c>; null when clean.</param>
/// <param name="Detail">Short explanation, if any.</param>
/// <param name="ScannedAt">When the scan finished.</param>
public sealed record VerdictView(string Scanner, string ScannerVersion, string Outcome, string? Finding, string? Detail, DateTimeOffset? ScannedAt);

/// <summary>The last decision about a held version (docs/protocol.md, "Quarantine").</summary>
/// <param name="Decision"><c>approved</c>, <c>rejected</c>, <c>expired</c> or <c>released-from-quarantine</c>.</param>
/// <param name="By">Who decided: a user, <c>peer:NAME</c> or <c>system</c>.</param>
/// <param name="Reason">The reason given.</param>
/// <param name="At">When.</param>
public sealed record DecisionView(string Decision, string? By, string? Reason, DateTimeOffset At);

/// <summary>A file version held back from release (quarantined, or pending approval), or the answer to a decision about one (docs/protocol.md, "Quarantine" and "Approvals").</summary>
/// <param name="VersionId">The version's id (what approve, reject, release and delete take).</param>
/// <param name="Path">Its remote path.</param>
/// <param name="Size">Bytes.</param>
/// <param name="Digest">Its <c>sha256-tree:…</c>.</param>
/// <param name="State"><c>pending-scan</c>, <c>released</c>, <c>quarantined</c>, <c>pending-approval</c> or <c>rejected</c>.</param>
/// <param name="UploadedBy">Who committed it (user, <c>peer:NAME</c>), if known.</param>
/// <param name="CommittedAt">When it was committed.</param>
/// <param name="Current">False when a newer version of the path was committed since (a quarantined version is kept as evidence).</param>
/// <param name="ApprovalExpiresAt">While pending approval: when it is rejected automatically; null when never.</param>
/// <param name="Verdicts">The scanners' recorded verdicts, oldest first.</param>
/// <param name="Decision">The last decision, if any.</param>
public sealed record HeldVersionView(
    Guid VersionId,
    string Path,
    long Size,
    string Digest,
    string State,
    string? UploadedBy,
    DateTimeOffset CommittedAt,
    bool Current,
    DateTimeOffset? ApprovalExpiresAt,
    IReadOnlyList<VerdictView> Verdicts,
    DecisionView? Decision);

/// <summary>Answer of <c>GET /v1/quarantine</c> and <c>GET /v1/approvals</c> (docs/protocol.md, "Quarantine" and "Approvals").</summary>
public sealed record HeldVersionList(IReadOnlyList<HeldVersionView> Versions);

/// <summary>Body of <c>POST /v1/approvals/{id}/approve</c> (reason optional), <c>/reject</c> and <c>POST /v1/quarantine/{id}/release</c> (reason required; docs/protocol.md, "Approvals").</summary>
public sealed record ReleaseReasonRequest(string? Reason);
