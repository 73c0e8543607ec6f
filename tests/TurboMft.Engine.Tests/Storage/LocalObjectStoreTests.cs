using System.Security.Cryptography;
using TurboMft.Engine.Storage;
using TurboMft.Engine.Tests.Native;

namespace TurboMft.Engine.Tests.Storage;

/// <summary>
/// What only the local store does: its directories, paths and file modes, and the local file system's locking. What every
/// store does is the contract, tests/TurboMft.Host.Tests/Storage/ObjectStoreContract.cs.
/// </summary>
public sealed class LocalObjectStoreTests : IDisposable
{
    private const string Key = "3f2a9c0e1b7d4e55a6c8f0d2b4e6a8c0";
    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private readonly TempDirectory _temp = new();
    private readonly LocalObjectStore _store;

    public LocalObjectStoreTests()
    {
        _store = new LocalObjectStore(_temp.File("data"));
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Construction_creates_private_staging_and_objects_directories()
    {
        Assert.True(Directory.Exists(_store.StagingDirectory));
        Assert.True(Directory.Exists(_store.ObjectsDirectory));
        Assert.Equal(_temp.File("data"), _store.RootDirectory);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(OwnerOnlyDirectory, File.GetUnixFileMode(_store.StagingDirectory));
            Assert.Equal(OwnerOnlyDirectory, File.GetUnixFileMode(_store.ObjectsDirectory));
        }
    }

    [Fact]
    public void A_store_opened_with_a_trailing_separator_is_the_same_store()
    {
        var data = CommitRandomObject(Key, 1000);

        var reopened = new LocalObjectStore(_store.RootDirectory + "/");

        Assert.True(reopened.Exists(Key));
        Assert.Equal(data, File.ReadAllBytes(reopened.GetObjectPath(Key)));
    }

    [Fact]
    public void Staging_path_is_per_upload_and_inside_staging()
    {
        var id = Guid.NewGuid();

        var path = _store.GetStagingPath(id);

        Assert.Equal(Path.Combine(_store.StagingDirectory, id.ToString("N") + ".part"), path);
        Assert.Equal(path, _store.GetStagingPath(id));
        Assert.NotEqual(path, _store.GetStagingPath(Guid.NewGuid()));
        Assert.False(File.Exists(path));
        Assert.Throws<ArgumentException>(() => _store.GetStagingPath(Guid.Empty));
    }

