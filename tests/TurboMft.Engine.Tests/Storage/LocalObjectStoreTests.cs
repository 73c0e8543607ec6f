using System.Security.Cryptography;
using TurboMft.Engine.Storage;
using TurboMft.Engine.Tests.Native;

namespace TurboMft.Engine.Tests.Storage;

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
    public void Reopening_a_store_keeps_its_objects()
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

        var path = _store.CreateStagingPath(id);

        Assert.Equal(_store.StagingDirectory, Path.GetDirectoryName(path));
        Assert.Equal(path, _store.CreateStagingPath(id));
        Assert.NotEqual(path, _store.CreateStagingPath(Guid.NewGuid()));
        Assert.False(File.Exists(path));
        Assert.Throws<ArgumentException>(() => _store.CreateStagingPath(Guid.Empty));
    }

    [Fact]
    public void Commit_moves_the_file_intact_into_its_shard_and_empties_staging()
    {
        var data = RandomNumberGenerator.GetBytes((3 << 20) + 17);
        var staging = _store.CreateStagingPath(Guid.NewGuid());
        using (var handle = _store.OpenStaging(staging))
        {
            // Chunks land in any order, as the receiver writes them.
            RandomAccess.Write(handle, data.AsSpan(1 << 20), 1 << 20);
            RandomAccess.Write(handle, data.AsSpan(0, 1 << 20), 0);
        }

        var objectPath = _store.Commit(staging, Key);

        Assert.Equal(Path.Combine(_store.ObjectsDirectory, "3f", "2a", Key), objectPath);
        Assert.Equal(objectPath, _store.GetObjectPath(Key));
        Assert.True(_store.Exists(Key));
        Assert.Equal(data, File.ReadAllBytes(objectPath));
        Assert.False(File.Exists(staging));
        Assert.Empty(_store.ListStaging());
        Assert.Empty(Directory.EnumerateFileSystemEntries(_store.StagingDirectory));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(OwnerOnlyDirectory, File.GetUnixFileMode(Path.GetDirectoryName(objectPath)!));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(objectPath));
        }
    }

    [Fact]
    public void A_second_commit_of_the_same_key_throws_and_keeps_both_files()
    {
        var first = CommitRandomObject(Key, 4096);
        var staging = _store.CreateStagingPath(Guid.NewGuid());
        File.WriteAllBytes(staging, [1, 2, 3]);

        var error = Assert.Throws<StorageException>(() => _store.Commit(staging, Key));

        Assert.Equal(StorageError.ObjectExists, error.Error);
        Assert.StartsWith("object already exists", error.Message, StringComparison.Ordinal);
        Assert.Equal(_store.GetObjectPath(Key), error.Path);
        Assert.Equal(first, File.ReadAllBytes(_store.GetObjectPath(Key)));
        Assert.Equal([1, 2, 3], File.ReadAllBytes(staging));
    }

    [Fact]
    public void Concurrent_commits_of_one_key_let_exactly_one_win()
    {
        var stagings = Enumerable.Range(0, 16).Select(i =>
        {
            var path = _store.CreateStagingPath(Guid.NewGuid());
            File.WriteAllBytes(path, [(byte)i]);
            return path;
        }).ToArray();

        var outcomes = stagings.AsParallel().Select(path =>
        {
            try
            {
                _store.Commit(path, Key);
                return "committed";
            }
            catch (StorageException e) when (e.Error == StorageError.ObjectExists)
            {
                return "exists";
            }
        }).ToArray();

        Assert.Single(outcomes, o => o == "committed");
        Assert.Equal(15, _store.ListStaging().Count());
        var winner = File.ReadAllBytes(_store.GetObjectPath(Key));
        Assert.Single(winner);
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("A")]
    [InlineData("")]
    [InlineData("a/b")]
    [InlineData("../../../../etc/passwd")]
    [InlineData("..%2f..%2fabcdef")]
    [InlineData("abcd/efgh")]
    [InlineData("abcd\\efgh")]
    [InlineData("ABCDEFGH")]
    [InlineData("abcdefg\0")]
    [InlineData("abcdefg\n")]
    [InlineData("abcdefgé")]
    [InlineData("abcd efgh")]
    [InlineData("abcdefg")]
    [InlineData("-abcdefgh")]
    public void Invalid_keys_are_rejected_everywhere(string key)
    {
        var staging = _store.CreateStagingPath(Guid.NewGuid());
        File.WriteAllBytes(staging, [7]);

        Assert.False(LocalObjectStore.IsValidKey(key));
        Assert.Throws<ArgumentException>(() => _store.GetObjectPath(key));
        Assert.Throws<ArgumentException>(() => _store.Exists(key));
        Assert.Throws<ArgumentException>(() => _store.Delete(key));
        Assert.Throws<ArgumentException>(() => _store.Commit(staging, key));
        Assert.True(File.Exists(staging));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_store.ObjectsDirectory));
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
        Assert.True(LocalObjectStore.IsValidKey(key));
        Assert.StartsWith(_store.ObjectsDirectory, _store.GetObjectPath(key), StringComparison.Ordinal);
        Assert.True(LocalObjectStore.IsValidKey(new string('z', 128)));
    }

    [Fact]
    public void Staging_paths_outside_staging_are_refused()
    {
        var outside = _temp.File("evil.part");
        File.WriteAllBytes(outside, [1]);
        var traversal = Path.Combine(_store.StagingDirectory, "..", "evil.part");
        var wrongSuffix = Path.Combine(_store.StagingDirectory, "x.txt");

        Assert.Throws<ArgumentException>(() => _store.Commit(outside, Key));
        Assert.Throws<ArgumentException>(() => _store.Commit(traversal, Key));
        Assert.Throws<ArgumentException>(() => _store.OpenStaging(wrongSuffix));
        Assert.Throws<ArgumentException>(() => _store.AbortStaging(outside));
        Assert.True(File.Exists(outside));
        Assert.False(_store.Exists(Key));
    }

    [Fact]
    public void Commit_of_a_missing_staging_file_is_a_storage_error()
    {
        var staging = _store.CreateStagingPath(Guid.NewGuid());

        var error = Assert.Throws<StorageException>(() => _store.Commit(staging, Key));

        Assert.Equal(StorageError.StagingNotFound, error.Error);
        Assert.Equal(staging, error.Path);
        Assert.Contains("start a new upload", error.Message, StringComparison.Ordinal);
        Assert.False(_store.Exists(Key));
    }

    [Fact]
    public void Commit_refuses_a_staging_file_that_is_still_open()
    {
        Assert.SkipWhen(Environment.GetEnvironmentVariable("DOTNET_SYSTEM_IO_DISABLEFILELOCKING") is "1" or "true", "file locking disabled");
        var staging = _store.CreateStagingPath(Guid.NewGuid());
        using var handle = _store.OpenStaging(staging);

        Assert.ThrowsAny<IOException>(() => _store.Commit(staging, Key));

        Assert.True(File.Exists(staging));
        Assert.False(_store.Exists(Key));
    }

    [Fact]
    public void OpenStaging_creates_an_owner_only_file_and_reserves_space()
    {
        var staging = _store.CreateStagingPath(Guid.NewGuid());

        using (var handle = _store.OpenStaging(staging, reserveBytes: 1 << 20))
        {
            Assert.Equal(OperatingSystem.IsLinux() ? 1 << 20 : 0, RandomAccess.GetLength(handle));
        }

        Assert.Equal([staging], _store.ListStaging());
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(staging));
        }
    }

    [Fact]
    public void Reopening_staging_keeps_what_was_written_for_resume()
    {
        var staging = _store.CreateStagingPath(Guid.NewGuid());
        using (var handle = _store.OpenStaging(staging))
        {
            RandomAccess.Write(handle, "first"u8, 0);
        }

        using (var handle = _store.OpenStaging(staging, reserveBytes: 3))
        {
            RandomAccess.Write(handle, "+second"u8, 5);
        }

        Assert.Equal("first+second", File.ReadAllText(staging));
    }

    [Fact]
    public void AbortStaging_removes_the_upload()
    {
        var keep = _store.CreateStagingPath(Guid.NewGuid());
        var drop = _store.CreateStagingPath(Guid.NewGuid());
        File.WriteAllBytes(keep, [1]);
        File.WriteAllBytes(drop, [2]);
        File.WriteAllBytes(Path.Combine(_store.StagingDirectory, "notes.txt"), [3]);

        Assert.Equal(new[] { drop, keep }.Order(StringComparer.Ordinal), _store.ListStaging().Order(StringComparer.Ordinal));
        Assert.True(_store.AbortStaging(drop));
        Assert.False(_store.AbortStaging(drop));

        Assert.Equal([keep], _store.ListStaging());
    }

    [Fact]
    public void Delete_removes_the_object_once()
    {
        CommitRandomObject(Key, 10);

        Assert.True(_store.Delete(Key));
        Assert.False(_store.Exists(Key));
        Assert.False(File.Exists(_store.GetObjectPath(Key)));
        Assert.False(_store.Delete(Key));

        // The key is free again: a new version may be committed under it.
        CommitRandomObject(Key, 10);
        Assert.True(_store.Exists(Key));
    }

    [Fact]
    public void Available_free_space_is_that_of_the_file_system()
    {
        var free = _store.AvailableFreeSpace;
        var expected = new DriveInfo(Path.GetTempPath()).AvailableFreeSpace;

        Assert.True(free > 0);

        // Other processes write meanwhile; the same file system agrees to within 1 GiB.
        Assert.InRange(free, expected - (1L << 30), expected + (1L << 30));
    }

    private byte[] CommitRandomObject(string key, int length)
    {
        var data = RandomNumberGenerator.GetBytes(length);
        var staging = _store.CreateStagingPath(Guid.NewGuid());
        File.WriteAllBytes(staging, data);
        _store.Commit(staging, key);
        return data;
    }
}
