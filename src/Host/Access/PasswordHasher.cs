using System.Security.Cryptography;
using System.Text;

namespace TurboMft.Host.Access;

/// <summary>A stored password verifier: PBKDF2-HMAC-SHA256 of the password under a per-user salt, with its iteration count.</summary>
/// <param name="Hash">The 32-byte derived key.</param>
/// <param name="Salt">The 16-byte random salt.</param>
/// <param name="Iterations">The PBKDF2 iteration count used (kept, so raising the default does not break old passwords).</param>
public sealed record PasswordHash(byte[] Hash, byte[] Salt, int Iterations);

/// <summary>
/// Password hashing (docs/security.md, "Passwords"): PBKDF2-HMAC-SHA256, at least <see cref="DefaultIterations"/>
/// iterations (OWASP's 2023 figure), a 16-byte random salt per user and a 32-byte result, compared in constant time.
/// The password is normalised to Unicode NFC and encoded as UTF-8 first, so the same password typed on any system matches.
/// </summary>
public static class PasswordHasher
{
    /// <summary>The default and minimum iteration count.</summary>
    public const int DefaultIterations = 600_000;

    /// <summary>Salt length in bytes.</summary>
    public const int SaltBytes = 16;

    /// <summary>Derived key length in bytes.</summary>
    public const int HashBytes = 32;

    /// <summary>Shortest password accepted.</summary>
    public const int MinLength = 12;

    /// <summary>Longest password accepted (bounds the work a request can cause).</summary>
    public const int MaxLength = 1024;

    /// <summary>PBKDF2-HMAC-SHA256 of raw bytes: the primitive, exposed for known-answer tests.</summary>
    public static byte[] Derive(ReadOnlySpan<byte> password, ReadOnlySpan<byte> salt, int iterations, int length)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        var result = new byte[length];
        Rfc2898DeriveBytes.Pbkdf2(password, salt, result, iterations, HashAlgorithmName.SHA256);
        return result;
    }

    /// <summary>Hashes <paramref name="password"/> under a new random salt.</summary>
    /// <exception cref="AccessException">The password is shorter than <see cref="MinLength"/> or longer than <see cref="MaxLength"/>.</exception>
    public static PasswordHash Hash(string password, int iterations = DefaultIterations)
    {
        ValidatePassword(password);
        ValidateIterations(iterations);
        if (Normalized(password) is null)
        {
            throw new AccessException(AccessError.InvalidRequest, "The password is not valid Unicode text.");
        }

        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        return new PasswordHash(DeriveFromText(password, salt, iterations), salt, iterations);
    }

    /// <summary>True when <paramref name="password"/> matches <paramref name="stored"/>; always does the full PBKDF2 work.</summary>
    public static bool Verify(string password, PasswordHash stored)
    {
        ArgumentNullException.ThrowIfNull(password);
        ArgumentNullException.ThrowIfNull(stored);
        var text = password.Length > MaxLength ? password[..MaxLength] : password;
        var actual = DeriveFromText(text, stored.Salt, stored.Iterations);

        // An overlong or invalid text still costs a full derivation, then fails.
        return CryptographicOperations.FixedTimeEquals(actual, stored.Hash) && password.Length <= MaxLength && Normalized(password) is not null;
    }

    /// <summary>Throws <see cref="AccessException"/> for a password that is too short or too long.</summary>
    public static void ValidatePassword(string? password)
    {
        if (password is null || password.Length < MinLength)
        {
            throw new AccessException(AccessError.InvalidRequest, $"The password must have at least {MinLength} characters.");
        }

        if (password.Length > MaxLength)
        {
            throw new AccessException(AccessError.InvalidRequest, $"The password must have at most {MaxLength} characters.");
        }
    }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for an iteration count below <see cref="DefaultIterations"/>.</summary>
    public static void ValidateIterations(int iterations)
    {
        if (iterations < DefaultIterations)
        {
            throw new ArgumentOutOfRangeException(nameof(iterations), iterations, $"PasswordIterations must be at least {DefaultIterations}.");
        }
    }

    /// <summary>The NFC form, or null for text that is not valid Unicode (a lone surrogate).</summary>
    private static string? Normalized(string password)
    {
        try
        {
            return password.Normalize(NormalizationForm.FormC);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    private static byte[] DeriveFromText(string password, byte[] salt, int iterations)
    {
        var bytes = Encoding.UTF8.GetBytes(Normalized(password) ?? password);
        try
        {
            return Derive(bytes, salt, iterations, HashBytes);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }
}
