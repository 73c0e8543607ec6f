using System.Buffers.Binary;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Compression;
using TurboMft.Engine.Container;

namespace TurboMft.Fuzz.Targets;

/// <summary>
/// Chunk upload framing: a chunk body as <c>PUT</c> sends it, decoded by <see cref="ChunkCompressor.Decode"/> into the
/// chunk's plaintext length (src/Host/Server/UploadEndpoints.cs), and a stored chunk record header
/// (<see cref="ChunkRecord.TryReadHeader"/>). Input: encoding (1 byte), plaintext length (u24 LE), then the body.
/// Expected: <see cref="ChunkDecodeException"/>, or false from the record header reader.
/// </summary>
public sealed class ChunkTarget : FuzzTarget
{
    /// <summary>Bytes before the body: encoding and plaintext length.</summary>
    public const int PrefixSize = 4;

    /// <inheritdoc />
    public override string Name => "chunk";

    /// <inheritdoc />
    public override string Description => "chunk body (raw or LZ4 block, Content-Encoding) and chunk record header";

    /// <summary>The input that carries <paramref name="body"/> in <paramref name="encoding"/>, of <paramref name="plainLength"/> bytes decoded.</summary>
    public static byte[] Frame(ChunkEncoding encoding, int plainLength, ReadOnlySpan<byte> body)
    {
        var input = new byte[PrefixSize + body.Length];
        input[0] = (byte)encoding;
        input[1] = (byte)plainLength;
        input[2] = (byte)(plainLength >> 8);
        input[3] = (byte)(plainLength >> 16);
        body.CopyTo(input.AsSpan(PrefixSize));
        return input;
    }

    /// <inheritdoc />
    public override FuzzOutcome Run(ReadOnlySpan<byte> input)
    {
        // The record header reader answers true or false for any bytes; it must not throw.
        _ = ChunkRecord.TryReadHeader(input, ContainerFormat.HeaderSize, out _);
        if (input.Length < PrefixSize)
        {
            return FuzzOutcome.Refuse("shorter than the encoding and length prefix");
        }

        var encoding = (ChunkEncoding)input[0];
        var plainLength = (int)(BinaryPrimitives.ReadUInt32LittleEndian(input) >> 8);
        var body = input[PrefixSize..];

        // As the upload endpoint does before decoding: a known coding, a length within one chunk, a body that can be it.
        if (encoding is not (ChunkEncoding.Raw or ChunkEncoding.Lz4) || plainLength > ChunkGeometry.MaxChunkSize)
        {
            return FuzzOutcome.Refuse("unsupported encoding or length");
        }

        var maxLength = encoding == ChunkEncoding.Raw ? plainLength : ChunkCompressor.MaxEncodedLength(plainLength);
        if (body.Length > maxLength || (encoding == ChunkEncoding.Raw && body.Length != plainLength))
        {
            return FuzzOutcome.Refuse("body length cannot be the chunk");
        }

        var plain = new byte[plainLength];
        try
        {
            ChunkCompressor.Decode(encoding, body, plain);
        }
        catch (ChunkDecodeException e)
        {
            return FuzzOutcome.Refuse(e.Message);
        }

        if (encoding == ChunkEncoding.Raw)
        {
            FuzzInvariantException.Check(body.SequenceEqual(plain), "a raw chunk decoded to other bytes");
        }

        return FuzzOutcome.Accept;
    }
}
