namespace TurboMft.Host.Metadata;

/// <summary>Where a committed file version stands between upload and release (docs/content-security.md, "Release states").</summary>
public enum ReleaseState
{
    /// <summary>Committed, not yet scanned (or held because a scanner could not decide).</summary>
    PendingScan,

    /// <summary>Scanned clean (and approved where required): downloadable, listed, replicable.</summary>
    Released,

    /// <summary>A scanner found something: kept encrypted, downloadable by nobody until an admin releases or deletes it.</summary>
    Quarantined,

    /// <summary>Scanned clean; waiting for a second person's approval.</summary>
    PendingApproval,

    /// <summary>Approval refused or expired.</summary>
    Rejected,
}
