namespace TurboMft.Host.Access;

/// <summary>
/// The access store's port: where users, API tokens, roles, grants and peers are kept (docs/security.md). It answers plain
/// reads — a token by its hash, a peer by its pin or common name, a user's credential, grants, the listings — and runs changes
/// in one write transaction each (<see cref="WriteAsync{T}"/>). It checks no rule beyond uniqueness: <see cref="AccessAuthenticator"/>
/// decides whether a credential holds (expiry, revocation, the client CA, constant-time comparison), and
/// <see cref="AccessAdministration"/> what may change, and audits it. Thread-safe. The behaviour every provider owes is
/// <c>tests/TurboMft.Host.Tests/Access/AccessStoreContract.cs</c>.
/// </summary>
/// <remarks>
/// On creation a store holds the built-in roles (<see cref="AccessRole.BuiltIns"/>) and, when the data directory has a
/// first-start admin token (<c>DIR/admin.token</c>), the user <c>admin</c> holding role admin on "/" and the token
/// <see cref="ApiTokens.AdminTokenId"/>. A token's last-used time may be up to a minute stale in listings.
/// </remarks>
public interface IAccessStore : IAsyncDisposable
{
    /// <summary>The store's settings (password iterations for new hashes, client CA, clock).</summary>
    AccessStoreOptions Options { get; }

    /// <summary>
    /// The token whose secret's SHA-256 (<see cref="ApiTokens.Hash"/>) is <paramref name="secretSha256"/>, with its user's state;
    /// null when there is none. Revoked and expired tokens are returned as they are: the caller decides.
    /// </summary>
    Task<StoredToken?> FindTokenAsync(byte[] secretSha256, CancellationToken cancellationToken = default);

    /// <summary>Records that token <paramref name="id"/> was used at <paramref name="at"/> (its last-used time only moves forward).</summary>
    Task RecordTokenUseAsync(string id, DateTimeOffset at, CancellationToken cancellationToken = default);

    /// <summary>The peer pinned to <paramref name="fingerprint"/> (<c>sha256:</c> and 64 lower-case hex digits); null when none.</summary>
    Task<StoredPeer?> FindPeerByFingerprintAsync(string fingerprint, CancellationToken cancellationToken = default);

    /// <summary>The peer registered under certificate common name <paramref name="commonName"/>; null when none.</summary>
    Task<StoredPeer?> FindPeerByCommonNameAsync(string commonName, CancellationToken cancellationToken = default);

    /// <summary>User <paramref name="user"/>'s login credential; null when the user is unknown.</summary>
    Task<StoredCredential?> GetCredentialAsync(string user, CancellationToken cancellationToken = default);

    /// <summary>A user's rights: the union over its grants of each role's permissions on the grant's area (deny by default).</summary>
    Task<AccessGrants> GrantsForUserAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>A peer's rights, computed as for users.</summary>
    Task<AccessGrants> GrantsForPeerAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Every user with its grants, by name (never a password hash).</summary>
    Task<IReadOnlyList<UserInfo>> ListUsersAsync(CancellationToken cancellationToken = default);

    /// <summary>Every token, or those of <paramref name="user"/>; newest first. Never the secret or its hash.</summary>
    Task<IReadOnlyList<TokenInfo>> ListTokensAsync(string? user, CancellationToken cancellationToken = default);

    /// <summary>Every role, built-in ones first, then by name.</summary>
    Task<IReadOnlyList<AccessRole>> ListRolesAsync(CancellationToken cancellationToken = default);

    /// <summary>Every grant: users' before peers', then by principal, area and role.</summary>
    Task<IReadOnlyList<GrantInfo>> ListGrantsAsync(CancellationToken cancellationToken = default);

    /// <summary>Every peer with its grants and outbound side, by name.</summary>
    Task<IReadOnlyList<PeerInfo>> ListPeersAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// The outbound side of peer <paramref name="name"/> (address, server trust, credential with its sealed token), or null
    /// when the peer is unknown, disabled or has no address: what the replication worker connects with.
    /// </summary>
    Task<PeerOutbound?> GetOutboundPeerAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>
    /// Runs <paramref name="work"/> in one write transaction: every change it makes commits when it returns and none when it
    /// throws. Write transactions of one store run one at a time (what a transaction reads stays true until it commits).
    /// </summary>
    Task<T> WriteAsync<T>(Func<IAccessTransaction, Task<T>> work, CancellationToken cancellationToken = default);
}

/// <summary>
/// The changes and reads inside one write transaction of an <see cref="IAccessStore"/>. Inserts answer false when the name or
/// grant is taken rather than throwing; no rule is checked here beyond what uniqueness enforces.
/// </summary>
public interface IAccessTransaction
{
    /// <summary>Enabled users holding a role with the admin permission on "/".</summary>
    Task<long> CountRootAdminsAsync();

    /// <summary>A user's enabled flag and source, or null when there is no such user.</summary>
    Task<(bool Enabled, AccessSource Source)?> GetUserAsync(string name);

    /// <summary>Adds an enabled user; false when the name is taken.</summary>
    Task<bool> InsertUserAsync(string name, PasswordHash? password, AccessSource source);

    /// <summary>False when there is no such user.</summary>
    Task<bool> SetUserEnabledAsync(string name, bool enabled);

    /// <summary>Sets or replaces a user's password hash; false when there is no such user.</summary>
    Task<bool> SetPasswordAsync(string name, PasswordHash password);

