namespace TurboMft.Engine.Protocol;

/// <summary>The release states of a file version as the protocol names them (docs/protocol.md, "Release states in answers").</summary>
public static class ReleaseStates
{
    /// <summary>Being scanned, or held while a scanner is unavailable.</summary>
    public const string PendingScan = "pending-scan";

    /// <summary>Downloadable.</summary>
    public const string Released = "released";

    /// <summary>A scanner found something; downloadable by nobody until an admin releases it.</summary>
    public const string Quarantined = "quarantined";

    /// <summary>Scanned clean, waiting for a second person's approval.</summary>
    public const string PendingApproval = "pending-approval";

    /// <summary>Approval refused or expired.</summary>
    public const string Rejected = "rejected";
}
