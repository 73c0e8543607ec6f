namespace TurboMft.Engine.Storage;

/// <summary>
/// The rule for object keys, the same for every <see cref="IObjectStore"/>: 8 to 128 of <c>0-9 a-z -</c>, not starting
/// with '-', so that no key can name anything outside a store's objects (a path, a prefix) or become an option of a shell tool.
/// </summary>
public static class ObjectKeys
{
    /// <summary>Shortest valid object key.</summary>
    public const int MinLength = 8;

    /// <summary>Longest valid object key.</summary>
    public const int MaxLength = 128;

    /// <summary>True when <paramref name="key"/> is a valid object key.</summary>
    public static bool IsValid(string? key) => key is not null && Describe(key) is null;

    /// <summary>Throws unless <paramref name="key"/> is a valid object key; the message says what is wrong.</summary>
    /// <exception cref="ArgumentNullException">The key is null.</exception>
    /// <exception cref="ArgumentException">The key is not valid.</exception>
    public static void ThrowIfInvalid(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var problem = Describe(key);
        if (problem is not null)
        {
            throw new ArgumentException(problem, nameof(key));
        }
    }

    private static string? Describe(string key)
    {
        for (var i = 0; i < key.Length; i++)
        {
            var c = key[i];
            if (!char.IsAsciiDigit(c) && !char.IsAsciiLetterLower(c) && c != '-')
            {
                // The character is shown as a code point only, so a key cannot inject control characters into logs.
                return $"object key has an invalid character U+{(int)c:X4} at position {i}; only 0-9, a-z and '-' are allowed.";
            }
        }

        if (key.Length is < MinLength or > MaxLength)
        {
            return $"object key must be {MinLength} to {MaxLength} characters long, not {key.Length}.";
        }

        if (key[0] == '-')
        {
            // A leading '-' would turn object files into options for the operator's shell tools.
            return "object key must not start with '-'.";
        }

        return null;
    }
}
