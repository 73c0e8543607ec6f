using TurboMft.Engine.Storage;

namespace TurboMft.Host.Access;

/// <summary>Permissions on an area: a path prefix matched segment by segment ("/ot/plant1" covers "/ot/plant1/x", not "/ot/plant10").</summary>
public sealed record AccessGrant(RemotePath Area, Permission Permissions)
{
    /// <summary>True when this grant gives <paramref name="permission"/> (all of its bits) on <paramref name="path"/>.</summary>
    public bool Allows(Permission permission, RemotePath path) =>
        permission != Permission.None && (Permissions & permission) == permission && path.IsUnder(Area);
}

/// <summary>
/// The effective rights of a principal: the union of its grants. Deny by default; a token's scope can only narrow
/// (<see cref="Narrow"/>), never widen.
/// </summary>
public sealed class AccessGrants
{
    /// <summary>No rights at all.</summary>
    public static AccessGrants None { get; } = new([]);

    /// <summary>Creates the set from grants (order does not matter).</summary>
    public AccessGrants(IEnumerable<AccessGrant> grants)
    {
        ArgumentNullException.ThrowIfNull(grants);
        Grants = [.. grants.Where(g => g.Permissions != Permission.None)];
    }

    /// <summary>The grants.</summary>
    public IReadOnlyList<AccessGrant> Grants { get; }

    /// <summary>True when some grant allows <paramref name="permission"/> on <paramref name="path"/>.</summary>
    public bool Allows(Permission permission, RemotePath path)
    {
        ArgumentNullException.ThrowIfNull(path);
        foreach (var grant in Grants)
        {
            if (grant.Allows(permission, path))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True when <paramref name="permission"/> is held on some area (an early check before the path is known).</summary>
    public bool HoldsAnywhere(Permission permission) => Grants.Any(g => (g.Permissions & permission) == permission);

    /// <summary>The areas on which <paramref name="permission"/> is held, for filtering listings and audit queries.</summary>
    public IReadOnlyList<RemotePath> AreasWith(Permission permission) =>
        [.. Grants.Where(g => (g.Permissions & permission) == permission).Select(g => g.Area).Distinct()];

    /// <summary>
    /// The intersection with a token's scope: only <paramref name="permissions"/>, and only inside <paramref name="areas"/>
    /// when given. A grant on "/a" narrowed to area "/a/b" becomes a grant on "/a/b"; disjoint areas give nothing.
    /// </summary>
    public AccessGrants Narrow(Permission permissions, IReadOnlyCollection<RemotePath>? areas)
    {
        var narrowed = new List<AccessGrant>();
        foreach (var grant in Grants)
        {
            var kept = grant.Permissions & permissions;
            if (kept == Permission.None)
            {
                continue;
            }

            if (areas is null)
            {
                narrowed.Add(grant with { Permissions = kept });
                continue;
            }

            foreach (var area in areas)
            {
                if (area.IsUnder(grant.Area))
                {
                    narrowed.Add(new AccessGrant(area, kept));
                }
                else if (grant.Area.IsUnder(area))
                {
                    narrowed.Add(grant with { Permissions = kept });
                }
            }
        }

        return new AccessGrants(narrowed);
    }
}