    [Fact]
    public void A_committed_object_lives_in_its_shard_owner_only_and_staging_is_empty()
    {
        var data = RandomNumberGenerator.GetBytes(4096);
        var id = Guid.NewGuid();
        using (var staged = _store.CreateStaging(id))
        {
            staged.Write(data, 0);
            Assert.Equal(_store.GetStagingPath(id), staged.Name);
        }

        _store.Commit(id, Key);

        var objectPath = _store.GetObjectPath(Key);
        Assert.Equal(Path.Combine(_store.ObjectsDirectory, "3f", "2a", Key), objectPath);
        Assert.Equal(data, File.ReadAllBytes(objectPath));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_store.StagingDirectory));
        using (var read = _store.OpenRead(Key))
        {
            Assert.Equal(objectPath, read.Name);
        }

        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(OwnerOnlyDirectory, File.GetUnixFileMode(Path.GetDirectoryName(objectPath)!));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(objectPath));
        }
    }

    [Fact]
    public void A_refused_commit_names_the_file_in_the_way()
    {
        CommitRandomObject(Key, 10);
        var id = Guid.NewGuid();
        File.WriteAllBytes(_store.GetStagingPath(id), [1, 2, 3]);

        var error = Assert.Throws<StorageException>(() => _store.Commit(id, Key));

        Assert.StartsWith("object already exists", error.Message, StringComparison.Ordinal);
        Assert.Equal(_store.GetObjectPath(Key), error.Path);
        var missing = Guid.NewGuid();
        var gone = Assert.Throws<StorageException>(() => _store.Commit(missing, "abcdefgh"));
        Assert.Equal(_store.GetStagingPath(missing), gone.Path);
        Assert.Contains("start a new upload", gone.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Key_errors_say_what_is_wrong()
    {
        Assert.Contains("U+002E at position 0", Assert.Throws<ArgumentException>(() => _store.GetObjectPath("../x")).Message, StringComparison.Ordinal);
        Assert.Contains("U+002F at position 1", Assert.Throws<ArgumentException>(() => _store.GetObjectPath("a/b")).Message, StringComparison.Ordinal);
        Assert.Contains("U+0041", Assert.Throws<ArgumentException>(() => _store.GetObjectPath("A")).Message, StringComparison.Ordinal);
        Assert.Contains("8 to 128 characters long, not 0", Assert.Throws<ArgumentException>(() => _store.GetObjectPath("")).Message, StringComparison.Ordinal);
        Assert.Contains("not 129", Assert.Throws<ArgumentException>(() => _store.GetObjectPath(new string('a', 129))).Message, StringComparison.Ordinal);
        Assert.Contains("must not start with '-'", Assert.Throws<ArgumentException>(() => _store.GetObjectPath("-abcdefgh")).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentNullException>(() => _store.GetObjectPath(null!));
    }

    [Theory]
    [InlineData("abcdefgh")]
    [InlineData("0000-0000")]
    [InlineData("a-------")]
    public void Keys_at_the_edges_are_accepted(string key)
    {
        Assert.True(ObjectKeys.IsValid(key));
        Assert.StartsWith(_store.ObjectsDirectory, _store.GetObjectPath(key), StringComparison.Ordinal);
        Assert.True(ObjectKeys.IsValid(new string('z', 128)));
    }

    [Fact]
    public void Commit_refuses_a_staging_file_that_is_still_open()
    {
        Assert.SkipWhen(Environment.GetEnvironmentVariable("DOTNET_SYSTEM_IO_DISABLEFILELOCKING") is "1" or "true", "file locking disabled");
        var id = Guid.NewGuid();
        using var staged = _store.CreateStaging(id);

        Assert.ThrowsAny<IOException>(() => _store.Commit(id, Key));

        Assert.True(File.Exists(_store.GetStagingPath(id)));
        Assert.False(_store.Exists(Key));
    }

    [Fact]
    public void CreateStaging_makes_an_owner_only_file_and_reserves_space()
    {
        var id = Guid.NewGuid();

        using (var staged = _store.CreateStaging(id, reserveBytes: 1 << 20))
        {
            Assert.Equal(OperatingSystem.IsLinux() ? 1 << 20 : 0, staged.Length);
        }

        Assert.Equal([id], _store.ListStaging().Select(s => s.Id));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_store.GetStagingPath(id)));
        }
    }

    [Fact]
    public void Listing_staging_ignores_files_the_store_did_not_name()
    {
        var id = Guid.NewGuid();
        File.WriteAllBytes(_store.GetStagingPath(id), [1]);
        File.WriteAllBytes(Path.Combine(_store.StagingDirectory, "notes.txt"), [3]);
        File.WriteAllBytes(Path.Combine(_store.StagingDirectory, "notes.part"), [3]);

        var entry = Assert.Single(_store.ListStaging());

        Assert.Equal(id, entry.Id);
        Assert.Equal(_store.GetStagingPath(id), entry.Name);
        Assert.Equal(File.GetLastWriteTimeUtc(entry.Name), entry.LastWritten.UtcDateTime);
    }

    [Fact]
    public void Set_aside_objects_go_to_orphaned_beside_objects()
    {
        CommitRandomObject(Key, 10);

        var aside = _store.SetAside(Key);

        Assert.Equal(Path.Combine(_store.RootDirectory, "orphaned", Key), aside);
        Assert.Equal(Path.Combine(_store.RootDirectory, "orphaned"), _store.SetAsideLocation);
        Assert.True(File.Exists(aside));
        Assert.False(File.Exists(_store.GetObjectPath(Key)));
    }

    [Fact]
    public void Available_free_space_is_that_of_the_file_system()
    {
        var free = _store.AvailableFreeSpace!.Value;
        var expected = new DriveInfo(Path.GetTempPath()).AvailableFreeSpace;

        Assert.True(free > 0);

        // Other processes write meanwhile; the same file system agrees to within 1 GiB.
        Assert.InRange(free, expected - (1L << 30), expected + (1L << 30));
    }

    [Fact]
    public void It_resumes_and_renames()
    {
        Assert.Equal(ObjectStoreCapabilities.PositionalResume | ObjectStoreCapabilities.AtomicRename, _store.Capabilities);
    }

    private byte[] CommitRandomObject(string key, int length)
    {
        var data = RandomNumberGenerator.GetBytes(length);
        var id = Guid.NewGuid();
        File.WriteAllBytes(_store.GetStagingPath(id), data);
        _store.Commit(id, key);
        return data;
    }
}
