using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace TurboMft.Engine.Datasets;

/// <summary>Incompressible blocks: xoshiro256** output written little-endian, so the bytes do not depend on the CPU.</summary>
internal static class RandomBlock
{
    private const ulong Stream = 3;

    public static void Fill(long seed, long blockIndex, Span<byte> block)
    {
        var rng = Xoshiro256StarStar.For(seed, Stream, blockIndex);
        var words = MemoryMarshal.Cast<byte, ulong>(block);
        for (var i = 0; i < words.Length; i++)
        {
            var value = rng.Next();
            words[i] = BitConverter.IsLittleEndian ? value : BinaryPrimitives.ReverseEndianness(value);
        }
    }
}
