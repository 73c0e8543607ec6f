using TurboMft.Engine.Storage;

namespace TurboMft.Host.Tests.Storage;

/// <summary>
/// The object store contract for a directory several nodes share (<c>--store dir:</c>): two store instances on one
/// directory, as two nodes mount it, and what sharing adds.
/// </summary>
public sealed class SharedDirectoryObjectStoreContractTests : ObjectStoreContract
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("turbomft-shared-store-");

    /// <inheritdoc />
    protected override IObjectStore Open() => new LocalObjectStore(Path.Combine(_root.FullName, "store"), shared: true);

    [Fact]
    public void It_says_it_is_shared_by_nodes()
    {
        Assert.True(Store.Capabilities.HasFlag(ObjectStoreCapabilities.SharedByNodes));
        Assert.False(new LocalObjectStore(Path.Combine(_root.FullName, "alone")).Capabilities.HasFlag(ObjectStoreCapabilities.SharedByNodes));
    }

    [Fact]
    public void Staging_written_through_two_nodes_is_committed_by_a_third_while_the_others_still_hold_it()
    {
        var id = Guid.CreateVersion7();
        var nodeA = Store;
        var nodeB = Open();
        var nodeC = Open();
        using var fromA = nodeA.CreateStaging(id, 1 << 20);
        fromA.Write("header-"u8, 0);
        using var fromB = nodeB.OpenStaging(id)!;
        fromB.Write("second"u8, 100);
        fromA.Write("first"u8, 50);

        // Open handles of A and B do not keep C from its exclusive commit: shared staging holds none between calls.
        nodeC.Commit(id, "0123456789abcdef0123456789abcdef");

        using var read = nodeA.OpenRead("0123456789abcdef0123456789abcdef");
        var bytes = new byte[106];
        Assert.Equal(106, read.Read(bytes, 0));
        Assert.Equal("header-"u8.ToArray(), bytes[..7]);
        Assert.Equal("first"u8.ToArray(), bytes[50..55]);
        Assert.Equal("second"u8.ToArray(), bytes[100..106]);
        Assert.False(nodeB.StagingExists(id));
        var late = Assert.Throws<StorageException>(() => fromB.Write("late"u8, 0));
        Assert.Equal(StorageError.StagingNotFound, late.Error);
    }

    [Fact]
    public void Staging_larger_than_the_free_space_is_refused_and_leaves_nothing()
    {
        var id = Guid.CreateVersion7();
        var error = Assert.Throws<TurboMft.Engine.Native.DiskFullException>(() => Store.CreateStaging(id, long.MaxValue / 2));
        Assert.Contains("could not reserve", error.Message, StringComparison.Ordinal);
        Assert.False(Store.StagingExists(id));
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _root.Delete(recursive: true);
        base.Dispose();
    }
}
