using System.Security.Cryptography;
using TurboMft.Engine.Storage;

namespace TurboMft.Host.Tests.Storage;

/// <summary>
/// What every <see cref="IObjectStore"/> does (docs/architecture.md, "Ports"). A provider derives a class that only says
/// how to open the store, and again over the same storage as after a restart; tests of what a store claims in its
/// <see cref="IObjectStore.Capabilities"/> are skipped for a store that does not claim it.
/// </summary>
public abstract class ObjectStoreContract : IDisposable
{
    private const string Key = "3f2a9c0e1b7d4e55a6c8f0d2b4e6a8c0";

    private IObjectStore? _store;

    /// <summary>The store under test, opened on first use.</summary>
    protected IObjectStore Store => _store ??= Open();

    /// <summary>Opens the store over this test's storage: the first call creates it, a later one opens it again as after a restart.</summary>
    protected abstract IObjectStore Open();

    /// <inheritdoc />
    public virtual void Dispose() => GC.SuppressFinalize(this);

    [Fact]
    public void Bytes_written_at_any_offset_read_back_the_same_after_commit()
    {
        var data = RandomNumberGenerator.GetBytes((3 << 20) + 17);
        var id = Guid.NewGuid();
        using (var staged = Store.CreateStaging(id, data.Length))
        {
            Assert.Equal(id, staged.Id);

            // Chunks land in any order, as the receiver writes them.
            staged.Write(data.AsSpan(1 << 20), 1 << 20);
            staged.Write(data.AsSpan(0, 1 << 20), 0);
            staged.SetLength(data.Length);
            staged.Flush();
        }

        Store.Commit(id, Key);

        Assert.True(Store.Exists(Key));
        Assert.Equal(data.Length, Store.LengthOf(Key));
        Assert.Equal(data, ReadAll(Key));
        Assert.False(Store.StagingExists(id));
        Assert.DoesNotContain(Store.ListStaging(), s => s.Id == id);
    }

    [Fact]
    public void A_committed_object_is_read_at_any_offset_from_many_threads()
    {
        var data = CommitRandomObject(Key, 1 << 20);
        using var read = Store.OpenRead(Key);

        Assert.Equal(data.Length, read.Length);
        Parallel.For(0, 16, i =>
        {
            var offset = i * 65_536L;
            var buffer = new byte[1000];
            Assert.Equal(buffer.Length, read.Read(buffer, offset));
            Assert.Equal(data.AsSpan((int)offset, buffer.Length).ToArray(), buffer);
        });
        Assert.Equal(17, read.Read(new byte[100], data.Length - 17));
    }

    [Fact]
    public void A_second_commit_of_a_key_is_refused_and_both_are_kept()
    {
        var first = CommitRandomObject(Key, 4096);
        var id = Stage([1, 2, 3]);

        var error = Assert.Throws<StorageException>(() => Store.Commit(id, Key));

        Assert.Equal(StorageError.ObjectExists, error.Error);
        Assert.Equal(first, ReadAll(Key));
        Assert.True(Store.StagingExists(id));
    }

    [Fact]
    public void Concurrent_commits_of_one_key_let_exactly_one_win()
    {
        var stagings = Enumerable.Range(0, 16).Select(i => Stage([(byte)i])).ToArray();

        var outcomes = stagings.AsParallel().Select(id =>
        {
            try
            {
                Store.Commit(id, Key);
                return "committed";
            }
            catch (StorageException e) when (e.Error == StorageError.ObjectExists)
            {
                return "exists";
            }
        }).ToArray();

        Assert.Single(outcomes, o => o == "committed");
        Assert.Equal(15, Store.ListStaging().Count(s => stagings.Contains(s.Id)));
        Assert.Single(ReadAll(Key));
    }

    [Fact]
    public void Commit_many_commits_every_object()
    {
        var files = Enumerable.Range(0, 5).Select(i => (Id: Stage([(byte)i, 42]), Key: $"batch-{i:D4}")).ToArray();

        Store.CommitMany([.. files.Select(f => (f.Id, f.Key))]);

        for (var i = 0; i < files.Length; i++)
        {
            Assert.Equal([(byte)i, 42], ReadAll(files[i].Key));
            Assert.False(Store.StagingExists(files[i].Id));
        }

        Store.CommitMany([]);
    }

    [Fact]
    public void A_failed_commit_of_many_loses_nothing_and_is_all_or_nothing_where_claimed()
    {
        CommitRandomObject("taken-0002", 10);
        var files = Enumerable.Range(0, 4).Select(i => (Id: Stage([(byte)i]), Key: $"taken-{i:D4}")).ToArray();

        Assert.Throws<StorageException>(() => Store.CommitMany([.. files.Select(f => (f.Id, f.Key))]));

        foreach (var (id, key) in files.Where(f => f.Key != "taken-0002"))
        {
            // Each one is either committed or still staged, never lost and never both.
            Assert.NotEqual(Store.Exists(key), Store.StagingExists(id));
            if (Store.Capabilities.HasFlag(ObjectStoreCapabilities.AtomicCommitMany))
            {
                Assert.False(Store.Exists(key));
            }
        }

        Assert.True(Store.StagingExists(files[2].Id));
    }

