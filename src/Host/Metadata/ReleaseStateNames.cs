using TurboMft.Engine.Protocol;

namespace TurboMft.Host.Metadata;

/// <summary>
/// The wire and database names of <see cref="ReleaseState"/> (<c>pending-scan</c>, <c>released</c>, <c>quarantined</c>,
/// <c>pending-approval</c>, <c>rejected</c>): the same text in JSON answers, problem details, audit records and the
/// metadata database (docs/content-security.md, "Release states"); the text is the protocol's, <see cref="ReleaseStates"/>.
/// </summary>
public static class ReleaseStateNames
{
    /// <summary><see cref="ReleaseState.PendingScan"/>.</summary>
    public const string PendingScan = ReleaseStates.PendingScan;

    /// <summary><see cref="ReleaseState.Released"/>.</summary>
    public const string Released = ReleaseStates.Released;

    /// <summary><see cref="ReleaseState.Quarantined"/>.</summary>
    public const string Quarantined = ReleaseStates.Quarantined;

    /// <summary><see cref="ReleaseState.PendingApproval"/>.</summary>
    public const string PendingApproval = ReleaseStates.PendingApproval;

    /// <summary><see cref="ReleaseState.Rejected"/>.</summary>
    public const string Rejected = ReleaseStates.Rejected;

    /// <summary>The name of <paramref name="state"/>.</summary>
    public static string ToName(this ReleaseState state) => state switch
    {
        ReleaseState.PendingScan => PendingScan,
        ReleaseState.Released => Released,
        ReleaseState.Quarantined => Quarantined,
        ReleaseState.PendingApproval => PendingApproval,
        ReleaseState.Rejected => Rejected,
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "Unknown release state."),
    };

    /// <summary>Parses a name; false for anything else.</summary>
    public static bool TryParse(string? name, out ReleaseState state)
    {
        (var found, state) = name switch
        {
            PendingScan => (true, ReleaseState.PendingScan),
            Released => (true, ReleaseState.Released),
            Quarantined => (true, ReleaseState.Quarantined),
            PendingApproval => (true, ReleaseState.PendingApproval),
            Rejected => (true, ReleaseState.Rejected),
            _ => (false, ReleaseState.PendingScan),
        };
        return found;
    }

    /// <summary>Parses a name that must be valid (read back from the database).</summary>
    public static ReleaseState Parse(string name) =>
        TryParse(name, out var state) ? state : throw new FormatException($"'{name}' is not a release state.");
}
