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
}
