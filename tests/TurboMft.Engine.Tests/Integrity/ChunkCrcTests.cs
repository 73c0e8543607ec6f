using TurboMft.Engine.Integrity;

namespace TurboMft.Engine.Tests.Integrity;

public class ChunkCrcTests
{
    [Fact]
    public void Crc64Nvme_of_check_string_matches_catalogue()
    {
        Assert.Equal(ChunkCrc.CheckValue, ChunkCrc.Compute("123456789"u8));
        Assert.Equal(0xAE8B14860A799888UL, ChunkCrc.Compute("123456789"u8));
    }

    [Fact]
    public void Crc_detects_a_single_flipped_bit_and_formats_as_16_hex_digits()
    {
        var data = new byte[4096];
        var before = ChunkCrc.Compute(data);
        data[1000] ^= 0x10;
        Assert.NotEqual(before, ChunkCrc.Compute(data));
        Assert.Equal("ae8b14860a799888", ChunkCrc.Format(ChunkCrc.CheckValue));
        Assert.True(ChunkCrc.TryParse("ae8b14860a799888", out var parsed));
        Assert.Equal(ChunkCrc.CheckValue, parsed);
        Assert.False(ChunkCrc.TryParse("ae8b", out _));
    }
}
