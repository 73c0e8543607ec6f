using System.Security.Cryptography;

namespace TurboMft.Engine.Protocol;

/// <summary>RFC 9530 <c>Content-Digest</c> / <c>Repr-Digest</c> fields: <c>sha-256=:&lt;base64&gt;:</c>, possibly among other algorithms.</summary>
public static class DigestFields
{
    /// <summary>Formats a SHA-256 digest as a field value.</summary>
    public static string FormatSha256(ReadOnlySpan<byte> sha256) => "sha-256=:" + Convert.ToBase64String(sha256) + ":";

    /// <summary>
    /// Finds the <c>sha-256</c> member of a digest field and decodes it into <paramref name="sha256"/> (32 bytes).
    /// False when the field has no sha-256 member or it is malformed.
    /// </summary>
    public static bool TryGetSha256(string? field, Span<byte> sha256)
    {
        if (string.IsNullOrWhiteSpace(field))
        {
            return false;
        }

        foreach (var member in field.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = member.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0 || !member.AsSpan(0, equals).Trim().Equals("sha-256", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var value = member.AsSpan(equals + 1).Trim();
            if (value.Length < 2 || value[0] != ':' || value[^1] != ':')
            {
                return false;
            }

            return Convert.TryFromBase64Chars(value[1..^1], sha256, out var written) && written == SHA256.HashSizeInBytes;
        }

        return false;
    }
}
