using TurboMft.Engine.Compression;
using TurboMft.Engine.Tests.TestSupport;

namespace TurboMft.Engine.Tests.Compression;

public class ChunkCompressorTests
{
    [Fact]
    public void Compressible_chunk_is_stored_lz4_and_decodes_exactly()
    {
        var source = TestData.Text(1 << 20);
        var encoded = new byte[ChunkCompressor.MaxEncodedLength(source.Length)];
        var encoding = ChunkCompressor.Adaptive.Compress(source, encoded, out var written);
        Assert.Equal(ChunkEncoding.Lz4, encoding);
        Assert.True(written < source.Length / 2, $"{written} bytes");

        var decoded = new byte[source.Length];
        ChunkCompressor.Decode(encoding, encoded.AsSpan(0, written), decoded);
        Assert.Equal(source, decoded);
    }

    [Fact]
    public void Incompressible_chunk_stays_raw()
    {
        var source = TestData.Random(1 << 20, 5);
        var encoded = new byte[ChunkCompressor.MaxEncodedLength(source.Length)];
        Assert.Equal(ChunkEncoding.Raw, ChunkCompressor.Adaptive.Compress(source, encoded, out var written));
        Assert.Equal(0, written);
    }

    [Fact]
    public void Compression_off_keeps_everything_raw()
    {
        var source = TestData.Text(1 << 20);
        Assert.Equal(ChunkEncoding.Raw, ChunkCompressor.Off.Compress(source, new byte[2 << 20], out _));
    }

    [Fact]
    public void Chunk_that_shrinks_too_little_stays_raw()
    {
        // Random bytes with every 32nd byte zero: LZ4 cannot find matches worth 1/16 of the size.
        var source = TestData.Random(1 << 20, 9);
        for (var i = 0; i < source.Length; i += 32)
        {
            source[i] = 0;
        }

        Assert.Equal(ChunkEncoding.Raw, ChunkCompressor.Adaptive.Compress(source, new byte[2 << 20], out _));
    }

    [Fact]
    public void Corrupt_or_wrong_length_lz4_is_refused()
    {
        var source = TestData.Text(1 << 20);
        var encoded = new byte[ChunkCompressor.MaxEncodedLength(source.Length)];
        ChunkCompressor.Adaptive.Compress(source, encoded, out var written);
        Assert.Throws<ChunkDecodeException>(() => ChunkCompressor.Decode(ChunkEncoding.Lz4, encoded.AsSpan(0, written), new byte[source.Length - 1]));
        Assert.Throws<ChunkDecodeException>(() => ChunkCompressor.Decode(ChunkEncoding.Lz4, encoded.AsSpan(0, written / 2), new byte[source.Length]));
        Assert.Throws<ChunkDecodeException>(() => ChunkCompressor.Decode(ChunkEncoding.Raw, source, new byte[10]));
        Assert.Throws<ChunkDecodeException>(() => ChunkCompressor.Decode((ChunkEncoding)7, source, new byte[source.Length]));
    }
}