    /// <summary>Deletes a user, its tokens and its grants (nothing when there is no such user).</summary>
    Task DeleteUserAsync(string name);

    /// <summary>Issues a token for an existing user: a new id and secret, expiring after the request's lifetime if it has one.</summary>
    Task<IssuedToken> InsertTokenAsync(string user, TokenRequest request);

    /// <summary>Revokes a token (once); null when there is no such token, otherwise its user and whether it was already revoked.</summary>
    Task<(string User, bool AlreadyRevoked)?> RevokeTokenAsync(string id);

    /// <summary>The role, or null.</summary>
    Task<AccessRole?> GetRoleAsync(string name);

    /// <summary>Adds a custom role; false when the name is taken.</summary>
    Task<bool> InsertRoleAsync(string name, Permission permissions, AccessSource source);

    /// <summary>Creates or takes over a custom role for the policy; 0 when the name is a built-in role's (nothing changed).</summary>
    Task<int> UpsertPolicyRoleAsync(string name, Permission permissions);

    /// <summary>Deletes a custom role (never a built-in one); the number of roles deleted.</summary>
    Task<int> DeleteRoleAsync(string name);

    /// <summary>The grants of a role, by kind, principal and area.</summary>
    Task<IReadOnlyList<RoleBinding>> BindingsOfRoleAsync(string role);

    /// <summary>Where a grant came from, or null when it does not exist.</summary>
    Task<AccessSource?> GetBindingSourceAsync(RoleBinding binding);

    /// <summary>Adds a grant; false when it exists already.</summary>
    Task<bool> InsertBindingAsync(RoleBinding binding, AccessSource source);

    /// <summary>Adds a grant for the policy, taking over an identical one made through the CLI or API.</summary>
    Task<int> UpsertPolicyBindingAsync(RoleBinding binding);

    /// <summary>Removes a grant; false when it did not exist.</summary>
    Task<bool> DeleteBindingAsync(RoleBinding binding);

    /// <summary>Removes every grant of a user or peer; how many.</summary>
    Task<int> DeleteBindingsOfAsync(PrincipalKind kind, string name);

    /// <summary>Removes every grant the policy declared; how many.</summary>
    Task<int> DeletePolicyBindingsAsync();

    /// <summary>A peer's enabled flag and source, or null when there is no such peer.</summary>
    Task<(bool Enabled, AccessSource Source)?> GetPeerAsync(string name);

    /// <summary>The peer, other than <paramref name="exceptName"/>, that already uses this fingerprint or common name.</summary>
    Task<string?> FindPeerUsingAsync(string? fingerprint, string? commonName, string? exceptName);

    /// <summary>Adds a peer; false when the name is taken.</summary>
    Task<bool> InsertPeerAsync(string name, string? fingerprint, string? commonName, bool enabled, AccessSource source, PeerOutbound? outbound = null);

    /// <summary>Creates or takes over a peer for the policy (its outbound side stays).</summary>
    Task<int> UpsertPolicyPeerAsync(string name, string? fingerprint, string? commonName, bool enabled);

    /// <summary>Creates or takes over a user for the policy; a password and tokens it already has stay.</summary>
    Task<int> UpsertPolicyUserAsync(string name, bool enabled);

    /// <summary>False when there is no such peer.</summary>
    Task<bool> SetPeerEnabledAsync(string name, bool enabled);

    /// <summary>Deletes a peer and its grants.</summary>
    Task DeletePeerAsync(string name);

    /// <summary>Names of users, custom roles or peers that the policy declared, in order.</summary>
    Task<IReadOnlyList<string>> PolicyNamesAsync(PolicyTable table);
}

/// <summary>The kinds of entry the policy file can declare by name.</summary>
public enum PolicyTable
{
    /// <summary>Users.</summary>
    Users,

    /// <summary>Custom roles.</summary>
    Roles,

    /// <summary>Peers.</summary>
    Peers,
}

/// <summary>A token as stored, for <see cref="AccessAuthenticator"/> to judge.</summary>
/// <param name="Id">Its id.</param>
/// <param name="User">The user it belongs to.</param>
/// <param name="SecretSha256">The SHA-256 of its secret.</param>
/// <param name="ExpiresAt">When it expires; null: valid until revoked.</param>
/// <param name="RevokedAt">When it was revoked; null while it is not.</param>
/// <param name="Scope">The permissions it is narrowed to.</param>
/// <param name="ScopeAreas">The areas it is narrowed to; null: all of its user's.</param>
/// <param name="UserEnabled">Whether its user is enabled.</param>
public sealed record StoredToken(
    string Id, string User, byte[] SecretSha256, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt, Permission Scope, IReadOnlyList<TurboMft.Engine.Storage.RemotePath>? ScopeAreas, bool UserEnabled);

/// <summary>A peer as found by its certificate.</summary>
/// <param name="Name">Its name.</param>
/// <param name="Key">What it was found by, as stored (the fingerprint or the common name).</param>
/// <param name="Enabled">Whether it is enabled.</param>
public sealed record StoredPeer(string Name, string Key, bool Enabled);

/// <summary>A user's login credential.</summary>
/// <param name="Enabled">Whether the user is enabled.</param>
/// <param name="Password">Its password hash; null when the user has no password (tokens only).</param>
public sealed record StoredCredential(bool Enabled, PasswordHash? Password);
