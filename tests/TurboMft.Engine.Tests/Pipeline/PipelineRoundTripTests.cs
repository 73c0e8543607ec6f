using System.Security.Cryptography;
using TurboMft.Engine.Buffers;
using TurboMft.Engine.Compression;
using TurboMft.Engine.Container;
using TurboMft.Engine.Datasets;
using TurboMft.Engine.Pipeline;
using TurboMft.Engine.Tests.TestSupport;

namespace TurboMft.Engine.Tests.Pipeline;

public class PipelineRoundTripTests
{
    private const int Chunk = 1 << 20;

    public static TheoryData<int, DatasetKind, CompressionMode> Cases()
    {
        var data = new TheoryData<int, DatasetKind, CompressionMode>();
        foreach (var size in new[] { 0, 1, Chunk - 1, Chunk, Chunk + 1, (7 * Chunk) + 4321 })
        {
            foreach (var kind in Enum.GetValues<DatasetKind>())
            {
                data.Add(size, kind, CompressionMode.Adaptive);
                data.Add(size, kind, CompressionMode.Off);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task File_to_container_to_file_is_exact(int size, DatasetKind kind, CompressionMode compression)
    {
        using var dir = new TempDirectory();
        using var keys = new ContainerKeys();
        var source = dir.File("source.bin");
        var bytes = new byte[size];
        DatasetGenerator.Fill(kind, size, 0, bytes);
        await File.WriteAllBytesAsync(source, bytes, TestContext.Current.CancellationToken);
        using var pool = new ChunkBufferPool(ContainerFormat.BufferSizeFor(Chunk), 4);
        var options = new PipelineOptions { ChunkSize = Chunk, Workers = 2, Compression = compression, Pool = pool, WholeFileSha256 = true };

        var packed = await ContainerPacker.PackAsync(source, dir.File("c.tmf"), keys.DataKey, keys.WrappedKey, Guid.NewGuid(), options, TestContext.Current.CancellationToken);
        var digest = await FileDigester.ComputeAsync(source, options, TestContext.Current.CancellationToken);

        Assert.Equal(digest.Digest, packed.Container.Digest);
        Assert.Equal(SHA256.HashData(bytes), packed.WholeFileSha256);
        Assert.Equal(SHA256.HashData(bytes), digest.WholeFileSha256);
        Assert.Equal(size, packed.Container.FileSize);
        if (compression == CompressionMode.Off || kind == DatasetKind.Random)
        {
            Assert.Equal(0, packed.Container.ChunksCompressed);
        }
        else if (kind == DatasetKind.HistorianCsv)
        {
            // Every chunk worth compressing is compressed; a tail of a few bytes is not.
            var worthCompressing = Enumerable.Range(0, (int)packed.Container.ChunkCount).Count(i => Math.Min(Chunk, size - ((long)i * Chunk)) >= 4096);
            Assert.Equal(worthCompressing, packed.Container.ChunksCompressed);
        }

        using var reader = ContainerReader.Open(dir.File("c.tmf"), keys.Resolver);
        Assert.Equal(packed.Container.Digest, reader.Digest);
        Assert.Equal(SHA256.HashData(bytes), reader.WholeFileSha256!.Value.ToArray());
        await ContainerVerifier.VerifyAsync(reader, options, TestContext.Current.CancellationToken);
        await ContainerUnpacker.UnpackAsync(reader, dir.File("out.bin"), options, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(bytes, await File.ReadAllBytesAsync(dir.File("out.bin"), TestContext.Current.CancellationToken));
        Assert.Equal(0, pool.InFlight);
    }

    [Fact]
    public async Task Cancelled_pack_deletes_the_container_and_returns_every_buffer()
    {
        using var dir = new TempDirectory();
        using var keys = new ContainerKeys();
        var source = dir.File("source.bin");
        await File.WriteAllBytesAsync(source, TestData.Random(64 * Chunk, 3), TestContext.Current.CancellationToken);
        using var pool = new ChunkBufferPool(ContainerFormat.BufferSizeFor(Chunk), 4);
        using var cts = new CancellationTokenSource();
        var options = new PipelineOptions
        {
            ChunkSize = Chunk,
            Workers = 2,
            Pool = pool,
            Progress = new SynchronousProgress(p =>
            {
                if (p.ChunksDone == 3)
                {
                    cts.Cancel();
                }
            }),
        };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            ContainerPacker.PackAsync(source, dir.File("c.tmf"), keys.DataKey, keys.WrappedKey, Guid.NewGuid(), options, cts.Token));

        Assert.False(File.Exists(dir.File("c.tmf")));
        Assert.Equal(0, pool.InFlight);
    }

    [Fact]
    public async Task Failing_worker_stops_the_pipeline_and_returns_every_buffer()
    {
        using var dir = new TempDirectory();
        using var keys = new ContainerKeys();
        var source = dir.File("source.bin");
        await File.WriteAllBytesAsync(source, TestData.Random(16 * Chunk, 4), TestContext.Current.CancellationToken);
        using var pool = new ChunkBufferPool(ContainerFormat.BufferSizeFor(Chunk), 4);
        var options = new PipelineOptions { ChunkSize = Chunk, Workers = 2, Pool = pool };
        await ContainerPacker.PackAsync(source, dir.File("c.tmf"), keys.DataKey, keys.WrappedKey, Guid.NewGuid(), options, TestContext.Current.CancellationToken);

        // Corrupt a chunk in the middle: unpack must fail on it, leave no output and hold no buffers.
        using (var reader = ContainerReader.Open(dir.File("c.tmf"), keys.Resolver))
        {
            var entry = reader.GetEntry(9);
            using var file = File.OpenHandle(dir.File("c.tmf"), FileMode.Open, FileAccess.ReadWrite);
            RandomAccess.Write(file, new byte[] { 0xFF, 0xEE }, entry.Offset + ContainerFormat.RecordHeaderSize + 100);
        }

        using var broken = ContainerReader.Open(dir.File("c.tmf"), keys.Resolver);
        var error = await Assert.ThrowsAsync<ContainerException>(() => ContainerUnpacker.UnpackAsync(broken, dir.File("out.bin"), options, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Equal(ContainerFault.ChunkAuthenticationFailed, error.Fault);
        Assert.Equal(9, error.ChunkIndex);
        Assert.False(File.Exists(dir.File("out.bin")));
        Assert.False(File.Exists(dir.File("out.bin.tmf-partial")));
        Assert.Equal(0, pool.InFlight);
    }

    [Fact]
    public async Task Unreadable_source_gives_a_specific_error()
    {
        using var dir = new TempDirectory();
        using var keys = new ContainerKeys();
        var error = await Assert.ThrowsAsync<SourceUnreadableException>(() =>
            ContainerPacker.PackAsync(dir.File("missing.bin"), dir.File("c.tmf"), keys.DataKey, keys.WrappedKey, Guid.NewGuid(), new PipelineOptions(), TestContext.Current.CancellationToken));
        Assert.Contains("missing.bin", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("c.tmf")));
    }

    private sealed class SynchronousProgress(Action<PipelineProgress> report) : IProgress<PipelineProgress>
    {
        public void Report(PipelineProgress value) => report(value);
    }
}
