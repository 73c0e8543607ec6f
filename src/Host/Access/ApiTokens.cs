using System.Security.Cryptography;
using System.Text;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Access;

/// <summary>
/// API token ids and secrets (docs/security.md, "Tokens"). The secret is <c>tmf_</c> and 256 random bits in base64url; only
/// its SHA-256 is stored (a 256-bit random secret cannot be guessed, so it needs no slow hash). The id is public: it names
/// the token in listings and audit records.
/// </summary>
public static class ApiTokens
{
    /// <summary>The id of the token registered from <c>DIR/admin.token</c> at first start.</summary>
    public const string AdminTokenId = "tok_admin";

    /// <summary>The prefix of every token id.</summary>
    public const string IdPrefix = "tok_";

    private const string Base32 = "abcdefghijklmnopqrstuvwxyz234567";

    /// <summary>A new secret.</summary>
    public static string NewSecret() => DataDirectory.NewToken();

    /// <summary>A new id: <c>tok_</c> and 12 random base32 characters (60 bits).</summary>
    public static string NewId()
    {
        Span<byte> random = stackalloc byte[12];
        RandomNumberGenerator.Fill(random);
        Span<char> id = stackalloc char[12];
        for (var i = 0; i < id.Length; i++)
        {
            id[i] = Base32[random[i] & 31];
        }

        return IdPrefix + new string(id);
    }

    /// <summary>SHA-256 of the secret's UTF-8 bytes, as stored.</summary>
    public static byte[] Hash(string secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        return SHA256.HashData(Encoding.UTF8.GetBytes(secret));
    }
}
