using TurboMft.Engine.Chunks;

namespace TurboMft.Engine.Tests.Chunks;

public class ChunkGeometryTests
{
    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 1)]
    [InlineData((1 << 20) - 1, 1)]
    [InlineData(1 << 20, 1)]
    [InlineData((1 << 20) + 1, 2)]
    [InlineData(10L << 30, 10240)]
    public void Chunk_count_and_last_length(long fileSize, long chunks)
    {
        var geometry = new ChunkGeometry(fileSize, 1 << 20);
        Assert.Equal(chunks, geometry.ChunkCount);
        if (chunks > 0)
        {
            var last = geometry.LengthOf(chunks - 1);
            Assert.Equal(fileSize - ((chunks - 1) << 20), last);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3 << 20)]
    [InlineData(1 << 19)]
    [InlineData(128 << 20)]
    [InlineData(-1)]
    public void Chunk_size_must_be_a_power_of_two_from_1_to_64_MiB(int size)
    {
        var error = Assert.Throws<InvalidChunkSizeException>(() => new ChunkGeometry(10, size));
        Assert.Contains("power of two", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("4MiB", 4L << 20)]
    [InlineData("4m", 4L << 20)]
    [InlineData("512KiB", 512L << 10)]
    [InlineData("1048576", 1048576)]
    [InlineData("1G", 1L << 30)]
    public void Byte_sizes_parse(string text, long expected) => Assert.Equal(expected, ByteSize.Parse(text));

    [Theory]
    [InlineData("")]
    [InlineData("4 parsecs")]
    [InlineData("-1")]
    [InlineData("1.5G")]
    public void Bad_byte_sizes_are_refused(string text) => Assert.False(ByteSize.TryParse(text, out _));
}
