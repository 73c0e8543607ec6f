namespace TurboMft.Host.Metadata;

/// <summary>
/// The metadata database: upload sessions, chunk receipts and committed file versions. SQLite embedded
/// (<see cref="SqliteMetadataStore"/>); PostgreSQL when several nodes share one database (docs/architecture.md, "Stores").
/// </summary>
/// <remarks>
/// Paths are canonical <c>RemotePath.Value</c> texts and are compared ordinally (byte-wise): an implementation on
/// PostgreSQL must use <c>COLLATE "C"</c> for the path column so that ordering and prefix ranges match. The current
/// version of a path is the last one committed, unless it was deleted; deleting does not bring back an older version.
/// The current version is downloadable only once its <see cref="FileVersion.State"/> is released (docs/content-security.md,
/// "Release states"); state changes are compare-and-set, so two workers, or an approver and the expiry, cannot both win.
/// </remarks>
public interface IMetadataStore : IAsyncDisposable
{
    /// <summary>Records a new upload session.</summary>
    /// <exception cref="MetadataException">With <see cref="MetadataError.UploadExists"/> when the id is taken.</exception>
    Task CreateUploadAsync(UploadSession upload, CancellationToken cancellationToken = default);

    /// <summary>The upload with <paramref name="uploadId"/>, or null.</summary>
    Task<UploadSession?> GetUploadAsync(Guid uploadId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Moves an open upload to <see cref="UploadState.Aborted"/> or <see cref="UploadState.Expired"/> (completion goes
    /// through <see cref="CommitVersionAsync"/>). Returns false when the upload had already left <see cref="UploadState.Open"/>.
    /// </summary>
    /// <exception cref="MetadataException">With <see cref="MetadataError.UploadNotFound"/>.</exception>
    Task<bool> SetUploadStateAsync(Guid uploadId, UploadState state, CancellationToken cancellationToken = default);

    /// <summary>Moves an open upload's expiry to <paramref name="expiresAt"/> (activity keeps a session alive); false if it is not open.</summary>
    Task<bool> ExtendUploadAsync(Guid uploadId, DateTimeOffset expiresAt, CancellationToken cancellationToken = default);

    /// <summary>Records that a chunk arrived; a re-sent chunk replaces the earlier receipt for the same index.</summary>
    /// <exception cref="MetadataException">With <see cref="MetadataError.UploadNotFound"/> or <see cref="MetadataError.UploadNotOpen"/>.</exception>
    Task RecordChunkAsync(ChunkReceipt chunk, CancellationToken cancellationToken = default);

    /// <summary>The chunk receipts of an upload, by index.</summary>
    Task<IReadOnlyList<ChunkReceipt>> ListChunksAsync(Guid uploadId, CancellationToken cancellationToken = default);

    /// <summary>The receipt of chunk <paramref name="index"/> of an upload; null when it has not been received.</summary>
    Task<ChunkReceipt?> GetChunkAsync(Guid uploadId, long index, CancellationToken cancellationToken = default);

    /// <summary>Open uploads whose expiry is at or before <paramref name="now"/>, oldest expiry first.</summary>
    Task<IReadOnlyList<UploadSession>> ListExpiredUploadsAsync(DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>All open uploads, oldest first (to resume or expire them after a restart).</summary>
    Task<IReadOnlyList<UploadSession>> ListOpenUploadsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// In one durable transaction: makes <paramref name="version"/> the current version of its path and, when
    /// <paramref name="uploadId"/> is given, marks that upload <see cref="UploadState.Completed"/>. The version's
    /// <see cref="FileVersion.State"/>, <see cref="FileVersion.UploadedBy"/> and <see cref="FileVersion.ReleasedAt"/> are stored
    /// as given (the server commits <see cref="ReleaseState.PendingScan"/>). Returns the version it replaced, if any, so the
    /// caller can keep (quarantined: evidence) or delete its object.
    /// </summary>
    /// <exception cref="MetadataException">
    /// With <see cref="MetadataError.VersionExists"/>, <see cref="MetadataError.UploadNotFound"/>,
    /// <see cref="MetadataError.UploadNotOpen"/> or <see cref="MetadataError.UploadPathMismatch"/>; nothing is changed.
    /// </exception>
    Task<FileVersion?> CommitVersionAsync(FileVersion version, Guid? uploadId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Commits several versions of different paths (a batch upload) in one transaction, as <see cref="CommitVersionAsync"/>
    /// would one by one without an upload: all or none. Returns, in order, the version each replaced (or null).
    /// </summary>
    /// <exception cref="MetadataException">With <see cref="MetadataError.VersionExists"/>; nothing is changed.</exception>
    /// <exception cref="ArgumentException">Two versions share a path.</exception>
    Task<IReadOnlyList<FileVersion?>> CommitVersionsAsync(IReadOnlyList<FileVersion> versions, CancellationToken cancellationToken = default);

    /// <summary>The current version of <paramref name="path"/>, in whatever release state, or null when there is none or it was deleted.</summary>
    Task<FileVersion?> GetCurrentVersionAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>
    /// Current versions at or below <paramref name="prefix"/> (a canonical path, or "/" for everything), segment-wise:
    /// "/a/b" lists "/a/b" and "/a/b/…" but not "/a/bc". At most <paramref name="limit"/>, ordered by path, in every
    /// release state (the caller filters by what the reader may see).
    /// </summary>
    Task<IReadOnlyList<FileVersion>> ListCurrentVersionsAsync(string prefix, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Every object key the store may hold for a reason: each version's (every state, current or not), and each open
    /// upload session's id in the <c>N</c> form (a commit interrupted after its rename is finished on resume).
    /// </summary>
    Task<IReadOnlySet<string>> ListReferencedObjectKeysAsync(CancellationToken cancellationToken = default);

    /// <summary>Marks the current version of <paramref name="path"/> deleted and returns it (so the caller can remove its object), or null.</summary>
    Task<FileVersion?> DeleteCurrentVersionAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>The most recently committed current version with this <c>sha256-tree</c> digest, or null (for deduplication).</summary>
    Task<FileVersion?> FindByDigestAsync(string digest, CancellationToken cancellationToken = default);

    /// <summary>The version with this id, current or superseded, or null when there is none or it was deleted.</summary>
    Task<FileVersion?> GetVersionAsync(Guid versionId, CancellationToken cancellationToken = default);

    /// <summary>The versions with these ids that exist and are not deleted, keyed by id (one read for many, e.g. a scan batch).</summary>
    Task<IReadOnlyDictionary<Guid, FileVersion>> GetVersionsAsync(IReadOnlyCollection<Guid> versionIds, CancellationToken cancellationToken = default);

    /// <summary>
    /// Versions in <paramref name="state"/> that are not deleted, oldest commit first, at most <paramref name="limit"/>.
    /// For <see cref="ReleaseState.Quarantined"/> superseded versions are included (their containers are kept as evidence
    /// until an admin deletes them); for every other state only current versions (a superseded one can never be released).
    /// </summary>
    Task<IReadOnlyList<FileVersion>> ListVersionsInStateAsync(ReleaseState state, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Compare-and-set, durably: moves version <paramref name="versionId"/> to <paramref name="change"/>'s state only if it
    /// is not deleted and is in <paramref name="expected"/>; replaces its approval expiry and decision with the change's
    /// and sets (entering released) or clears its release time. Returns false, changing nothing, when it was not in
    /// <paramref name="expected"/> (another worker or person decided first), was deleted or does not exist.
    /// </summary>
    Task<bool> SetReleaseStateAsync(Guid versionId, ReleaseState expected, ReleaseStateChange change, CancellationToken cancellationToken = default);

    /// <summary>Appends one scan's verdicts for a version (after any recorded before), all with <paramref name="scannedAt"/>.</summary>
    Task RecordVerdictsAsync(Guid versionId, IReadOnlyList<ScanVerdict> verdicts, DateTimeOffset scannedAt, CancellationToken cancellationToken = default);

    /// <summary>
    /// For several versions scanned clean, in one durable transaction: appends each one's verdicts (as
    /// <see cref="RecordVerdictsAsync"/>) and moves it from <see cref="ReleaseState.PendingScan"/> to
    /// <see cref="ReleaseState.Released"/> at <paramref name="at"/> (as <see cref="SetReleaseStateAsync"/>). Returns, in
    /// order, whether each was released (false: it had left pending-scan or was deleted meanwhile; its verdicts are kept).
    /// </summary>
    Task<IReadOnlyList<bool>> RecordVerdictsAndReleaseAsync(IReadOnlyList<(Guid VersionId, IReadOnlyList<ScanVerdict> Verdicts)> scans, DateTimeOffset at, CancellationToken cancellationToken = default);

    /// <summary>The verdicts recorded for a version, in order.</summary>
    Task<IReadOnlyList<RecordedVerdict>> ListVerdictsAsync(Guid versionId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Compare-and-set, durably: marks version <paramref name="versionId"/> deleted (and no longer current) only if it is
    /// not deleted and is in <paramref name="expected"/>; returns it as it was, so the caller can remove its object, or null.
    /// </summary>
    Task<FileVersion?> DeleteVersionAsync(Guid versionId, ReleaseState expected, CancellationToken cancellationToken = default);
}
