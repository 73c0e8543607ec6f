namespace TurboMft.Host.Access;

/// <summary>Whether a principal is a person's account or a peer site.</summary>
public enum PrincipalKind
{
    /// <summary>A user, authenticated by an API token.</summary>
    User,

    /// <summary>A peer site, authenticated by its TLS client certificate.</summary>
    Peer,
}

/// <summary>
/// Who a request acts as, after authentication. <see cref="Grants"/> are already narrowed by the token's scope.
/// </summary>
/// <param name="Kind">User or peer.</param>
/// <param name="Name">User name or peer name.</param>
/// <param name="TokenId">The public id of the token used (never the secret); null for peers.</param>
/// <param name="Grants">Effective rights.</param>
public sealed record Principal(PrincipalKind Kind, string Name, string? TokenId, AccessGrants Grants);

/// <summary>The result of checking a credential: a principal, or why it was refused (for the audit trail, never for the client).</summary>
/// <param name="Principal">Set on success.</param>
/// <param name="FailureReason">Set on failure: "unknown-token", "expired", "revoked", "user-disabled", "unknown-certificate"…</param>
public sealed record AuthenticationOutcome(Principal? Principal, string? FailureReason)
{
    /// <summary>A success.</summary>
    public static AuthenticationOutcome Success(Principal principal) => new(principal, null);

    /// <summary>A refusal.</summary>
    public static AuthenticationOutcome Failure(string reason) => new(null, reason);
}
