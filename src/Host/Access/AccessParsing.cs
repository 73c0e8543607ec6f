using TurboMft.Engine.Client;
using TurboMft.Engine.Storage;

namespace TurboMft.Host.Access;

/// <summary>
/// Parses the text forms that the admin API, the CLI and the policy file share — permissions, areas, fingerprints, common
/// names — so that one rule applies everywhere. Failures are <see cref="AccessException"/> saying what is accepted.
/// </summary>
public static class AccessParsing
{
    /// <summary>Longest certificate common name (X.520 ub-common-name).</summary>
    public const int MaxCommonNameLength = 64;

    /// <summary>"list,read" or "all"; at least one permission.</summary>
    public static Permission ParsePermissions(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new AccessException(AccessError.InvalidRequest, $"Name at least one permission: {string.Join(", ", Permissions.AllNames)} or all.");
        }

        if (!Permissions.TryParse(text, out var permissions, out var error))
        {
            throw new AccessException(AccessError.InvalidRequest, error!);
        }

        return permissions != Permission.None
            ? permissions
            : throw new AccessException(AccessError.InvalidRequest, $"Name at least one permission: {string.Join(", ", Permissions.AllNames)} or all.");
    }

    /// <summary>An area: a remote path prefix, "/" for everything.</summary>
    public static RemotePath ParseArea(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            throw new AccessException(AccessError.InvalidArea, "An area is needed: a path prefix such as /ot/plant1, or / for everything.");
        }

        return RemotePath.TryParse(text, out var area, out var error, allowRoot: true)
            ? area
            : throw new AccessException(AccessError.InvalidArea, $"Area '{Shorten(text)}' is not a valid path: {error}");
    }

    /// <summary>A certificate pin, returned in the canonical <c>sha256:</c> + 64 lower-case hex form.</summary>
    public static string ParseFingerprint(string? text)
    {
        try
        {
            return CertificatePin.Parse(text ?? string.Empty).ToString();
        }
        catch (FormatException e)
        {
            throw new AccessException(AccessError.InvalidRequest, e.Message, e);
        }
    }

    /// <summary>A certificate subject common name: 1 to 64 characters, no control characters.</summary>
    public static string ParseCommonName(string? text)
    {
        if (string.IsNullOrWhiteSpace(text) || text.Length > MaxCommonNameLength || text.Any(char.IsControl) || text.Trim() != text)
        {
            throw new AccessException(AccessError.InvalidRequest, $"A common name has 1 to {MaxCommonNameLength} characters, no control characters and no leading or trailing space.");
        }

        return text;
    }

    /// <summary>Exactly one of a user and a peer name, validated.</summary>
    public static (PrincipalKind Kind, string Name) ParsePrincipal(string? user, string? peer)
    {
        return (user, peer) switch
        {
            ({ } u, null) => (PrincipalKind.User, AccessNames.Validate(u, "User")),
            (null, { } p) => (PrincipalKind.Peer, AccessNames.Validate(p, "Peer")),
            _ => throw new AccessException(AccessError.InvalidRequest, "Name exactly one of a user and a peer."),
        };
    }

    private static string Shorten(string text) => text.Length > 120 ? text[..120] + "…" : text;
}
