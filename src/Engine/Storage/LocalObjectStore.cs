using Microsoft.Win32.SafeHandles;
using TurboMft.Engine.Native;

namespace TurboMft.Engine.Storage;

/// <summary>
/// The <see cref="IObjectStore"/> on the local file system: uploads are written in <c>staging/&lt;id&gt;.part</c> and committed
/// durably (fsync, no-replace rename, directory fsync) as immutable objects in <c>objects/ab/cd/&lt;key&gt;</c>; set-aside
/// objects go to <c>orphaned/</c> (docs/operations.md, "Data directory"). Opened as shared (<c>--store dir:</c>, a directory
/// several nodes mount), it is <see cref="ObjectStoreCapabilities.SharedByNodes"/>: staging handles hold nothing between
/// writes and each write is durable when it returns (docs/cluster.md, "Shared object store").
/// </summary>
public sealed class LocalObjectStore : IObjectStore
{
    private const string StagingSuffix = ".part";
    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>
    /// Opens the store at <paramref name="rootPath"/>, creating it and its <c>staging/</c> and <c>objects/</c> directories
    /// (0700 on Unix); <paramref name="shared"/> when other nodes use the same directory at the same time.
    /// </summary>
    public LocalObjectStore(string rootPath, bool shared = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(rootPath);
        Shared = shared;
        RootDirectory = Path.TrimEndingDirectorySeparator(Path.GetFullPath(rootPath));
        StagingDirectory = Path.Combine(RootDirectory, "staging");
        ObjectsDirectory = Path.Combine(RootDirectory, "objects");

        var parent = Path.GetDirectoryName(RootDirectory);
        CreatePrivateDirectory(RootDirectory, parent);
        CreatePrivateDirectory(StagingDirectory, RootDirectory);
        CreatePrivateDirectory(ObjectsDirectory, RootDirectory);
        RestrictToOwner(StagingDirectory);
        RestrictToOwner(ObjectsDirectory);
    }

    /// <summary>True when several nodes use the store at once (<see cref="ObjectStoreCapabilities.SharedByNodes"/>).</summary>
    public bool Shared { get; }

    /// <summary>The store's root directory (absolute).</summary>
    public string RootDirectory { get; }

    /// <summary>Where uploads in progress live.</summary>
    public string StagingDirectory { get; }

    /// <summary>Where committed objects live.</summary>
    public string ObjectsDirectory { get; }

    /// <inheritdoc />
    /// <remarks>A local file is written at any offset and kept across a restart; a commit is one rename.</remarks>
    public ObjectStoreCapabilities Capabilities => ObjectStoreCapabilities.PositionalResume | ObjectStoreCapabilities.AtomicRename
        | (Shared ? ObjectStoreCapabilities.SharedByNodes : ObjectStoreCapabilities.None);

    /// <summary>Bytes free for this process on the store's file system, for disk-full checks before accepting an upload.</summary>
    public long? AvailableFreeSpace => new DriveInfo(RootDirectory).AvailableFreeSpace;

    /// <inheritdoc />
    public string SetAsideLocation => Path.Combine(RootDirectory, "orphaned");

    /// <summary>
    /// The staging file path of upload <paramref name="uploadId"/> (which may not exist). The same id always gives the same
    /// path, so an interrupted upload is found and resumed after a restart.
    /// </summary>
    public string GetStagingPath(Guid uploadId)
    {
        if (uploadId == Guid.Empty)
        {
            throw new ArgumentException("upload id must not be empty.", nameof(uploadId));
        }

        return Path.Combine(StagingDirectory, uploadId.ToString("N") + StagingSuffix);
    }

    /// <inheritdoc />
    /// <remarks>
    /// The file is created 0600, open for writing and shared for reading; on failure nothing is left. Shared, the space is
    /// checked rather than reserved (a slotted container's holes stay holes) and the handle is closed at once.
    /// </remarks>
    public IStagedObject CreateStaging(Guid id, long reserveBytes = 0)
    {
        if (!Shared)
        {
            return LocalObjectFile.CreateNew(GetStagingPath(id), reserveBytes, id);
        }

        var path = GetStagingPath(id);
        if (reserveBytes > 0 && AvailableFreeSpace is { } free && free < reserveBytes)
        {
            const int NoSpace = 28; // ENOSPC, as a failed fallocate reports it
            throw new DiskFullException(path, reserveBytes, NoSpace);
        }

        LocalObjectFile.CreateNew(path, 0, id).Dispose();
        DurableFileSystem.FlushDirectory(StagingDirectory);
        return new SharedStagingFile(path, id);
    }

