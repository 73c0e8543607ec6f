using TurboMft.Host.Infrastructure;
using TurboMft.Host.Metadata;

namespace TurboMft.Host.Release;

/// <summary>Why a decision about a held version was refused; each maps to a stable problem type (docs/protocol.md, "Errors").</summary>
public enum ReleaseError
{
    /// <summary>No such version, or it was deleted: 404 <c>version-not-found</c>.</summary>
    VersionNotFound,

    /// <summary>The version is not in the state the action needs (already decided, or never held): 409 <c>release-state-conflict</c>.</summary>
    StateConflict,

    /// <summary>The caller uploaded the version and may not approve or reject it (four-eyes): 403 <c>self-approval</c>.</summary>
    SelfApproval,

    /// <summary>The approval expired; the service rejects it at its next sweep: 409 <c>approval-expired</c>.</summary>
    ApprovalExpired,

    /// <summary>A newer version of the path was committed since, so this one can no longer be released: 409 <c>version-superseded</c>.</summary>
    Superseded,

    /// <summary>A reason is missing where one is required, or too long: 400 <c>invalid-request</c>.</summary>
    InvalidRequest,
}

/// <summary>A refused decision about a held version; the message says which version and what to do.</summary>
public sealed class ReleaseException : Exception, IRefusal
{
    /// <summary>Creates the exception.</summary>
    public ReleaseException(ReleaseError error, string message, ReleaseState? state = null)
        : base(message)
    {
        Error = error;
        State = state;
    }

    /// <summary>The kind of refusal.</summary>
    public ReleaseError Error { get; }

    /// <summary>The version's state, when it matters (reported as the problem's <c>state</c>).</summary>
    public ReleaseState? State { get; }

    /// <inheritdoc/>
    string IRefusal.ProblemType => Problem.Type;

    /// <inheritdoc/>
    int IRefusal.Status => Problem.Status;

    /// <inheritdoc/>
    IReadOnlyDictionary<string, object?>? IRefusal.ProblemMembers => State is { } state ? new Dictionary<string, object?> { ["state"] = state.ToName() } : null;

    /// <summary>The problem type (without its URN prefix) and status code.</summary>
    public (string Type, int Status) Problem => Error switch
    {
        ReleaseError.VersionNotFound => ("version-not-found", 404),
        ReleaseError.StateConflict => ("release-state-conflict", 409),
        ReleaseError.SelfApproval => ("self-approval", 403),
        ReleaseError.ApprovalExpired => ("approval-expired", 409),
        ReleaseError.Superseded => ("version-superseded", 409),
        _ => ("invalid-request", 400),
    };
}
