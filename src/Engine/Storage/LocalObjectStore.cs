using Microsoft.Win32.SafeHandles;
using TurboMft.Engine.Native;

namespace TurboMft.Engine.Storage;

/// <summary>
/// Object store on the local file system: uploads are written in <c>staging/</c> and committed durably
/// (fsync, no-replace rename, directory fsync) as immutable objects in <c>objects/ab/cd/&lt;key&gt;</c>.
/// </summary>
public sealed class LocalObjectStore
{
    /// <summary>Shortest valid object key.</summary>
    public const int MinKeyLength = 8;

    /// <summary>Longest valid object key.</summary>
    public const int MaxKeyLength = 128;

    private const string StagingSuffix = ".part";
    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Opens the store at <paramref name="rootPath"/>, creating it and its <c>staging/</c> and <c>objects/</c> directories (0700 on Unix).</summary>
    public LocalObjectStore(string rootPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(rootPath);
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

    /// <summary>The store's root directory (absolute).</summary>
    public string RootDirectory { get; }

    /// <summary>Where uploads in progress live.</summary>
    public string StagingDirectory { get; }

    /// <summary>Where committed objects live.</summary>
    public string ObjectsDirectory { get; }

    /// <summary>Bytes free for this process on the store's file system, for disk-full checks before accepting an upload.</summary>
    public long AvailableFreeSpace => new DriveInfo(RootDirectory).AvailableFreeSpace;

    /// <summary>True when <paramref name="key"/> is a valid object key: 8 to 128 of <c>0-9 a-z -</c>, not starting with '-'.</summary>
    public static bool IsValidKey(string? key) => key is not null && DescribeInvalidKey(key) is null;

    /// <summary>
    /// The staging file path for an upload (the file is not created). The same id always gives the same path, so an
    /// interrupted upload can be found and resumed after a restart.
    /// </summary>
    public string CreateStagingPath(Guid uploadId)
    {
        if (uploadId == Guid.Empty)
        {
            throw new ArgumentException("upload id must not be empty.", nameof(uploadId));
        }

        return Path.Combine(StagingDirectory, uploadId.ToString("N") + StagingSuffix);
    }

    /// <summary>
    /// Opens (creating if needed, mode 0600) a staging file for positional reads and writes, exclusively: close it before
    /// <see cref="Commit"/>. When <paramref name="reserveBytes"/> exceeds the file's length, the space is reserved now and the file
    /// grows to that length, so a full disk fails here rather than half-way; set the final length before committing if it differs.
    /// </summary>
    /// <exception cref="StorageException">With <see cref="StorageError.DiskFull"/> when the space cannot be reserved.</exception>
    public SafeFileHandle OpenStaging(string stagingPath, long reserveBytes = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(reserveBytes);
        var path = ResolveStagingPath(stagingPath);
        var created = !File.Exists(path);
        var handle = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        try
        {
            if (created && !OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(handle, OwnerOnlyFile);
            }

            if (reserveBytes > RandomAccess.GetLength(handle))
            {
                FileHints.TryPreallocate(handle, reserveBytes);
            }

            return handle;
        }
        catch (DiskFullException e)
        {
            handle.Dispose();
            if (created)
            {
                File.Delete(path);
            }

            throw new StorageException(
                StorageError.DiskFull,
                path,
                $"{e.Message}; free space under {RootDirectory} ({AvailableFreeSpace} bytes available) or retry the upload later.",
                e);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>The staging files of uploads in progress (full paths), for resume and cleanup after a restart.</summary>
    public IEnumerable<string> ListStaging() => Directory.EnumerateFiles(StagingDirectory, "*" + StagingSuffix);

    /// <summary>Deletes a staging file (durably); returns false when it did not exist.</summary>
    public bool AbortStaging(string stagingPath)
    {
        var path = ResolveStagingPath(stagingPath);
        if (!File.Exists(path))
        {
            return false;
        }

        File.Delete(path);
        DurableFileSystem.FlushDirectory(StagingDirectory);
        return true;
    }

    /// <summary>
    /// Makes a staging file the immutable object <paramref name="objectKey"/>: flushes the file, moves it into the objects tree
    /// without replacing anything, and flushes the directories involved, so the object survives a crash or power loss.
    /// </summary>
    /// <returns>The object's path.</returns>
    /// <exception cref="StorageException">
    /// <see cref="StorageError.ObjectExists"/> when the key is taken (the staging file is left as it was);
    /// <see cref="StorageError.StagingNotFound"/> when the staging file is gone.
    /// </exception>
    public string Commit(string stagingPath, string objectKey)
    {
        var destination = GetObjectPath(objectKey);
        var source = ResolveStagingPath(stagingPath);
        if (File.Exists(destination))
        {
            throw ObjectExists(objectKey, destination);
        }

        FlushStagingFile(source);
        var shard = MoveIntoObjects(source, objectKey, destination);
        DurableFileSystem.FlushDirectory(shard);
        DurableFileSystem.FlushDirectory(StagingDirectory);
        return destination;
    }

    /// <summary>
    /// <see cref="Commit"/> for many staging files at once (a batch of small files): one file-system flush makes every
    /// staging file durable before any move, one more makes the moves durable, instead of four flushes per file. The
    /// staging files must be closed (written with <c>flushToDisk: false</c> is fine). A failure part-way leaves the objects
    /// moved so far in place and the rest in staging; the caller aborts what it no longer needs.
    /// </summary>
    /// <exception cref="StorageException">As <see cref="Commit"/>.</exception>
    public void CommitMany(IReadOnlyList<(string StagingPath, string ObjectKey)> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count == 0)
        {
            return;
        }

        DurableFileSystem.FlushFileSystem(StagingDirectory);
        foreach (var (stagingPath, objectKey) in items)
        {
            var destination = GetObjectPath(objectKey);
            var source = ResolveStagingPath(stagingPath);
            if (!File.Exists(source))
            {
                throw StagingNotFound(source);
            }

            MoveIntoObjects(source, objectKey, destination);
        }

        DurableFileSystem.FlushFileSystem(StagingDirectory);
    }

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
        ThrowIfInvalidKey(key);
        return Path.Combine(ObjectsDirectory, key[..2], key[2..4], key);
    }

    /// <summary>True when object <paramref name="key"/> is committed.</summary>
    public bool Exists(string key) => File.Exists(GetObjectPath(key));

    /// <summary>The keys of the committed objects (file names under <c>objects/xx/yy/</c>), in no order.</summary>
    public IEnumerable<string> ListObjects() =>
        Directory.EnumerateFiles(ObjectsDirectory, "*", new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 2, AttributesToSkip = 0 })
            .Select(Path.GetFileName)
            .Where(IsValidKey)!;

