using System.Security.Cryptography;
using TurboMft.Engine.Compression;
using TurboMft.Engine.Datasets;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Protocol;

namespace TurboMft.Load.Workload;

/// <summary>One chunk as it goes on the wire: its body bytes, whether they are an LZ4 block, and the plaintext's CRC-64/NVME header value.</summary>
public sealed record ChunkBody(byte[] Array, int Offset, int Count, int PlainLength, bool Lz4, string Crc);

/// <summary>
/// The bytes every simulated file is made of, generated once into memory: a file of size S is the first S bytes. Chunk
/// bodies (CRC-64/NVME, and an LZ4 block where the client's adaptive compression would send one) and the one-shot SHA-256
/// digests are computed up front, so the driver spends its CPU on requests, not on hashing or compressing the same bytes again.
/// </summary>
public sealed class Payload
{
    private readonly ChunkBody[] _fullChunks;
    private readonly Dictionary<int, ChunkBody> _tails = [];
    private readonly Dictionary<int, (string ReprDigest, string Sha256)> _whole = [];

    private Payload(byte[] bytes, int chunkSize, ChunkBody[] fullChunks)
    {
        Bytes = bytes;
        ChunkSize = chunkSize;
        _fullChunks = fullChunks;
    }

    /// <summary>The content; a file of size S is its first S bytes.</summary>
    public byte[] Bytes { get; }

    /// <summary>The chunk size of session uploads; files smaller than this go as one-shot PUTs, as the reference client sends them.</summary>
    public int ChunkSize { get; }

    /// <summary>
    /// Generates <paramref name="kind"/> content from <paramref name="seed"/> for the largest of <paramref name="sizes"/> and
    /// prepares every chunk and digest those sizes need; <paramref name="compress"/> applies the client's adaptive LZ4.
    /// The content is at least <paramref name="minimumLength"/> bytes long.
    /// </summary>
    public static Payload Create(DatasetKind kind, long seed, int chunkSize, IReadOnlyCollection<int> sizes, bool compress, int minimumLength = 0)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        var bytes = GC.AllocateUninitializedArray<byte>(Math.Max(sizes.Max(), minimumLength), pinned: true);
        DatasetGenerator.Fill(kind, seed, 0, bytes);
        var compressor = compress ? ChunkCompressor.Adaptive : ChunkCompressor.Off;
        var full = new ChunkBody[bytes.Length / chunkSize];
        Parallel.For(0, full.Length, i => full[i] = Prepare(bytes, i * chunkSize, chunkSize, compressor));
        var payload = new Payload(bytes, chunkSize, full);
        foreach (var size in sizes.Distinct())
        {
            if (size < chunkSize)
            {
                var sha = SHA256.HashData(bytes.AsSpan(0, size));
                payload._whole[size] = (DigestFields.FormatSha256(sha), "sha256:" + Convert.ToHexStringLower(sha));
            }
            else if (size % chunkSize != 0)
            {
                var tail = size / chunkSize * chunkSize;
                payload._tails[size] = Prepare(bytes, tail, size - tail, compressor);
            }
        }

        return payload;
    }

    /// <summary>Chunk <paramref name="index"/> of a file of <paramref name="fileSize"/> bytes (a size given to <see cref="Create"/>).</summary>
    public ChunkBody Chunk(int fileSize, long index)
    {
        var offset = index * ChunkSize;
        return offset + ChunkSize <= fileSize ? _fullChunks[index] : _tails[fileSize];
    }

    /// <summary>The <c>Repr-Digest</c> header value of a one-shot file of <paramref name="size"/> bytes.</summary>
    public string ReprDigest(int size) => _whole[size].ReprDigest;

    /// <summary>The <c>sha256:HEX</c> the server answers for a one-shot file of <paramref name="size"/> bytes.</summary>
    public string Sha256(int size) => _whole[size].Sha256;

    private static ChunkBody Prepare(byte[] bytes, int offset, int length, ChunkCompressor compressor)
    {
        var plain = bytes.AsSpan(offset, length);
        var crc = ChunkCrc.Format(ChunkCrc.Compute(plain));
        var block = new byte[ChunkCompressor.MaxEncodedLength(length)];
        return compressor.Compress(plain, block, out var written) == ChunkEncoding.Lz4
            ? new ChunkBody(block, 0, written, length, true, crc)
            : new ChunkBody(bytes, offset, length, length, false, crc);
    }
}
