namespace TurboMft.Host.Infrastructure;

/// <summary>
/// A request refused for a reason its caller can act on, as a feature's exception states it: the stable problem type
/// and the HTTP status it maps to (docs/protocol.md, "Errors"). The HTTP layer turns every refusal into its problem in
/// one place (Http/RefusalProblems.cs); features below it name no HTTP type.
/// </summary>
public interface IRefusal
{
    /// <summary>The stable problem type without its URN prefix, e.g. <c>user-not-found</c>.</summary>
    string ProblemType { get; }

    /// <summary>The HTTP status: 400, 403, 404 or 409.</summary>
    int Status { get; }

    /// <summary>Members the problem body carries beside the standard ones (e.g. a version's <c>state</c>), or null.</summary>
    IReadOnlyDictionary<string, object?>? ProblemMembers => null;
}
