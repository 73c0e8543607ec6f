using K4os.Compression.LZ4;

namespace TurboMft.Engine.Compression;

/// <summary>
/// Adaptive LZ4 for chunks: a chunk that does not shrink by at least 1/16 stays raw, and a chunk whose first
/// 64 KiB does not shrink is not tried at all, so incompressible imaging or random data costs almost nothing.
/// Thread-safe and allocation-free.
/// </summary>
public sealed class ChunkCompressor
{
    /// <summary>Bytes sampled before committing to compress a whole chunk.</summary>
    public const int ProbeLength = 64 * 1024;

    /// <summary>A shared compressor with the default policy.</summary>
    public static readonly ChunkCompressor Adaptive = new(CompressionMode.Adaptive);

    /// <summary>A compressor that keeps every chunk raw.</summary>
    public static readonly ChunkCompressor Off = new(CompressionMode.Off);

    /// <summary>Creates a compressor with the given mode.</summary>
    public ChunkCompressor(CompressionMode mode) => Mode = mode;

    /// <summary>The policy in force.</summary>
    public CompressionMode Mode { get; }

    /// <summary>Largest output LZ4 may produce for <paramref name="length"/> input bytes; size scratch buffers with it.</summary>
    public static int MaxEncodedLength(int length) => LZ4Codec.MaximumOutputSize(length);

    /// <summary>The most bytes a compressed chunk may take and still count as worth compressing.</summary>
    public static int WorthwhileLimit(int length) => length - (length >> 4) - 1;

    /// <summary>
    /// Tries to compress <paramref name="source"/> into <paramref name="destination"/>. Returns <see cref="ChunkEncoding.Lz4"/>
    /// with <paramref name="written"/> bytes when it pays, else <see cref="ChunkEncoding.Raw"/> and 0 (the caller keeps the source).
    /// </summary>
    public ChunkEncoding Compress(ReadOnlySpan<byte> source, Span<byte> destination, out int written)
    {
        written = 0;
        if (Mode == CompressionMode.Off || source.Length < 64)
        {
            return ChunkEncoding.Raw;
        }

        if (source.Length > 4 * ProbeLength)
        {
            var probe = source[..ProbeLength];
            var probeLimit = WorthwhileLimit(ProbeLength);
            var probed = LZ4Codec.Encode(probe, destination[..Math.Min(destination.Length, probeLimit)], LZ4Level.L00_FAST);
            if (probed <= 0)
            {
                return ChunkEncoding.Raw;
            }
        }

        // Encoding into a window capped at the worthwhile size stops LZ4 as soon as it cannot pay off.
        var limit = Math.Min(destination.Length, WorthwhileLimit(source.Length));
        var encoded = LZ4Codec.Encode(source, destination[..limit], LZ4Level.L00_FAST);
        if (encoded <= 0)
        {
            return ChunkEncoding.Raw;
        }

        written = encoded;
        return ChunkEncoding.Lz4;
    }

    /// <summary>
    /// Decodes a stored chunk into <paramref name="destination"/>, which must be exactly the plaintext length.
    /// Throws <see cref="ChunkDecodeException"/> when the bytes do not decode to that length.
    /// </summary>
    public static void Decode(ChunkEncoding encoding, ReadOnlySpan<byte> source, Span<byte> destination)
    {
        switch (encoding)
        {
            case ChunkEncoding.Raw:
                if (source.Length != destination.Length)
                {
                    throw new ChunkDecodeException($"A raw chunk holds {source.Length} bytes where {destination.Length} were expected.");
                }

                source.CopyTo(destination);
                return;
            case ChunkEncoding.Lz4:
                var decoded = LZ4Codec.Decode(source, destination);
                if (decoded != destination.Length)
                {
                    throw new ChunkDecodeException($"An LZ4 chunk decoded to {Math.Max(decoded, 0)} bytes where {destination.Length} were expected.");
                }

                return;
            default:
                throw new ChunkDecodeException($"Unknown chunk encoding {(byte)encoding}.");
        }
    }
}

/// <summary>Chunk bytes that do not decode to the declared plaintext.</summary>
public sealed class ChunkDecodeException(string message) : IOException(message);
