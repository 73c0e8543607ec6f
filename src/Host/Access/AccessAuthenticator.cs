using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Access;

/// <summary>
/// Authentication over any access store (docs/security.md, "How a request is authenticated"): the rules that decide whether a
/// credential holds — constant-time secret comparison, revocation, expiry, disabled users and peers, the client CA's chain, a
/// login that costs the same whether or not the user exists — live here, above the port, so that every provider of
/// <see cref="IAccessStore"/> only answers plain reads and each rule is written once. Thread-safe.
/// </summary>
public sealed class AccessAuthenticator : IAccessAuthenticator, IDisposable
{
    /// <summary>A token's last-used time is written at most this often (per token, remembered in memory).</summary>
    public static readonly TimeSpan LastUsedInterval = TimeSpan.FromMinutes(1);

    private const string ClientAuthenticationOid = "1.3.6.1.5.5.7.3.2";

    private readonly IAccessStore _store;
    private readonly TimeProvider _time;
    private readonly X509Certificate2Collection? _clientCa;
    private readonly PasswordHash _dummyPassword;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _lastUsedWritten = new(StringComparer.Ordinal);

    /// <summary>Authenticates against <paramref name="store"/> with its options (clock, client CA, password iterations).</summary>
    /// <exception cref="ArgumentException">The client CA file holds no PEM certificate or cannot be read as one.</exception>
    public AccessAuthenticator(IAccessStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _time = store.Options.Time;
        _clientCa = store.Options.ClientCaFile is { } file ? LoadClientCa(file) : null;

        // Compared against when the user is unknown or has no password, so a login costs the same either way.
        _dummyPassword = new PasswordHash(
            RandomNumberGenerator.GetBytes(PasswordHasher.HashBytes), RandomNumberGenerator.GetBytes(PasswordHasher.SaltBytes), store.Options.PasswordIterations);
    }

    /// <inheritdoc />
    public async ValueTask<AuthenticationOutcome> AuthenticateTokenAsync(string token, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(token);
        var presented = ApiTokens.Hash(token);
        var stored = await _store.FindTokenAsync(presented, cancellationToken).ConfigureAwait(false);
        if (stored is null || !CryptographicOperations.FixedTimeEquals(stored.SecretSha256, presented))
        {
            return AuthenticationOutcome.Failure("unknown-token");
        }

        var now = _time.GetUtcNow();
        if (stored.RevokedAt is not null)
        {
            return AuthenticationOutcome.Failure("revoked");
        }

        if (stored.ExpiresAt <= now)
        {
            return AuthenticationOutcome.Failure("expired");
        }

        if (!stored.UserEnabled)
        {
            return AuthenticationOutcome.Failure("user-disabled");
        }

        var grants = await _store.GrantsForUserAsync(stored.User, cancellationToken).ConfigureAwait(false);
        await RecordUseAsync(stored.Id, now, cancellationToken).ConfigureAwait(false);
        return AuthenticationOutcome.Success(new Principal(PrincipalKind.User, stored.User, stored.Id, grants.Narrow(stored.Scope, stored.ScopeAreas)));
    }

    /// <inheritdoc />
    public async ValueTask<AuthenticationOutcome> AuthenticatePeerAsync(X509Certificate2 certificate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var fingerprint = TlsCertificate.Fingerprint(certificate);
        var pinned = await _store.FindPeerByFingerprintAsync(fingerprint, cancellationToken).ConfigureAwait(false);
        if (pinned is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(pinned.Key), Encoding.ASCII.GetBytes(fingerprint)))
        {
            return await PeerOutcomeAsync(pinned, cancellationToken).ConfigureAwait(false);
        }

        if (_clientCa is null)
        {
            return AuthenticationOutcome.Failure("unknown-certificate");
        }

        if (!IssuedByClientCa(certificate))
        {
            return AuthenticationOutcome.Failure("untrusted-certificate");
        }

        if (CommonNameOf(certificate) is not { } commonName)
        {
            return AuthenticationOutcome.Failure("unknown-certificate");
        }

