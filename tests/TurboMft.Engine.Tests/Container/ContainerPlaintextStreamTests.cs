using TurboMft.Engine.Buffers;
using TurboMft.Engine.Container;
using TurboMft.Engine.Pipeline;
using TurboMft.Engine.Tests.TestSupport;

namespace TurboMft.Engine.Tests.Container;

[Collection(nameof(ProcessMeasurementCollection))]
public class ContainerPlaintextStreamTests : IDisposable
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
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(Chunk)]
    [InlineData((3 * Chunk) + 12345)]
    public async Task Reads_back_the_original_bytes_in_reads_of_any_size(int length)
    {
        var data = TestData.Random(length, length);
        var path = await PackAsync("a.tmf", data);

        foreach (var readSize in new[] { 1, 4095, 65536, 3 * Chunk })
        {
            await using var stream = ContainerPlaintextStream.Open(path, _keys.Resolver);
            Assert.Equal(length, stream.Length);
            Assert.True(stream.CanRead && stream.CanSeek && !stream.CanWrite);
            var copy = new MemoryStream();
            var buffer = new byte[readSize];
            int read;
            while ((read = readSize == 1 ? stream.Read(buffer, 0, 1) : await stream.ReadAsync(buffer)) > 0)
            {
                copy.Write(buffer, 0, read);
                if (readSize == 1 && copy.Length == 10_000)
                {
                    // Byte-at-a-time over a whole chunk is slow; the rest is read in one go.
                    await stream.CopyToAsync(copy);
                }
            }

            Assert.Equal(data, copy.ToArray());
            Assert.Equal(0, await stream.ReadAsync(buffer));
        }
    }

    [Fact]
    public async Task Seeks_to_any_position_across_chunks()
    {
        var data = TestData.Text((2 * Chunk) + 999);
        var path = await PackAsync("a.tmf", data);
        await using var stream = ContainerPlaintextStream.Open(path, _keys.Resolver);
        var buffer = new byte[5000];

        foreach (var position in new long[] { (2 * Chunk) + 10, 7, Chunk - 2500, data.Length - 1 })
        {
            Assert.Equal(position, stream.Seek(position, SeekOrigin.Begin));
            var read = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false);
            Assert.Equal(Math.Min(buffer.Length, data.Length - position), read);
            Assert.Equal(data.AsSpan((int)position, read).ToArray(), buffer.AsSpan(0, read).ToArray());
        }

        stream.Seek(-100, SeekOrigin.End);
        Assert.Equal(100, await stream.ReadAtLeastAsync(buffer, 100, throwOnEndOfStream: false));
        Assert.Equal(data.AsSpan(data.Length - 100).ToArray(), buffer.AsSpan(0, 100).ToArray());
    }

    [Fact]
    public async Task A_flipped_bit_in_a_record_throws_naming_the_chunk_and_no_plaintext_of_it_is_returned()
    {
        var data = TestData.Random(3 * Chunk, 7);
        var path = await PackAsync("tampered.tmf", data);
        long offset;
        using (var reader = ContainerReader.Open(path, _keys.Resolver))
        {
            offset = reader.GetEntry(1).Offset + ContainerFormat.RecordHeaderSize + 100;
        }

        using (var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite))
        {
            var one = new byte[1];
            RandomAccess.Read(file, one, offset);
            one[0] ^= 0x10;
            RandomAccess.Write(file, one, offset);
        }

        await using var stream = ContainerPlaintextStream.Open(path, _keys.Resolver);
        var copy = new MemoryStream();
        var error = await Assert.ThrowsAsync<ContainerException>(() => stream.CopyToAsync(copy));
        Assert.Equal(ContainerFault.ChunkAuthenticationFailed, error.Fault);
        Assert.Equal(1, error.ChunkIndex);
        Assert.Equal(Chunk, copy.Length);
    }

    [Fact]
    public async Task A_wrong_key_is_refused_at_open()
    {
        var path = await PackAsync("a.tmf", TestData.Text(Chunk));
        var error = Assert.Throws<ContainerException>(() => ContainerPlaintextStream.Open(path, ContainerKeys.WrongKey));
        Assert.Equal(ContainerFault.TrailerCorrupt, error.Fault);
    }

    [Fact]
    public async Task Holds_one_chunk_from_the_pool_and_returns_its_buffers_on_dispose()
    {
        const int length = 64 * Chunk;
        var path = await PackAsync("big.tmf", TestData.Pattern(length));
        using var pool = new ChunkBufferPool(ContainerFormat.BufferSizeFor(Chunk), 8);
        var buffer = new byte[81920];
        long total = 0;
        await using (var stream = ContainerPlaintextStream.Open(path, _keys.Resolver, pool))
        {
            // Warm up (first read rents), then measure what reading the remaining 63 chunks allocates.
            total += await stream.ReadAsync(buffer);
            var before = GC.GetTotalAllocatedBytes(precise: true);
            int read;
            while ((read = await stream.ReadAsync(buffer)) > 0)
            {
                total += read;
                Assert.True(pool.InFlight <= 2);
            }

            var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
            Assert.True(allocated < 1 << 20, $"reading 64 MiB allocated {allocated} bytes");
            Assert.Equal(2, pool.InFlight);
        }

        Assert.Equal(length, total);
        Assert.Equal(0, pool.InFlight);
        Assert.Equal(2, pool.Created);
    }

    [Fact]
    public async Task A_read_cancelled_while_waiting_for_the_budget_returns_what_it_rented()
    {
        var path = await PackAsync("a.tmf", TestData.Text(Chunk));
        using var pool = new ChunkBufferPool(ContainerFormat.BufferSizeFor(Chunk), 2);
        var other = await pool.RentAsync();
        await using (var stream = ContainerPlaintextStream.Open(path, _keys.Resolver, pool))
        {
            using var cancel = new CancellationTokenSource(100);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await stream.ReadAtLeastAsync(new byte[10], 10, throwOnEndOfStream: true, cancel.Token));
            Assert.Equal(2, pool.InFlight);
        }

        Assert.Equal(1, pool.InFlight);
        pool.Return(other);
    }

    [Fact]
    public async Task A_pool_with_buffers_too_small_for_the_chunk_size_is_refused()
    {
        var path = await PackAsync("a.tmf", TestData.Text(10));
        using var pool = new ChunkBufferPool(4096, 2);
        Assert.Throws<ArgumentException>(() => ContainerPlaintextStream.Open(path, _keys.Resolver, pool));
    }

    private async Task<string> PackAsync(string name, byte[] data)
    {
        var source = _dir.File(name + ".src");
        await File.WriteAllBytesAsync(source, data);
        var path = _dir.File(name);
        await ContainerPacker.PackAsync(source, path, _keys.DataKey, _keys.WrappedKey, Guid.NewGuid(), new PipelineOptions { ChunkSize = Chunk, Workers = 1 });
        return path;
    }
}
