using System.Security.Cryptography.X509Certificates;

namespace TurboMft.Host.Access;

/// <summary>
/// Turns a presented credential into a <see cref="Principal"/>. The server's one authentication middleware calls it for
/// every request (docs/security.md, "How a request is authenticated": one authentication path, no alternative schemes).
/// </summary>
public interface IAccessAuthenticator
{
    /// <summary>
    /// Checks a bearer token (the whole secret as sent). Unknown, expired and revoked tokens and disabled users fail.
    /// The comparison must not leak through timing which tokens exist. Records the token's last-used time.
    /// </summary>
    ValueTask<AuthenticationOutcome> AuthenticateTokenAsync(string token, CancellationToken cancellationToken = default);

    /// <summary>
    /// Maps a TLS client certificate to a registered peer: pinned by SHA-256 fingerprint, or issued by a configured CA
    /// (chain validated against that CA only) and registered under its subject common name. Anything else fails.
    /// </summary>
    ValueTask<AuthenticationOutcome> AuthenticatePeerAsync(X509Certificate2 certificate, CancellationToken cancellationToken = default);
}