    /// <inheritdoc />
    public IStagedObject? OpenStaging(Guid id)
    {
        var path = GetStagingPath(id);
        if (Shared)
        {
            return File.Exists(path) ? new SharedStagingFile(path, id) : null;
        }

        try
        {
            return LocalObjectFile.OpenForWriting(path, id);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public bool StagingExists(Guid id) => File.Exists(GetStagingPath(id));

    /// <inheritdoc />
    /// <remarks>The files <c>staging/&lt;id&gt;.part</c> whose name is an upload id, as the store names them.</remarks>
    public IEnumerable<StagingEntry> ListStaging()
    {
        foreach (var path in Directory.EnumerateFiles(StagingDirectory, "*" + StagingSuffix))
        {
            if (Guid.TryParseExact(Path.GetFileNameWithoutExtension(path), "N", out var id))
            {
                yield return new StagingEntry(id, path, new DateTimeOffset(File.GetLastWriteTimeUtc(path), TimeSpan.Zero));
            }
        }
    }

    /// <inheritdoc />
    public bool AbortStaging(Guid id)
    {
        var path = GetStagingPath(id);
        if (!File.Exists(path))
        {
            return false;
        }

        File.Delete(path);
        DurableFileSystem.FlushDirectory(StagingDirectory);
        return true;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Flushes the file, moves it into the objects tree without replacing anything, and flushes the directories involved, so
    /// the object survives a crash or power loss. A file a writer still holds is refused (an <see cref="IOException"/>).
    /// </remarks>
    public void Commit(Guid stagingId, string objectKey)
    {
        var destination = GetObjectPath(objectKey);
        var source = GetStagingPath(stagingId);
        if (File.Exists(destination))
        {
            throw ObjectExists(objectKey, destination);
        }

        FlushStagingFile(source);
        var shard = MoveIntoObjects(source, objectKey, destination);
        DurableFileSystem.FlushDirectory(shard);
        DurableFileSystem.FlushDirectory(StagingDirectory);
    }

    /// <inheritdoc />
    /// <remarks>
    /// One file-system flush makes every staging file durable before any move, one more makes the moves durable, instead of
    /// four flushes per file (staging written without a flush of its own is fine). Not atomic: a failure part-way leaves the
    /// objects moved so far in place and the rest in staging.
    /// </remarks>
    public void CommitMany(IReadOnlyList<(Guid StagingId, string ObjectKey)> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count == 0)
        {
            return;
        }

        foreach (var (stagingId, _) in items)
        {
            Stamp(GetStagingPath(stagingId));
        }

        DurableFileSystem.FlushFileSystem(StagingDirectory);
        foreach (var (stagingId, objectKey) in items)
        {
            var destination = GetObjectPath(objectKey);
            var source = GetStagingPath(stagingId);
            if (!File.Exists(source))
            {
                throw StagingNotFound(source);
            }

            MoveIntoObjects(source, objectKey, destination);
        }

        DurableFileSystem.FlushFileSystem(StagingDirectory);
    }

    /// <inheritdoc />
    public IRandomAccessObject OpenRead(string key) => LocalObjectFile.OpenForReading(GetObjectPath(key));

    /// <summary>Moves a staging file to <paramref name="destination"/>, creating its shard directories; returns the shard.</summary>
    private string MoveIntoObjects(string source, string objectKey, string destination)
    {
        var shard = Path.GetDirectoryName(destination)!;
        CreatePrivateDirectory(Path.GetDirectoryName(shard)!, ObjectsDirectory);
        CreatePrivateDirectory(shard, Path.GetDirectoryName(shard)!);

        // An exists check before is only for a clear early error; this atomic no-replace move is what keeps objects immutable.
        if (!DurableFileSystem.TryMoveNoReplace(source, destination))
        {
            throw ObjectExists(objectKey, destination);
        }

        return shard;
    }

    /// <summary>The path of object <paramref name="key"/> (which may not exist): <c>objects/</c> + first two characters + next two + key.</summary>
    /// <exception cref="ArgumentException">The key is not valid; no key can name a path outside the objects tree.</exception>
    public string GetObjectPath(string key)
    {
        ObjectKeys.ThrowIfInvalid(key);
        return Path.Combine(ObjectsDirectory, key[..2], key[2..4], key);
    }

    /// <inheritdoc />
    public bool Exists(string key) => File.Exists(GetObjectPath(key));

    /// <inheritdoc />
    public long? LengthOf(string key)
    {
        var file = new FileInfo(GetObjectPath(key));
        return file.Exists ? file.Length : null;
    }

    /// <inheritdoc />
    /// <remarks>The file's last-write time, which <see cref="Commit"/> and <see cref="CommitMany"/> set just before the move (a rename keeps it).</remarks>
    public DateTimeOffset? CommittedAt(string key)
    {
        var file = new FileInfo(GetObjectPath(key));
        return file.Exists ? new DateTimeOffset(file.LastWriteTimeUtc, TimeSpan.Zero) : null;
    }

    /// <summary>Sets a staging file's last-write time to now before its move into the objects tree: the object's commit time.</summary>
    private static void Stamp(string stagingPath)
    {
        try
        {
            File.SetLastWriteTimeUtc(stagingPath, DateTime.UtcNow);
        }
        catch (FileNotFoundException)
        {
            // Gone: the move below reports it as StagingNotFound.
        }
    }

    /// <inheritdoc />
    /// <remarks>The file names under <c>objects/xx/yy/</c> that are valid keys.</remarks>
    public IEnumerable<string> ListObjects() =>
        Directory.EnumerateFiles(ObjectsDirectory, "*", new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 2, AttributesToSkip = 0 })
            .Select(Path.GetFileName)
            .Where(ObjectKeys.IsValid)!;

    /// <inheritdoc />
    /// <remarks>Into <c>orphaned/</c> beside <c>objects/</c>; returns the new path.</remarks>
    public string SetAside(string key)
    {
        var source = GetObjectPath(key);
        var orphaned = SetAsideLocation;
        CreatePrivateDirectory(orphaned, RootDirectory);
        var destination = Path.Combine(orphaned, key);
        if (!DurableFileSystem.TryMoveNoReplace(source, destination))
        {
            throw new StorageException(StorageError.ObjectExists, destination, $"cannot set {key} aside: '{destination}' exists already; the container stays in objects/.");
        }

        DurableFileSystem.FlushDirectory(orphaned);
        DurableFileSystem.FlushDirectory(Path.GetDirectoryName(source)!);
        return destination;
    }

    /// <inheritdoc />
    public bool Delete(string key)
    {
        var path = GetObjectPath(key);
        if (!File.Exists(path))
        {
            return false;
        }

        File.Delete(path);
        DurableFileSystem.FlushDirectory(Path.GetDirectoryName(path)!);
        return true;
    }

    private static StorageException StagingNotFound(string path, Exception? inner = null) =>
        new(StorageError.StagingNotFound, path, $"staging file not found: {path}; the upload was aborted or already committed, start a new upload.", inner);

    private static void FlushStagingFile(string path)
    {
        SafeFileHandle handle;
        try
        {
            // Exclusive open: fails while a writer still holds the staging file, so a half-written upload is never committed.
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        }
        catch (FileNotFoundException e)
        {
            throw StagingNotFound(path, e);
        }

        using (handle)
        {
            // The object's commit time (CommittedAt): the move that follows keeps it.
            File.SetLastWriteTimeUtc(handle, DateTime.UtcNow);
            RandomAccess.FlushToDisk(handle);
        }
    }

    private static StorageException ObjectExists(string key, string path) =>
        new(
            StorageError.ObjectExists,
            path,
            $"object already exists: {key} at {path}; objects are immutable, commit the new version under a new key.");

    private static void CreatePrivateDirectory(string path, string? parent)
    {
        if (Directory.Exists(path))
        {
            return;
        }

        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, OwnerOnlyDirectory);
        }

        // A new directory entry is durable only once its parent is flushed.
        if (parent is not null)
        {
            DurableFileSystem.FlushDirectory(parent);
        }
    }

    private static void RestrictToOwner(string directory)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(directory, OwnerOnlyDirectory);
        }
    }
}