    [Fact]
    public void Staging_is_reopened_after_a_restart_to_continue_writing()
    {
        Assert.SkipUnless(Store.Capabilities.HasFlag(ObjectStoreCapabilities.PositionalResume), "the store does not resume staging");
        var id = Guid.NewGuid();
        using (var staged = Store.CreateStaging(id))
        {
            staged.Write("first"u8, 0);
        }

        var restarted = Open();
        Assert.True(restarted.StagingExists(id));
        using (var staged = restarted.OpenStaging(id))
        {
            Assert.NotNull(staged);
            var held = new byte[5];
            Assert.Equal(5, staged.Read(held, 0));
            Assert.Equal("first"u8.ToArray(), held);
            staged.Write("+second"u8, 5);
        }

        restarted.Commit(id, Key);
        Assert.Equal("first+second"u8.ToArray(), ReadAll(Key, restarted));
        Assert.Null(restarted.OpenStaging(Guid.NewGuid()));
    }

    [Fact]
    public void A_store_opened_again_keeps_its_objects()
    {
        var data = CommitRandomObject(Key, 1000);

        var restarted = Open();

        Assert.True(restarted.Exists(Key));
        Assert.Equal(data, ReadAll(Key, restarted));
    }

    [Fact]
    public void Staging_is_created_once()
    {
        var id = Stage([1]);

        Assert.ThrowsAny<IOException>(() => Store.CreateStaging(id).Dispose());
        Assert.Throws<ArgumentException>(() => Store.CreateStaging(Guid.Empty).Dispose());
    }

    [Fact]
    public void Abort_removes_the_staging_once()
    {
        var keep = Stage([1]);
        var drop = Stage([2]);

        Assert.Equal(new[] { drop, keep }.Order(), Store.ListStaging().Select(s => s.Id).Order());
        Assert.True(Store.AbortStaging(drop));
        Assert.False(Store.AbortStaging(drop));

        Assert.False(Store.StagingExists(drop));
        Assert.Equal([keep], Store.ListStaging().Select(s => s.Id));
        Assert.Equal(StorageError.StagingNotFound, Assert.Throws<StorageException>(() => Store.Commit(drop, Key)).Error);
        Assert.False(Store.Exists(Key));
    }

    [Fact]
    public void Listed_staging_says_when_it_was_written()
    {
        var before = DateTimeOffset.UtcNow.AddMinutes(-1);
        var id = Stage([1]);

        var entry = Assert.Single(Store.ListStaging());

        Assert.Equal(id, entry.Id);
        Assert.False(string.IsNullOrEmpty(entry.Name));
        Assert.InRange(entry.LastWritten, before, DateTimeOffset.UtcNow.AddMinutes(1));
    }

    [Fact]
    public void Committed_objects_are_listed_by_key()
    {
        Assert.Empty(Store.ListObjects());
        CommitRandomObject("listed-0001", 1);
        CommitRandomObject("listed-0002", 2);
        Stage([3]);

        Assert.Equal(["listed-0001", "listed-0002"], Store.ListObjects().Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_set_aside_object_leaves_the_store_and_is_kept()
    {
        CommitRandomObject(Key, 10);

        var aside = Store.SetAside(Key);

        Assert.False(string.IsNullOrEmpty(aside));
        Assert.False(Store.Exists(Key));
        Assert.DoesNotContain(Key, Store.ListObjects());
        Assert.False(string.IsNullOrEmpty(Store.SetAsideLocation));

        // The key is free again, but a second object of it cannot be set aside over the first.
        CommitRandomObject(Key, 10);
        Assert.Equal(StorageError.ObjectExists, Assert.Throws<StorageException>(() => Store.SetAside(Key)).Error);
        Assert.True(Store.Exists(Key));
    }

    [Fact]
    public void Delete_removes_the_object_once_and_frees_its_key()
    {
        CommitRandomObject(Key, 10);

        Assert.True(Store.Delete(Key));
        Assert.False(Store.Exists(Key));
        Assert.Null(Store.LengthOf(Key));
        Assert.Throws<FileNotFoundException>(() => Store.OpenRead(Key).Dispose());
        Assert.False(Store.Delete(Key));

        CommitRandomObject(Key, 10);
        Assert.True(Store.Exists(Key));
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
    public void Invalid_keys_are_refused_everywhere(string key)
    {
        var id = Stage([7]);

        Assert.False(ObjectKeys.IsValid(key));
        Assert.Throws<ArgumentException>(() => Store.Commit(id, key));
        Assert.Throws<ArgumentException>(() => Store.CommitMany([(id, key)]));
        Assert.Throws<ArgumentException>(() => Store.Exists(key));
        Assert.Throws<ArgumentException>(() => Store.LengthOf(key));
        Assert.Throws<ArgumentException>(() => Store.OpenRead(key).Dispose());
        Assert.Throws<ArgumentException>(() => Store.SetAside(key));
        Assert.Throws<ArgumentException>(() => Store.Delete(key));
        Assert.True(Store.StagingExists(id));
        Assert.Empty(Store.ListObjects());
    }

    [Fact]
    public void Free_space_is_reported_where_the_store_has_a_bound()
    {
        Assert.True(Store.AvailableFreeSpace is null or > 0);
    }

    private Guid Stage(byte[] data)
    {
        var id = Guid.NewGuid();
        using var staged = Store.CreateStaging(id);
        staged.Write(data, 0);
        return id;
    }

    private byte[] CommitRandomObject(string key, int length)
    {
        var data = RandomNumberGenerator.GetBytes(length);
        Store.Commit(Stage(data), key);
        return data;
    }

    private byte[] ReadAll(string key, IObjectStore? store = null)
    {
        using var read = (store ?? Store).OpenRead(key);
        var bytes = new byte[read.Length];
        var at = 0;
        while (at < bytes.Length)
        {
            var n = read.Read(bytes.AsSpan(at), at);
            Assert.True(n > 0);
            at += n;
        }

        return bytes;
    }
}
