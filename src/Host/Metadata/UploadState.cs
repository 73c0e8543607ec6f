namespace TurboMft.Host.Metadata;

/// <summary>Where an upload session is in its life; the numbers are stored and must not change.</summary>
public enum UploadState
{
    /// <summary>Accepting chunks; resumable after a restart.</summary>
    Open = 0,

    /// <summary>Committed as a file version.</summary>
    Completed = 1,

    /// <summary>Cancelled by the client or an operator.</summary>
    Aborted = 2,

    /// <summary>Left open past its expiry and cleaned up.</summary>
    Expired = 3,
}
