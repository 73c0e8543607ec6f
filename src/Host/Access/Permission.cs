namespace TurboMft.Host.Access;

/// <summary>What a role allows on an area (docs/security.md, "Permissions"). Deny by default: <see cref="None"/>.</summary>
[Flags]
public enum Permission
{
    /// <summary>Nothing.</summary>
    None = 0,

    /// <summary>See that files exist: listing.</summary>
    List = 1,

    /// <summary>Download files and their digests.</summary>
    Read = 2,

    /// <summary>Upload new files and versions.</summary>
    Write = 4,

    /// <summary>Delete files.</summary>
    Delete = 8,

    /// <summary>Release held files (four-eyes approval).</summary>
    Approve = 16,

    /// <summary>Read the audit trail.</summary>
    Audit = 32,

    /// <summary>Administer users, tokens, roles, peers and configuration.</summary>
    Admin = 64,

    /// <summary>Read the server's Prometheus metrics (<c>GET /metrics</c>); meaningful on "/" only.</summary>
    Metrics = 128,

    /// <summary>Every permission.</summary>
    All = List | Read | Write | Delete | Approve | Audit | Admin | Metrics,
}

/// <summary>Parses and formats <see cref="Permission"/> sets as comma-separated lower-case names ("list,read").</summary>
public static class Permissions
{
    private static readonly (Permission Value, string Name)[] Names =
    [
        (Permission.List, "list"), (Permission.Read, "read"), (Permission.Write, "write"), (Permission.Delete, "delete"),
        (Permission.Approve, "approve"), (Permission.Audit, "audit"), (Permission.Admin, "admin"),
        (Permission.Metrics, "metrics"),
    ];

    /// <summary>The single permission names, in order.</summary>
    public static IEnumerable<string> AllNames => Names.Select(n => n.Name);

    /// <summary>Parses "list,read" (or "all"); false with an error naming the unknown word.</summary>
    public static bool TryParse(string text, out Permission permissions, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        permissions = Permission.None;
        error = null;
        foreach (var word in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (word.Equals("all", StringComparison.OrdinalIgnoreCase))
            {
                permissions |= Permission.All;
                continue;
            }

            var match = Array.FindIndex(Names, n => n.Name.Equals(word, StringComparison.OrdinalIgnoreCase));
            if (match < 0)
            {
                error = $"Unknown permission '{word}'; use {string.Join(", ", AllNames)} or all.";
                return false;
            }

            permissions |= Names[match].Value;
        }

        return true;
    }

    /// <summary>"list,read,…" in canonical order; "none" for the empty set.</summary>
    public static string Format(Permission permissions) =>
        permissions == Permission.None ? "none" : string.Join(',', Names.Where(n => permissions.HasFlag(n.Value)).Select(n => n.Name));
}
