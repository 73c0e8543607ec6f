using TurboMft.Engine.Buffers;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Compression;
using TurboMft.Engine.Container;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Tests.TestSupport;

namespace TurboMft.Engine.Tests.Container;

public class ContainerRecoveryTests : IDisposable
{
    private const int Chunk = 1 << 20;
    private readonly TempDirectory _dir = new();
    private readonly ContainerKeys _keys = new();

    public void Dispose()
    {
        _keys.Dispose();
        _dir.Dispose();
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.01)]
    [InlineData(0.5)]
    [InlineData(0.99)]
    public void Container_cut_mid_record_recovers_exactly_its_complete_records(double cutFraction)
    {
        var data = TestData.Text(6 * Chunk);
        var path = _dir.File("cut.tmf");
        var order = new long[] { 3, 0, 5, 1 };
        var ends = WriteChunks(path, data, order, out _);

        // Cut inside the fourth record: exactly the first three written survive.
        var cutAt = ends[2] + 1 + (long)(cutFraction * (ends[3] - ends[2] - 2));
        Assert.True(cutAt < ends[3]);
        using (var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite))
        {
            RandomAccess.SetLength(file, cutAt);
        }

        var recovered = ContainerRecovery.Scan(path, _keys.Resolver);
        Assert.Equal(new long[] { 0, 3, 5 }, recovered.Records.Select(r => r.Index).ToArray());
        Assert.Equal(ends[2], recovered.ValidLength);
    }

    [Fact]
    public void Resumed_writer_completes_a_crashed_container_to_the_right_digest()
    {
        var data = TestData.Text((5 * Chunk) + 777);
        var path = _dir.File("resume.tmf");
        var ends = WriteChunks(path, data, [4, 1, 2], out var header);
        using (var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite))
        {
            RandomAccess.SetLength(file, ends[2] - 10);
        }

        var recovered = ContainerRecovery.Scan(path, _keys.Resolver);
        Assert.Equal(new long[] { 1, 4 }, recovered.Records.Select(r => r.Index).ToArray());

        var geometry = new ChunkGeometry(data.Length, Chunk);
        using (var writer = ContainerWriter.Resume(path, _keys.DataKey, recovered))
        {
            Assert.True(writer.Holds(1) && writer.Holds(4) && !writer.Holds(2));
            Write(writer, data, geometry, [0, 2, 3, 5]);
            writer.Complete(data.Length);
        }

        using var reader = ContainerReader.Open(path, _keys.Resolver);
        Assert.Equal(ExpectedDigest(data), reader.Digest);
        Assert.Equal(header.FileId, reader.Header.FileId);
    }

    [Fact]
    public void Completing_with_a_chunk_missing_names_it()
    {
        var data = TestData.Text(3 * Chunk);
        var path = _dir.File("gap.tmf");
        using var writer = ContainerWriter.Create(path, _keys.Header(Chunk), _keys.DataKey);
        Write(writer, data, new ChunkGeometry(data.Length, Chunk), [0, 2]);
        var error = Assert.Throws<ContainerException>(() => writer.Complete(data.Length));
        Assert.Equal(ContainerFault.ChunkMissing, error.Fault);
        Assert.Equal(1, error.ChunkIndex);
    }

    [Fact]
    public void Completing_with_the_wrong_expected_digest_is_refused()
    {
        var data = TestData.Text(2 * Chunk);
        using var writer = ContainerWriter.Create(_dir.File("d.tmf"), _keys.Header(Chunk), _keys.DataKey);
        Write(writer, data, new ChunkGeometry(data.Length, Chunk), [1, 0]);
        var wrong = ExpectedDigest(TestData.Text(2 * Chunk + 1));
        Assert.Equal(ContainerFault.FileDigestMismatch, Assert.Throws<ContainerException>(() => writer.Complete(data.Length, wrong)).Fault);
    }

    [Fact]
    public void Resent_chunk_replaces_the_earlier_record()
    {
        var data = TestData.Text(2 * Chunk);
        var path = _dir.File("dup.tmf");
        using (var writer = ContainerWriter.Create(path, _keys.Header(Chunk), _keys.DataKey))
        {
            Write(writer, data, new ChunkGeometry(data.Length, Chunk), [0, 1, 0]);
            writer.Complete(data.Length, ExpectedDigest(data));
        }

        using var reader = ContainerReader.Open(path, _keys.Resolver);
        Assert.Equal(ExpectedDigest(data), reader.Digest);
    }

    private long[] WriteChunks(string path, byte[] data, long[] order, out ContainerHeader header)
    {
        header = _keys.Header(Chunk);
        using var writer = ContainerWriter.Create(path, header, _keys.DataKey);
        var geometry = new ChunkGeometry(data.Length, Chunk);
        var ends = new long[order.Length];
        for (var i = 0; i < order.Length; i++)
        {
            Write(writer, data, geometry, [order[i]]);
            ends[i] = writer.Length;
        }

        return ends;
    }

    private static void Write(ContainerWriter writer, byte[] data, ChunkGeometry geometry, long[] indices)
    {
        using var pool = new ChunkBufferPool(ContainerFormat.BufferSizeFor(Chunk), 2);
        using var sealer = writer.CreateSealer();
        foreach (var index in indices)
        {
            var plain = pool.Rent();
            var scratch = pool.Rent();
            var length = geometry.LengthOf(index);
            var span = plain.Span.Slice(ContainerFormat.RecordHeaderSize, length);
            data.AsSpan((int)geometry.OffsetOf(index), length).CopyTo(span);
            var sha = System.Security.Cryptography.SHA256.HashData(span);
            writer.WriteChunk(sealer, ChunkCompressor.Adaptive, index, plain, length, ChunkCrc.Compute(span), sha, scratch);
            pool.Return(plain);
            pool.Return(scratch);
        }
    }

    private static FileDigest ExpectedDigest(byte[] data)
    {
        var geometry = new ChunkGeometry(data.Length, Chunk);
        var tree = new TreeDigestBuilder(geometry);
        for (long i = 0; i < geometry.ChunkCount; i++)
        {
            tree.AddChunk(i, data.AsSpan((int)geometry.OffsetOf(i), geometry.LengthOf(i)));
        }

        return tree.Finish();
    }
}
