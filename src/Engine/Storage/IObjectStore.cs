namespace TurboMft.Engine.Storage;

/// <summary>
/// The object store port (docs/architecture.md, "Ports"): uploads are written into staged objects the store hands out, and
/// committed as immutable objects under keys (<see cref="ObjectKeys"/>), which are read back through random-access handles.
/// Callers see handles and keys, never where the store keeps them; what a store can do beyond the minimum is in
/// <see cref="Capabilities"/>. Thread-safe.
/// </summary>
public interface IObjectStore
{
    /// <summary>What this store can do beyond the minimum.</summary>
    ObjectStoreCapabilities Capabilities { get; }

    /// <summary>Bytes free for new uploads, for disk-full checks; null when the store has no bound of its own.</summary>
    long? AvailableFreeSpace { get; }

    /// <summary>Where <see cref="SetAside"/> keeps objects, as an operator finds them (for logs and audit records).</summary>
    string SetAsideLocation { get; }

    /// <summary>
    /// Creates the staging of upload <paramref name="id"/> (never an existing one) and opens it for writing. When
    /// <paramref name="reserveBytes"/> is positive, the space is reserved now, so a full disk fails here rather than
    /// half-way. The handle is the caller's: dispose it before <see cref="Commit"/>.
    /// </summary>
    /// <exception cref="IOException">The staging exists already, or (<c>DiskFullException</c>) the space cannot be reserved.</exception>
    IStagedObject CreateStaging(Guid id, long reserveBytes = 0);

    /// <summary>
    /// Reopens the staging of upload <paramref name="id"/> to continue writing it (after a restart); null when it is gone.
    /// Only with <see cref="ObjectStoreCapabilities.PositionalResume"/>.
    /// </summary>
    /// <exception cref="NotSupportedException">The store cannot reopen staging.</exception>
    IStagedObject? OpenStaging(Guid id);

    /// <summary>True when upload <paramref name="id"/> has staging (neither committed nor aborted).</summary>
    bool StagingExists(Guid id);

    /// <summary>The staging of uploads in progress, for resume and cleanup after a restart.</summary>
    IEnumerable<StagingEntry> ListStaging();

    /// <summary>Removes the staging of upload <paramref name="id"/> durably; false when there was none.</summary>
    bool AbortStaging(Guid id);

    /// <summary>
    /// Makes the staging of upload <paramref name="stagingId"/> (closed by its writer) the immutable object
    /// <paramref name="objectKey"/>, durably, without replacing anything.
    /// </summary>
    /// <exception cref="StorageException">
    /// <see cref="StorageError.ObjectExists"/> when the key is taken (the staging is left as it was);
    /// <see cref="StorageError.StagingNotFound"/> when the staging is gone.
    /// </exception>
    /// <exception cref="ArgumentException">The key is not valid.</exception>
    void Commit(Guid stagingId, string objectKey);

    /// <summary>
    /// <see cref="Commit"/> for many staged objects at once (a batch of small files), with fewer flushes than one commit
    /// each. With <see cref="ObjectStoreCapabilities.AtomicCommitMany"/> a failure commits none of them; without it, a
    /// failure part-way leaves each one either committed or still staged, and the caller aborts what it no longer needs.
    /// </summary>
    /// <exception cref="StorageException">As <see cref="Commit"/>.</exception>
    void CommitMany(IReadOnlyList<(Guid StagingId, string ObjectKey)> items);

    /// <summary>Opens committed object <paramref name="key"/> for reads at any offset, from any number of threads.</summary>
    /// <exception cref="FileNotFoundException">No object has that key.</exception>
    IRandomAccessObject OpenRead(string key);

    /// <summary>True when object <paramref name="key"/> is committed.</summary>
    bool Exists(string key);

    /// <summary>The bytes of object <paramref name="key"/>; null when it is not committed.</summary>
    long? LengthOf(string key);

    /// <summary>
    /// When object <paramref name="key"/> got its key (committed), by the store's clock; null when it is not committed. A
    /// sweep of objects that nothing names spares the young ones, which another node may be committing.
    /// </summary>
    DateTimeOffset? CommittedAt(string key);

    /// <summary>The keys of the committed objects, in no order.</summary>
    IEnumerable<string> ListObjects();

    /// <summary>
    /// Moves object <paramref name="key"/> out of the store to <see cref="SetAsideLocation"/> (kept, not deleted: an
    /// operator decides), durably; returns where it is now.
    /// </summary>
    /// <exception cref="StorageException"><see cref="StorageError.ObjectExists"/> when an object of that key was set aside already.</exception>
    string SetAside(string key);

    /// <summary>Deletes object <paramref name="key"/> durably; false when it did not exist.</summary>
    bool Delete(string key);
}

/// <summary>The staging of an upload in progress, as <see cref="IObjectStore.ListStaging"/> finds it.</summary>
/// <param name="Id">The upload.</param>
/// <param name="Name">Where the store keeps it, for logs.</param>
/// <param name="LastWritten">When it was last written.</param>
public sealed record StagingEntry(Guid Id, string Name, DateTimeOffset LastWritten);
