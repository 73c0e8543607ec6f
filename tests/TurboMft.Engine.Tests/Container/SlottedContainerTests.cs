using System.Security.Cryptography;
using TurboMft.Engine.Buffers;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Compression;
using TurboMft.Engine.Container;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Storage;
using TurboMft.Engine.Tests.TestSupport;

namespace TurboMft.Engine.Tests.Container;

/// <summary>
/// The slotted layout (docs/format.md, "Slotted layout"): writers that share nothing but the file each put their chunks
/// in the slots of their indices, and one of them completes the container from the others' entries.
/// </summary>
public sealed class SlottedContainerTests : IDisposable
{
    private const int Chunk = 1 << 20;
    private readonly TempDirectory _dir = new();
    private readonly ContainerKeys _keys = new();
    private readonly LocalObjectStore _nodeA;
    private readonly LocalObjectStore _nodeB;

    public SlottedContainerTests()
    {
        _nodeA = new LocalObjectStore(_dir.File("store"), shared: true);
        _nodeB = new LocalObjectStore(_dir.File("store"), shared: true);
    }

    public void Dispose()
    {
        _keys.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void Chunks_written_by_two_writers_complete_into_one_container_that_reads_back_the_file()
    {
        var data = Mixed((5 * Chunk) + 1234);
        var geometry = new ChunkGeometry(data.Length, Chunk);
        var id = Guid.CreateVersion7();
        var header = _keys.Header(Chunk, id);
        using var a = ContainerWriter.Create(_nodeA.CreateStaging(id, ContainerWriter.MaxSlottedLength(data.Length, Chunk)), header, _keys.DataKey, geometry.ChunkCount, ContainerLayout.Slotted);
        using var b = ContainerWriter.Reopen(_nodeB.OpenStaging(id)!, header, _keys.DataKey);

        var fromA = Write(a, data, geometry, [4, 0, 2]);
        var fromB = Write(b, data, geometry, [5, 1, 3]);

        // B completes: it adopts what A wrote, as a node adopts the other nodes' chunk receipts.
        foreach (var (entry, sha) in fromA)
        {
            b.Adopt(entry, sha);
        }

        var summary = b.Complete(data.Length);
        Assert.Equal(Digest(data), summary.Digest);
        Assert.All(fromA.Concat(fromB), e => Assert.Equal(ContainerWriter.SlotOffset(Chunk, e.Entry.Index), e.Entry.Offset));

        _nodeA.Commit(id, id.ToString("N"));
        using var reader = ContainerReader.Open(_nodeB.OpenRead(id.ToString("N")), _keys.Resolver);
        Assert.Equal(Digest(data), reader.Digest);
        Assert.Equal(data, ReadAll(reader, geometry));
    }

    [Fact]
    public void A_chunk_written_twice_into_its_slot_by_two_writers_reads_back_once()
    {
        var data = Mixed(2 * Chunk);
        var geometry = new ChunkGeometry(data.Length, Chunk);
        var id = Guid.CreateVersion7();
        var header = _keys.Header(Chunk, id);
        using var a = ContainerWriter.Create(_nodeA.CreateStaging(id), header, _keys.DataKey, 2, ContainerLayout.Slotted);
        using var b = ContainerWriter.Reopen(_nodeB.OpenStaging(id)!, header, _keys.DataKey);
        Write(a, data, geometry, [0, 1]);
        var again = Write(b, data, geometry, [1]);
        foreach (var (entry, sha) in Write(b, data, geometry, [0]))
        {
            a.Adopt(entry, sha);
        }

        a.Adopt(again[0].Entry, again[0].Sha);
        a.Complete(data.Length);
        using var reader = ContainerReader.Open(_nodeA.OpenStaging(id)!, _keys.Resolver);
        Assert.Equal(data, ReadAll(reader, geometry));
    }

    [Fact]
    public void An_entry_that_is_not_in_its_slot_is_refused()
    {
        var id = Guid.CreateVersion7();
        using var writer = ContainerWriter.Create(_nodeA.CreateStaging(id), _keys.Header(Chunk, id), _keys.DataKey, 4, ContainerLayout.Slotted);
        var misplaced = new ChunkEntry(2, ContainerWriter.SlotOffset(Chunk, 1), 100, Chunk, ChunkEncoding.Lz4, 0);
        var error = Assert.Throws<ContainerException>(() => writer.Adopt(misplaced, new byte[32]));
        Assert.Equal(ContainerFault.ChunkOutOfPlace, error.Fault);
        Assert.Equal(2, error.ChunkIndex);
        Assert.False(writer.Holds(2));
    }

    [Fact]
    public void An_appended_container_takes_no_entries_from_other_writers()
    {
        var id = Guid.CreateVersion7();
        using var writer = ContainerWriter.Create(_nodeA.CreateStaging(id), _keys.Header(Chunk, id), _keys.DataKey);
        Assert.Throws<InvalidOperationException>(() => writer.Adopt(new ChunkEntry(0, ContainerFormat.HeaderSize, 10, 10, ChunkEncoding.Raw, 0), new byte[32]));
    }

    [Fact]
    public void Recovery_finds_slotted_records_across_the_holes_between_them()
    {
        var data = Mixed(4 * Chunk);
        var geometry = new ChunkGeometry(data.Length, Chunk);
        var id = Guid.CreateVersion7();
        using (var writer = ContainerWriter.Create(_nodeA.CreateStaging(id), _keys.Header(Chunk, id), _keys.DataKey, 4, ContainerLayout.Slotted))
        {
            Write(writer, data, geometry, [3, 0]);
        }

        using var staged = _nodeA.OpenStaging(id)!;
        var recovered = ContainerRecovery.Scan(staged, _keys.Resolver);
        Assert.Equal(new long[] { 0, 3 }, recovered.Records.Select(r => r.Index).ToArray());
    }

    // Text chunks compress (short records, long holes); random ones do not (records that fill their slots).
    private static byte[] Mixed(int length)
    {
        var data = TestData.Text(length);
        RandomNumberGenerator.Fill(data.AsSpan(Chunk, Math.Min(Chunk, length - Chunk)));
        return data;
    }

    private static List<(ChunkEntry Entry, byte[] Sha)> Write(ContainerWriter writer, byte[] data, ChunkGeometry geometry, long[] indices)
    {
        using var pool = new ChunkBufferPool(ContainerFormat.BufferSizeFor(Chunk), 2);
        using var sealer = writer.CreateSealer();
        var written = new List<(ChunkEntry, byte[])>();
        foreach (var index in indices)
        {
            var plain = pool.Rent();
            var scratch = pool.Rent();
            var length = geometry.LengthOf(index);
            var span = plain.Span.Slice(ContainerFormat.RecordHeaderSize, length);
            data.AsSpan((int)geometry.OffsetOf(index), length).CopyTo(span);
            var sha = SHA256.HashData(span);
            written.Add((writer.WriteChunk(sealer, ChunkCompressor.Adaptive, index, plain, length, ChunkCrc.Compute(span), sha, scratch), sha));
            pool.Return(plain);
            pool.Return(scratch);
        }

        return written;
    }

    private static byte[] ReadAll(ContainerReader reader, ChunkGeometry geometry)
    {
        var result = new byte[geometry.FileSize];
        using var opener = reader.CreateOpener();
        var scratch = new ChunkBuffer(ContainerFormat.BufferSizeFor(Chunk));
        for (long i = 0; i < geometry.ChunkCount; i++)
        {
            reader.ReadChunk(opener, i, scratch, result.AsSpan((int)geometry.OffsetOf(i), geometry.LengthOf(i)));
        }

        return result;
    }

    private static FileDigest Digest(byte[] data)
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