        return await _store.FindPeerByCommonNameAsync(commonName, cancellationToken).ConfigureAwait(false) is { } byName
            ? await PeerOutcomeAsync(byName, cancellationToken).ConfigureAwait(false)
            : AuthenticationOutcome.Failure("unknown-peer");
    }

    /// <summary>Releases the client CA's certificates.</summary>
    public void Dispose()
    {
        foreach (var certificate in _clientCa ?? [])
        {
            certificate.Dispose();
        }
    }

    /// <summary>
    /// Checks a user's password and, when it matches an enabled user, issues a token for that user (the login behind
    /// <c>POST /v1/auth/token</c>). Costs a full PBKDF2 derivation whether or not the user exists or has a password, so timing
    /// does not reveal which users exist. Failure reasons: <c>unknown-user</c>, <c>no-password</c>, <c>wrong-password</c>,
    /// <c>user-disabled</c>. The caller audits the outcome.
    /// </summary>
    public async Task<LoginResult> LoginAsync(string user, string password, TokenRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(password);
        ArgumentNullException.ThrowIfNull(request);
        request.Validate();
        var credential = AccessNames.IsValid(user) ? await _store.GetCredentialAsync(user, cancellationToken).ConfigureAwait(false) : null;
        if (credential?.Password is not { } stored)
        {
            PasswordHasher.Verify(password, _dummyPassword);
            return new LoginResult(null, credential is null ? "unknown-user" : "no-password");
        }

        if (!PasswordHasher.Verify(password, stored))
        {
            return new LoginResult(null, "wrong-password");
        }

        if (!credential.Enabled)
        {
            return new LoginResult(null, "user-disabled");
        }

        var issued = await _store.WriteAsync(tx => tx.InsertTokenAsync(user, request), cancellationToken).ConfigureAwait(false);
        return new LoginResult(issued, null);
    }

    private async Task<AuthenticationOutcome> PeerOutcomeAsync(StoredPeer peer, CancellationToken cancellationToken)
    {
        if (!peer.Enabled)
        {
            return AuthenticationOutcome.Failure("peer-disabled");
        }

        var grants = await _store.GrantsForPeerAsync(peer.Name, cancellationToken).ConfigureAwait(false);
        return AuthenticationOutcome.Success(new Principal(PrincipalKind.Peer, peer.Name, null, grants));
    }

    private async Task RecordUseAsync(string id, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // One writer per token and interval: whoever swaps the remembered time in writes; everyone else skips.
        var due = _lastUsedWritten.TryGetValue(id, out var written)
            ? now - written >= LastUsedInterval && _lastUsedWritten.TryUpdate(id, now, written)
            : _lastUsedWritten.TryAdd(id, now);
        if (due)
        {
            await _store.RecordTokenUseAsync(id, now, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>True when the certificate chains to the configured client CA alone (no system roots, no downloads, no revocation check).</summary>
    private bool IssuedByClientCa(X509Certificate2 certificate)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_clientCa!);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.VerificationTime = _time.GetUtcNow().UtcDateTime;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(ClientAuthenticationOid));
        try
        {
            // A CA certificate presented as a client certificate is not a peer: the chain needs a leaf below the anchor.
            return chain.Build(certificate) && chain.ChainElements.Count >= 2;
        }
        finally
        {
            foreach (var element in chain.ChainElements)
            {
                if (!ReferenceEquals(element.Certificate, certificate) && !_clientCa!.Any(ca => ReferenceEquals(ca, element.Certificate)))
                {
                    element.Certificate.Dispose();
                }
            }
        }
    }

    /// <summary>The subject's single common name, or null when it has none or several.</summary>
    private static string? CommonNameOf(X509Certificate2 certificate)
    {
        string? found = null;
        foreach (var part in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            if (part.HasMultipleElements || part.GetSingleElementType().Value != "2.5.4.3")
            {
                continue;
            }

            if (found is not null)
            {
                return null;
            }

            found = part.GetSingleElementValue();
        }

        return found;
    }

    private static X509Certificate2Collection LoadClientCa(string path)
    {
        var bundle = new X509Certificate2Collection();
        try
        {
            bundle.ImportFromPemFile(path);
        }
        catch (CryptographicException e)
        {
            throw new ArgumentException($"ClientCaFile '{path}' is not a PEM certificate bundle: {e.Message}", e);
        }

        return bundle.Count > 0 ? bundle : throw new ArgumentException($"ClientCaFile '{path}' holds no PEM certificate.");
    }
}
