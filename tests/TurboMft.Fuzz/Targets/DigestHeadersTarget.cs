using System.Security.Cryptography;
using System.Text;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Protocol;

namespace TurboMft.Fuzz.Targets;

/// <summary>
/// The digest headers of the protocol: <c>Repr-Digest</c>/<c>Content-Digest</c> (<see cref="DigestFields.TryGetSha256"/>),
/// <c>TMF-Chunk-CRC64</c> (<see cref="ChunkCrc.TryParse"/>) and <c>sha256-tree:</c> digests (<see cref="FileDigest.TryParse"/>),
/// each given the whole input as its value. Expected: false. Whatever parses must format and parse back to the same value.
/// </summary>
public sealed class DigestHeadersTarget : FuzzTarget
{
    /// <inheritdoc />
    public override string Name => "digest-headers";

    /// <inheritdoc />
    public override string Description => "Repr-Digest / Content-Digest, TMF-Chunk-CRC64 and sha256-tree digest values";

    /// <inheritdoc />
    public override FuzzOutcome Run(ReadOnlySpan<byte> input)
    {
        var text = Encoding.UTF8.GetString(input);
        var accepted = false;

        Span<byte> sha = stackalloc byte[SHA256.HashSizeInBytes];
        if (DigestFields.TryGetSha256(text, sha))
        {
            accepted = true;
            Span<byte> again = stackalloc byte[SHA256.HashSizeInBytes];
            FuzzInvariantException.Check(DigestFields.TryGetSha256(DigestFields.FormatSha256(sha), again) && again.SequenceEqual(sha), "a digest field does not round-trip");
        }

        if (ChunkCrc.TryParse(text, out var crc))
        {
            accepted = true;
            FuzzInvariantException.Check(ChunkCrc.TryParse(ChunkCrc.Format(crc), out var back) && back == crc, "a CRC does not round-trip");
        }

        if (FileDigest.TryParse(text, out var digest))
        {
            accepted = true;
            FuzzInvariantException.Check(FileDigest.TryParse(digest.ToString(), out var back) && back == digest, "a file digest does not round-trip");
        }

        return accepted ? FuzzOutcome.Accept : FuzzOutcome.Refuse("no header parsed it");
    }
}
