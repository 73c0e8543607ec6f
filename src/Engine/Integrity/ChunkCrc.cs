using System.IO.Hashing;

namespace TurboMft.Engine.Integrity;

/// <summary>CRC-64/NVME of a chunk's plaintext: the cheap end-to-end check every chunk carries (see DESIGN "two tiers").</summary>
public static class ChunkCrc
{
    /// <summary>CRC-64/NVME of ASCII "123456789", the catalogue check value.</summary>
    public const ulong CheckValue = 0xAE8B14860A799888;

    /// <summary>Computes CRC-64/NVME (reflected, poly 0xAD93D23594C93659, init and xorout all ones) of <paramref name="data"/>.</summary>
    public static ulong Compute(ReadOnlySpan<byte> data) => Crc64.HashToUInt64(Crc64ParameterSet.Nvme, data);

    /// <summary>Formats a CRC as 16 lowercase hex digits, the form used in headers and logs.</summary>
    public static string Format(ulong crc) => crc.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Parses 16 hex digits written by <see cref="Format"/>.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out ulong crc) =>
        ulong.TryParse(text, System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out crc) && text.Length == 16;
}
