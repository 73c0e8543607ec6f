using TurboMft.Engine.Buffers;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Compression;
using TurboMft.Engine.Container;
using TurboMft.Engine.Datasets;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Pipeline;
using TurboMft.Engine.Tests.TestSupport;

namespace TurboMft.Engine.Tests.Pipeline;

/// <summary>The per-chunk pack and unpack paths allocate nothing on the managed heap once warm (a count, not a timing).</summary>
public class HotPathAllocationTests
{
    private const int Chunk = 1 << 20;

    [Theory]
    [InlineData(DatasetKind.Random)]
    [InlineData(DatasetKind.HistorianCsv)]
    public async Task Pack_and_unpack_of_a_chunk_allocate_zero_bytes(DatasetKind kind)
    {
        using var dir = new TempDirectory();
        using var keys = new ContainerKeys();
        var sourcePath = dir.File("source.bin");
        await DatasetGenerator.WriteFileAsync(sourcePath, kind, 4L * Chunk);
        using var source = SourceFile.Open(sourcePath);
        using var pool = new ChunkBufferPool(ContainerFormat.BufferSizeFor(Chunk), 2);
        var plain = pool.Rent();
        var scratch = pool.Rent();
        var tree = new TreeDigestBuilder(new ChunkGeometry(64L * Chunk, Chunk));
        using var writer = ContainerWriter.Create(dir.File("c.tmf"), keys.Header(Chunk), keys.DataKey, 64);
        using var worker = new PackWorker(writer.CreateSealer());

        void PackChunk(long index)
        {
            var span = plain.Span.Slice(ContainerFormat.RecordHeaderSize, Chunk);
            var crc = worker.ReadAndHash(source, span, (index % 4) * Chunk, index, tree);
            writer.WriteChunk(worker.Sealer, ChunkCompressor.Adaptive, index, plain, Chunk, crc, tree.GetChunkDigest(index), scratch);
        }

        for (var i = 0; i < 8; i++)
        {
            PackChunk(i);
        }

        // A per-chunk allocation shows in every window; a one-off by the runtime (a method tiering up under load) in one
        // at most. So the least of three windows must be exactly zero.
        var least = long.MaxValue;
        for (var window = 0; window < 3; window++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 8 + (window * 16); i < 24 + (window * 16); i++)
            {
                PackChunk(i);
            }

            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.Equal(0, least);
        for (var i = 56; i < 64; i++)
        {
            PackChunk(i);
        }

        writer.Complete(64L * Chunk);
        using var reader = ContainerReader.Open(dir.File("c.tmf"), keys.Resolver);
        using var opener = reader.CreateOpener();
        for (var i = 0; i < 8; i++)
        {
            reader.ReadChunk(opener, i, scratch, plain.Span);
        }

        least = long.MaxValue;
        for (var window = 0; window < 3; window++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 8 + (window * 16); i < 24 + (window * 16); i++)
            {
                reader.ReadChunk(opener, i, scratch, plain.Span);
            }

            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.Equal(0, least);
        pool.Return(plain);
        pool.Return(scratch);
    }
}
