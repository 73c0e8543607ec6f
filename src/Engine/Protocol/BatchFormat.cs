using System.Buffers.Binary;
using System.Security.Cryptography;

namespace TurboMft.Engine.Protocol;

/// <summary>
/// The body of a batch upload (<c>POST /v1/batch</c>, docs/protocol.md "Batch upload"): many small files in one request,
/// each framed with its path, size and CRC-64/NVME, so per-file round trips and per-request costs are paid once per batch.
/// Little-endian throughout:
/// <code>
/// preamble : "TMFB" | version (1 byte, 1) | 3 zero bytes
/// entry    : path length (u16, 1..4096) | flags (u8) | 0 (u8) | size (u32) | CRC-64/NVME of the content (u64)
///            | SHA-256 of the content (32 bytes, when flags has <see cref="HasSha256"/>) | path (UTF-8) | content (size bytes)
/// end      : path length 0 (u16); nothing may follow
/// </code>
/// </summary>
public static class BatchFormat
{
    /// <summary>The media type of a batch body.</summary>
    public const string MediaType = "application/vnd.turbomft.batch";

    /// <summary>Bytes of the preamble.</summary>
    public const int PreambleSize = 8;

    /// <summary>Bytes of an entry's fixed header (path length, flags, size, CRC), before the optional SHA-256.</summary>
    public const int EntryHeaderSize = 16;

    /// <summary>Bytes of the end marker.</summary>
    public const int EndSize = 2;

    /// <summary>Entry flag: a SHA-256 of the content follows the fixed header and the server checks it.</summary>
    public const byte HasSha256 = 1;

    /// <summary>The format version this build writes and reads.</summary>
    public const byte Version = 1;

    /// <summary>Longest path in bytes (<c>RemotePath.MaxPathBytes</c>).</summary>
    public const int MaxPathBytes = 4096;

    private static ReadOnlySpan<byte> Magic => "TMFB"u8;

    /// <summary>Writes the preamble into <paramref name="destination"/> (at least <see cref="PreambleSize"/> bytes).</summary>
    public static void WritePreamble(Span<byte> destination)
    {
        Magic.CopyTo(destination);
        destination[4] = Version;
        destination[5..PreambleSize].Clear();
    }

    /// <summary>Null when <paramref name="preamble"/> opens a batch of this version, else what is wrong with it.</summary>
    public static string? CheckPreamble(ReadOnlySpan<byte> preamble)
    {
        if (preamble.Length < PreambleSize || !preamble[..4].SequenceEqual(Magic))
        {
            return "The body does not start with the batch preamble \"TMFB\".";
        }

        if (preamble[4] != Version)
        {
            return $"Batch format version {preamble[4]} is not supported; this server reads version {Version}.";
        }

        return preamble[5..PreambleSize].ContainsAnyExcept((byte)0) ? "The preamble's reserved bytes must be zero." : null;
    }

    /// <summary>
    /// Writes an entry's fixed header, and its SHA-256 when <paramref name="sha256"/> is not empty, into
    /// <paramref name="destination"/>; returns the bytes written (<see cref="EntryHeaderSize"/>, plus 32 with a SHA-256).
    /// The path and the content follow.
    /// </summary>
    public static int WriteEntryHeader(Span<byte> destination, int pathBytes, uint size, ulong crc64, ReadOnlySpan<byte> sha256)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pathBytes, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pathBytes, MaxPathBytes);
        if (!sha256.IsEmpty && sha256.Length != SHA256.HashSizeInBytes)
        {
            throw new ArgumentException("A SHA-256 is 32 bytes.", nameof(sha256));
        }

        BinaryPrimitives.WriteUInt16LittleEndian(destination, (ushort)pathBytes);
        destination[2] = sha256.IsEmpty ? (byte)0 : HasSha256;
        destination[3] = 0;
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], size);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], crc64);
        if (sha256.IsEmpty)
        {
            return EntryHeaderSize;
        }

        sha256.CopyTo(destination[EntryHeaderSize..]);
        return EntryHeaderSize + SHA256.HashSizeInBytes;
    }

    /// <summary>Writes the end marker into <paramref name="destination"/> (at least <see cref="EndSize"/> bytes).</summary>
    public static void WriteEnd(Span<byte> destination) => BinaryPrimitives.WriteUInt16LittleEndian(destination, 0);

    /// <summary>The path length in the first two bytes of an entry; 0 is the end marker.</summary>
    public static int ReadPathLength(ReadOnlySpan<byte> source) => BinaryPrimitives.ReadUInt16LittleEndian(source);

    /// <summary>
    /// Reads the rest of a fixed header (<paramref name="header"/> is all <see cref="EntryHeaderSize"/> bytes). Returns null,
    /// or what is wrong: unknown flags or a non-zero reserved byte.
    /// </summary>
    public static string? ReadEntryHeader(ReadOnlySpan<byte> header, out bool hasSha256, out uint size, out ulong crc64)
    {
        var flags = header[2];
        hasSha256 = (flags & HasSha256) != 0;
        size = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
        crc64 = BinaryPrimitives.ReadUInt64LittleEndian(header[8..]);
        if ((flags & ~HasSha256) != 0 || header[3] != 0)
        {
            return $"Unknown entry flags 0x{flags:x2} or a non-zero reserved byte.";
        }

        return null;
    }
}
