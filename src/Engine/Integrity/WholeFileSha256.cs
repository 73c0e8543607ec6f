using System.Security.Cryptography;

namespace TurboMft.Engine.Integrity;

/// <summary>
/// A whole file's plain SHA-256 as the protocol and the metadata write it, <c>sha256:&lt;64 lowercase hex digits&gt;</c>
/// (docs/protocol.md, "Repr-Digest"), beside the chunked <see cref="FileDigest"/>.
/// </summary>
public static class WholeFileSha256
{
    /// <summary>The textual prefix.</summary>
    public const string Prefix = "sha256:";

    /// <summary>The text form of <paramref name="sha256"/> (32 bytes).</summary>
    public static string Format(ReadOnlySpan<byte> sha256)
    {
        if (sha256.Length != SHA256.HashSizeInBytes)
        {
            throw new ArgumentException("A SHA-256 is exactly 32 bytes.", nameof(sha256));
        }

        return Prefix + Convert.ToHexStringLower(sha256);
    }

    /// <summary>
    /// The 64 lowercase hex digits of <paramref name="text"/>, written <c>sha256:HEX</c> (prefix in any case) or as bare hex;
    /// null when it is null or not a SHA-256.
    /// </summary>
    public static string? Hex(string? text)
    {
        if (text is null)
        {
            return null;
        }

        var hex = text.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) ? text.AsSpan(Prefix.Length) : text.AsSpan();
        return hex.Length == 2 * SHA256.HashSizeInBytes && !hex.ContainsAnyExcept("0123456789abcdefABCDEF") ? hex.ToString().ToLowerInvariant() : null;
    }

    /// <summary>The 32 bytes of <paramref name="text"/> (as <see cref="Hex"/> reads it); null when it is not a SHA-256.</summary>
    public static byte[]? Bytes(string? text) => Hex(text) is { } hex ? Convert.FromHexString(hex) : null;
}
