using TurboMft.Engine.Buffers;
using TurboMft.Engine.Container;
using TurboMft.Engine.Pipeline;
using TurboMft.Engine.Tests.TestSupport;

namespace TurboMft.Engine.Tests.Container;

public class ContainerTamperTests : IDisposable
{
    private const int Chunk = 1 << 20;
    private readonly TempDirectory _dir = new();
    private readonly ContainerKeys _keys = new();

    public void Dispose()
    {
        _keys.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task Flipped_bit_in_a_record_is_refused_naming_the_chunk()
    {
        var path = await PackAsync("a.tmf", TestData.Random(4 * Chunk, 1));
        var entry = EntryOf(path, 2);
        FlipBit(path, entry.Offset + ContainerFormat.RecordHeaderSize + 12345);

        var error = ReadAll(path);
        Assert.Equal(ContainerFault.ChunkAuthenticationFailed, error.Fault);
        Assert.Equal(2, error.ChunkIndex);
        Assert.Contains("a.tmf", error.Message, StringComparison.Ordinal);
        Assert.Contains("chunk 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Flipped_bit_in_the_tag_is_refused()
    {
        var path = await PackAsync("a.tmf", TestData.Text(3 * Chunk));
        var entry = EntryOf(path, 1);
        FlipBit(path, entry.Offset + entry.RecordLength - 1);
        var error = ReadAll(path);
        Assert.Equal(ContainerFault.ChunkAuthenticationFailed, error.Fault);
        Assert.Equal(1, error.ChunkIndex);
    }

    [Fact]
    public async Task Two_records_swapped_are_refused_as_out_of_place()
    {
        var path = await PackAsync("a.tmf", TestData.Random(4 * Chunk, 2));
        var first = EntryOf(path, 0);
        var second = EntryOf(path, 1);
        Assert.Equal(first.RecordLength, second.RecordLength);
        var bytes = File.ReadAllBytes(path);
        var a = bytes.AsSpan((int)first.Offset, first.RecordLength).ToArray();
        bytes.AsSpan((int)second.Offset, second.RecordLength).CopyTo(bytes.AsSpan((int)first.Offset));
        a.CopyTo(bytes.AsSpan((int)second.Offset));
        File.WriteAllBytes(path, bytes);

        var error = ReadAll(path);
        Assert.Equal(ContainerFault.ChunkOutOfPlace, error.Fault);
        Assert.Contains(error.ChunkIndex, new long?[] { 0, 1 });
    }

    [Fact]
    public async Task Record_moved_from_another_file_is_refused()
    {
        var data = TestData.Random(3 * Chunk, 3);
        var victim = await PackAsync("victim.tmf", data);
        var donor = await PackAsync("donor.tmf", data);
        var target = EntryOf(victim, 1);
        var source = EntryOf(donor, 1);
        var record = new byte[source.RecordLength];
        using (var donorFile = File.OpenHandle(donor))
        {
            RandomAccess.Read(donorFile, record, source.Offset);
        }

        using (var victimFile = File.OpenHandle(victim, FileMode.Open, FileAccess.ReadWrite))
        {
            RandomAccess.Write(victimFile, record, target.Offset);
        }

        var error = ReadAll(victim);
        Assert.Equal(ContainerFault.ChunkAuthenticationFailed, error.Fault);
        Assert.Equal(1, error.ChunkIndex);
    }

    [Fact]
    public async Task Truncated_trailer_is_refused_as_missing()
    {
        var path = await PackAsync("a.tmf", TestData.Text(2 * Chunk));
        using (var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite))
        {
            RandomAccess.SetLength(file, RandomAccess.GetLength(file) - 7);
        }

        var error = Assert.Throws<ContainerException>(() => ContainerReader.Open(path, _keys.Resolver));
        Assert.Equal(ContainerFault.TrailerMissing, error.Fault);
    }

    [Fact]
    public async Task Altered_trailer_is_refused()
    {
        var path = await PackAsync("a.tmf", TestData.Text(2 * Chunk));
        var length = new FileInfo(path).Length;
        FlipBit(path, length - ContainerFormat.FooterSize - 40);
        var error = Assert.Throws<ContainerException>(() => ContainerReader.Open(path, _keys.Resolver));
        Assert.Equal(ContainerFault.TrailerCorrupt, error.Fault);
    }

    [Fact]
    public async Task Altered_header_chunk_size_is_refused()
    {
        var path = await PackAsync("a.tmf", TestData.Text(2 * Chunk));
        var bytes = File.ReadAllBytes(path);
        bytes[14] ^= 0x01;
        File.WriteAllBytes(path, bytes);
        var error = Assert.Throws<ContainerException>(() => ContainerReader.Open(path, _keys.Resolver));
        Assert.Equal(ContainerFault.HeaderCorrupt, error.Fault);
    }

    [Fact]
    public async Task Wrong_key_is_refused_before_any_plaintext()
    {
        var path = await PackAsync("a.tmf", TestData.Text(2 * Chunk));
        var error = Assert.Throws<ContainerException>(() => ContainerReader.Open(path, ContainerKeys.WrongKey));
        Assert.Equal(ContainerFault.TrailerCorrupt, error.Fault);
        Assert.Contains("wrong key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_that_is_not_a_container_is_refused()
    {
        var path = _dir.File("plain.txt");
        File.WriteAllText(path, new string('x', 500));
        Assert.Equal(ContainerFault.NotAContainer, Assert.Throws<ContainerException>(() => ContainerReader.Open(path, _keys.Resolver)).Fault);
    }

    private async Task<string> PackAsync(string name, byte[] data)
    {
        var source = _dir.File(name + ".src");
        await File.WriteAllBytesAsync(source, data);
        var path = _dir.File(name);
        await ContainerPacker.PackAsync(source, path, _keys.DataKey, _keys.WrappedKey, Guid.NewGuid(), new PipelineOptions { ChunkSize = Chunk, Workers = 1 });
        return path;
    }

    private ChunkEntry EntryOf(string path, long index)
    {
        using var reader = ContainerReader.Open(path, _keys.Resolver);
        return reader.GetEntry(index);
    }

    private ContainerException ReadAll(string path)
    {
        using var reader = ContainerReader.Open(path, _keys.Resolver);
        using var opener = reader.CreateOpener();
        var scratch = new ChunkBufferPool(ContainerFormat.BufferSizeFor(Chunk), 1).Rent();
        var plain = new byte[Chunk];
        return Assert.Throws<ContainerException>(() =>
        {
            for (long i = 0; i < reader.Geometry.ChunkCount; i++)
            {
                reader.ReadChunk(opener, i, scratch, plain);
            }
        });
    }

    private static void FlipBit(string path, long offset)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
        var one = new byte[1];
        RandomAccess.Read(file, one, offset);
        one[0] ^= 0x04;
        RandomAccess.Write(file, one, offset);
    }
}
