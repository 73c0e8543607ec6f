using TurboMft.Engine.Integrity;
using TurboMft.Engine.Storage;

namespace TurboMft.Host.Metadata;

/// <summary>
/// What an <see cref="IMetadataStore"/> provider checks before it touches its database (canonical paths, ids, digests,
/// sizes), and the typed errors about uploads, worded alike whatever the provider.
/// </summary>
internal static class MetadataArguments
{
    /// <summary>Checks a new upload session.</summary>
    public static void ValidateUpload(UploadSession upload)
    {
        ArgumentNullException.ThrowIfNull(upload);
        RequireId(upload.Id, nameof(upload));
        RequireCanonicalPath(upload.Path, allowRoot: false, nameof(upload));
        ArgumentOutOfRangeException.ThrowIfNegative(upload.Size, nameof(upload));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(upload.ChunkSize, nameof(upload));
        if (upload.VerifyMode is not (UploadSession.FastVerify or UploadSession.Sha256Verify))
        {
            throw new ArgumentException($"Verify mode '{upload.VerifyMode}' is unknown; use \"fast\" or \"sha256\".", nameof(upload));
        }

        ArgumentException.ThrowIfNullOrEmpty(upload.StagingPath, nameof(upload));
        if (upload.State != UploadState.Open)
        {
            throw new ArgumentException($"A new upload must be Open, not {upload.State}.", nameof(upload));
        }
    }

    /// <summary>Checks a chunk receipt.</summary>
    public static void ValidateChunk(ChunkReceipt chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        ArgumentOutOfRangeException.ThrowIfNegative(chunk.Index, nameof(chunk));
        ArgumentOutOfRangeException.ThrowIfNegative(chunk.Offset, nameof(chunk));
        ArgumentOutOfRangeException.ThrowIfNegative(chunk.StoredLength, nameof(chunk));
        ArgumentOutOfRangeException.ThrowIfNegative(chunk.PlainLength, nameof(chunk));
        if (chunk.Sha256 is not { Length: 32 })
        {
            throw new ArgumentException($"Chunk {chunk.Index} of upload {chunk.UploadId}: the SHA-256 must be 32 bytes.", nameof(chunk));
        }
    }

    /// <summary>Checks a version to commit.</summary>
    public static void ValidateVersion(FileVersion version)
    {
        ArgumentNullException.ThrowIfNull(version);
        _ = version.State.ToName();
        RequireId(version.VersionId, nameof(version));
        RequireCanonicalPath(version.Path, allowRoot: false, nameof(version));
        ArgumentOutOfRangeException.ThrowIfNegative(version.Size, nameof(version));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(version.ChunkSize, nameof(version));
        if (version.Digest is null || !version.Digest.StartsWith("sha256-tree:", StringComparison.Ordinal))
        {
            throw new ArgumentException($"The digest of '{version.Path}' must be a \"sha256-tree:…\" digest.", nameof(version));
        }

        if (version.Sha256 is not null && !version.Sha256.StartsWith(WholeFileSha256.Prefix, StringComparison.Ordinal))
        {
            throw new ArgumentException($"The SHA-256 of '{version.Path}' must be a \"sha256:…\" digest or null.", nameof(version));
        }

        ArgumentException.ThrowIfNullOrEmpty(version.ObjectKey, nameof(version));
    }

    /// <summary>Checks the versions of one batch: each valid, no path twice.</summary>
    public static void ValidateBatch(IReadOnlyList<FileVersion> versions)
    {
        ArgumentNullException.ThrowIfNull(versions);
        var paths = new HashSet<string>(StringComparer.Ordinal);
        foreach (var version in versions)
        {
            ValidateVersion(version);
            if (!paths.Add(version.Path))
            {
                throw new ArgumentException($"'{version.Path}' appears twice in one batch.", nameof(versions));
            }
        }
    }

    /// <summary>Checks a decision's reason.</summary>
    public static void ValidateChange(ReleaseStateChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        if (change.Decision?.Reason is { Length: > ReleaseDecision.MaxReasonLength })
        {
            throw new ArgumentException($"A reason has at most {ReleaseDecision.MaxReasonLength} characters.", nameof(change));
        }
    }

    /// <summary>Only canonical paths enter a database, so that equality and prefix ranges are plain ordinal comparisons.</summary>
    public static RemotePath RequireCanonicalPath(string path, bool allowRoot, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(path, parameterName);
        var parsed = RemotePath.Parse(path, allowRoot);
        if (!string.Equals(parsed.Value, path, StringComparison.Ordinal))
        {
            throw new ArgumentException($"The path '{path}' is not canonical; pass RemotePath.Value ('{parsed.Value}').", parameterName);
        }

        return parsed;
    }

    /// <summary>The stored name of a scan outcome.</summary>
    public static string OutcomeText(ScanOutcome outcome) => outcome switch
    {
        ScanOutcome.Clean => "clean",
        ScanOutcome.Infected => "infected",
        ScanOutcome.Error => "error",
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "Unknown scan outcome."),
    };

    /// <summary>A scan outcome from its stored name.</summary>
    public static ScanOutcome ParseOutcome(string text) => text switch
    {
        "clean" => ScanOutcome.Clean,
        "infected" => ScanOutcome.Infected,
        "error" => ScanOutcome.Error,
        _ => throw new FormatException($"'{text}' is not a scan outcome."),
    };

    /// <summary>No upload has the id.</summary>
    public static MetadataException UploadNotFound(Guid uploadId) =>
        new(MetadataError.UploadNotFound, $"Upload {uploadId} does not exist; start a new upload.");

    /// <summary>The upload left open; <paramref name="what"/> says what it cannot do now.</summary>
    public static MetadataException UploadNotOpen(Guid uploadId, UploadState state, string what) =>
        new(MetadataError.UploadNotOpen, $"Upload {uploadId} is {state} and {what}; start a new upload.");

    /// <summary>The version id is taken.</summary>
    public static MetadataException VersionExists(FileVersion version) =>
        new(MetadataError.VersionExists, $"Version {version.VersionId} of '{version.Path}' is already committed.");

    /// <summary>The version is for another path than its upload.</summary>
    public static MetadataException PathMismatch(Guid uploadId, string uploadPath, string versionPath) =>
        new(MetadataError.UploadPathMismatch, $"Upload {uploadId} is for '{uploadPath}' but the version being committed is for '{versionPath}'.");

    private static void RequireId(Guid id, string parameterName)
    {
        if (id == Guid.Empty)
        {
            throw new ArgumentException("The id must not be the empty GUID.", parameterName);
        }
    }
}
