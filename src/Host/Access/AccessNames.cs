using System.Text.RegularExpressions;

namespace TurboMft.Host.Access;

/// <summary>
/// The one rule for user, role and peer names: 1–64 characters, lower-case letters, digits, '.', '_' and '-', starting with a
/// letter or digit (docs/security.md, "Names"). Names appear in URLs, audit records and file names, so nothing else is allowed.
/// </summary>
public static partial class AccessNames
{
    /// <summary>Longest name.</summary>
    public const int MaxLength = 64;

    /// <summary>True when <paramref name="name"/> follows the rule.</summary>
    public static bool IsValid(string? name) => name is not null && NamePattern().IsMatch(name);

    /// <summary>Returns <paramref name="name"/> or throws <see cref="AccessException"/> saying what a <paramref name="what"/> name may contain.</summary>
    public static string Validate(string? name, string what)
    {
        if (IsValid(name))
        {
            return name!;
        }

        var shown = name is null ? "(none)" : name.Length > MaxLength + 8 ? $"'{name[..(MaxLength + 8)]}…'" : $"'{name}'";
        throw new AccessException(
            AccessError.InvalidName,
            $"{what} name {shown} is not allowed: use 1 to {MaxLength} lower-case letters, digits, '.', '_' or '-', starting with a letter or digit.");
    }

    // \z, not $: "$" also matches before a final newline, which would let "alice\n" through.
    [GeneratedRegex(@"^[a-z0-9][a-z0-9._-]{0,63}\z", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex NamePattern();
}