    /// <summary>
    /// Moves object <paramref name="key"/> out of the store into <c>orphaned/</c> beside <c>objects/</c> (kept, not
    /// deleted: an operator decides), durably; returns the new path.
    /// </summary>
    public string SetAside(string key)
    {
        var source = GetObjectPath(key);
        var orphaned = Path.Combine(RootDirectory, "orphaned");
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

    /// <summary>Deletes object <paramref name="key"/> durably; returns false when it did not exist.</summary>
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

    private static void ThrowIfInvalidKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var problem = DescribeInvalidKey(key);
        if (problem is not null)
        {
            throw new ArgumentException(problem, nameof(key));
        }
    }

    private static string? DescribeInvalidKey(string key)
    {
        for (var i = 0; i < key.Length; i++)
        {
            var c = key[i];
            if (!char.IsAsciiDigit(c) && !char.IsAsciiLetterLower(c) && c != '-')
            {
                // The character is shown as a code point only, so a key cannot inject control characters into logs.
                return $"object key has an invalid character U+{(int)c:X4} at position {i}; only 0-9, a-z and '-' are allowed.";
            }
        }

        if (key.Length is < MinKeyLength or > MaxKeyLength)
        {
            return $"object key must be {MinKeyLength} to {MaxKeyLength} characters long, not {key.Length}.";
        }

        if (key[0] == '-')
        {
            // A leading '-' would turn object files into options for the operator's shell tools.
            return "object key must not start with '-'.";
        }

        return null;
    }

    private string ResolveStagingPath(string stagingPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(stagingPath);
        var path = Path.GetFullPath(stagingPath);
        if (!string.Equals(Path.GetDirectoryName(path), StagingDirectory, StringComparison.Ordinal)
            || !path.EndsWith(StagingSuffix, StringComparison.Ordinal))
        {
            throw new ArgumentException(
                $"'{stagingPath}' is not a staging file of the store at {RootDirectory}; get one from CreateStagingPath.",
                nameof(stagingPath));
        }

        return path;
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
