using System.IO.Hashing;
using System.Security.Cryptography;

namespace TurboMft.Engine.Pipeline;

/// <summary>
/// Reads a chunk and computes its CRC-64/NVME and SHA-256 in the same pass over L2-sized slices, so each slice is hashed
/// while still in cache and the chunk leaves memory once. One per worker; reused for every chunk.
/// </summary>
internal sealed class HashingChunkReader : IDisposable
{
    private const int SliceSize = 256 * 1024;
    private readonly Crc64 _crc = new(Crc64ParameterSet.Nvme);
    private readonly IncrementalHash _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    /// <summary>
    /// Fills <paramref name="destination"/> from <paramref name="offset"/> and returns the CRC; writes the SHA-256 into
    /// <paramref name="sha256"/> unless it is empty (fast verification leaves SHA-256 to the receiver).
    /// </summary>
    public ulong ReadAndHash(SourceFile source, Span<byte> destination, long offset, long index, Span<byte> sha256)
    {
        _crc.Reset();
        var withSha = !sha256.IsEmpty;
        for (var at = 0; at < destination.Length; at += SliceSize)
        {
            var slice = destination.Slice(at, Math.Min(SliceSize, destination.Length - at));
            source.ReadExactly(slice, offset + at, index);
            _crc.Append(slice);
            if (withSha)
            {
                _sha.AppendData(slice);
            }
        }

        if (withSha)
        {
            _sha.GetHashAndReset(sha256);
        }

        return _crc.GetCurrentHashAsUInt64();
    }

    public void Dispose() => _sha.Dispose();
}
