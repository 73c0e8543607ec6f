namespace TurboMft.Host.Metadata;

/// <summary>What went wrong in the metadata store, so a caller can map it to a response without parsing messages.</summary>
public enum MetadataError
{
    /// <summary>No upload has that id.</summary>
    UploadNotFound,

    /// <summary>An upload with that id already exists.</summary>
    UploadExists,

    /// <summary>The upload is completed, aborted or expired and accepts no more chunks or state changes.</summary>
    UploadNotOpen,

    /// <summary>The version being committed is for another path than its upload.</summary>
    UploadPathMismatch,

    /// <summary>A version with that id already exists.</summary>
    VersionExists,

    /// <summary>The database was written by a newer TurboMft, whose schema this build does not know.</summary>
    SchemaTooNew,
}

/// <summary>A metadata operation that cannot be carried out; the message says which upload, version or file and why.</summary>
public sealed class MetadataException : Exception
{
    /// <summary>Creates the exception for <paramref name="error"/>.</summary>
    public MetadataException(MetadataError error, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Error = error;
    }

    /// <summary>The kind of failure.</summary>
    public MetadataError Error { get; }
}
