using TurboMft.Engine.Storage;

namespace TurboMft.Host.Audit;

/// <summary>
/// A filter over the stored audit records, read in seq order from a store (<see cref="IAuditReader"/>; docs/audit.md,
/// "Query"). It does not verify (that is <see cref="AuditVerifier"/>'s job) and takes no lock: a file being appended to is
/// read up to its last complete line.
/// </summary>
public sealed record AuditQuery
{
    /// <summary>Only records written at or after this time.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>Only records with a seq above this (paging: the last seq of the previous page).</summary>
    public long? After { get; init; }

    /// <summary>Only records whose actor's user, peer or token id is exactly this.</summary>
    public string? Actor { get; init; }

    /// <summary>Only records whose path is this path or below it, segment by segment.</summary>
    public RemotePath? Path { get; init; }

    /// <summary>Only this action; a value ending in <c>.</c> (<c>auth.</c>) matches every action with that prefix.</summary>
    public string? Action { get; init; }

    /// <summary>At most this many records.</summary>
    public int? Limit { get; init; }

    /// <summary>True when <paramref name="record"/> passes every filter that is set.</summary>
    public bool Matches(AuditRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (Since is { } since && record.Time < since)
        {
            return false;
        }

        if (After is { } after && record.Seq <= after)
        {
            return false;
        }

        if (Actor is { } actor && actor != record.Actor.User && actor != record.Actor.Peer && actor != record.Actor.TokenId)
        {
            return false;
        }

        if (Action is { } action && !(action.EndsWith('.') ? record.Action.StartsWith(action, StringComparison.Ordinal) : record.Action == action))
        {
            return false;
        }

        return Path is not { } prefix || (ParsePath(record) is { } path && path.IsUnder(prefix));
    }

    /// <summary>The matching records that <paramref name="reader"/> reads and <paramref name="visible"/> admits, in seq order, up to <see cref="Limit"/>.</summary>
    public IEnumerable<AuditRecord> Run(IAuditReader reader, Func<AuditRecord, bool>? visible = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return Filter(reader.Read(After), visible);
    }

    /// <summary>
    /// The records a principal may read: those whose path lies in one of <paramref name="areas"/>, the areas where it holds
    /// the audit permission; records without a path (sign-ins, server start, key rotation…) only with audit on <c>/</c>.
    /// </summary>
    public static Func<AuditRecord, bool> VisibleTo(IReadOnlyList<RemotePath> areas)
    {
        ArgumentNullException.ThrowIfNull(areas);
        var everything = areas.Any(a => a.IsRoot);
        return record => everything || (ParsePath(record) is { } path && areas.Any(path.IsUnder));
    }

    private static RemotePath? ParsePath(AuditRecord record) =>
        record.Path is not null && RemotePath.TryParse(record.Path, out var path, out _, allowRoot: true) ? path : null;

    private IEnumerable<AuditRecord> Filter(IEnumerable<AuditRecord> records, Func<AuditRecord, bool>? visible)
    {
        var matching = records.Where(r => Matches(r) && (visible is null || visible(r)));
        return Limit is { } limit ? matching.Take(limit) : matching;
    }
}
