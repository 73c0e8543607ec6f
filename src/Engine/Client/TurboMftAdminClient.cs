using TurboMft.Engine.Protocol;

namespace TurboMft.Engine.Client;

/// <summary>
/// A typed client of the administration API, <c>/v1/admin</c> (docs/protocol.md, "Administration"): users, tokens, roles,
/// grants, peers and the notification test. Needs a token with the admin permission on "/". Trusts the server as <see cref="TurboMftClient"/> does
/// (pin, CA or system store). Requests are not retried: a change must not be applied twice. Errors are
/// <see cref="ServerProblemException"/> with the stable problem type.
/// </summary>
public sealed class TurboMftAdminClient : IDisposable
{
    private readonly TurboMftClient _client;

    /// <summary>Creates the client; throws <see cref="ArgumentException"/> for settings that cannot work.</summary>
    public TurboMftAdminClient(TurboMftClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _client = new TurboMftClient(options with { Retry = RetryPolicy.None, Connections = 1 });
    }

    /// <summary>Every user.</summary>
    public async Task<IReadOnlyList<UserView>> ListUsersAsync(CancellationToken cancellationToken = default) =>
        (await _client.SendJsonAsync<UserList>(HttpMethod.Get, "v1/admin/users", null, cancellationToken).ConfigureAwait(false))!.Users;

    /// <summary>Adds a user.</summary>
    public async Task<UserView> AddUserAsync(AddUserRequest request, CancellationToken cancellationToken = default) =>
        (await _client.SendJsonAsync<UserView>(HttpMethod.Post, "v1/admin/users", request, cancellationToken).ConfigureAwait(false))!;

    /// <summary>Disables or enables a user.</summary>
    public Task SetUserEnabledAsync(string name, bool enabled, CancellationToken cancellationToken = default) =>
        _client.SendJsonAsync<object>(HttpMethod.Post, $"v1/admin/users/{Escape(name)}/{(enabled ? "enable" : "disable")}", null, cancellationToken);

    /// <summary>Sets a user's password.</summary>
    public Task SetPasswordAsync(string name, string password, CancellationToken cancellationToken = default) =>
        _client.SendJsonAsync<object>(HttpMethod.Put, $"v1/admin/users/{Escape(name)}/password", new SetPasswordRequest(password), cancellationToken);

    /// <summary>Every token, or those of <paramref name="user"/>.</summary>
    public async Task<IReadOnlyList<TokenView>> ListTokensAsync(string? user = null, CancellationToken cancellationToken = default) =>
        (await _client.SendJsonAsync<TokenList>(HttpMethod.Get, user is null ? "v1/admin/tokens" : "v1/admin/tokens?user=" + Escape(user), null, cancellationToken).ConfigureAwait(false))!.Tokens;

    /// <summary>Issues a token; the answer holds its secret, shown this once.</summary>
    public async Task<IssuedTokenView> IssueTokenAsync(IssueTokenRequest request, CancellationToken cancellationToken = default) =>
        (await _client.SendJsonAsync<IssuedTokenView>(HttpMethod.Post, "v1/admin/tokens", request, cancellationToken).ConfigureAwait(false))!;

    /// <summary>Revokes a token.</summary>
    public Task RevokeTokenAsync(string id, CancellationToken cancellationToken = default) =>
        _client.SendJsonAsync<object>(HttpMethod.Delete, "v1/admin/tokens/" + Escape(id), null, cancellationToken);

    /// <summary>Every role.</summary>
    public async Task<IReadOnlyList<RoleView>> ListRolesAsync(CancellationToken cancellationToken = default) =>
        (await _client.SendJsonAsync<RoleList>(HttpMethod.Get, "v1/admin/roles", null, cancellationToken).ConfigureAwait(false))!.Roles;

    /// <summary>Adds a custom role.</summary>
    public async Task<RoleView> AddRoleAsync(AddRoleRequest request, CancellationToken cancellationToken = default) =>
        (await _client.SendJsonAsync<RoleView>(HttpMethod.Post, "v1/admin/roles", request, cancellationToken).ConfigureAwait(false))!;

    /// <summary>Every grant.</summary>
    public async Task<IReadOnlyList<GrantView>> ListGrantsAsync(CancellationToken cancellationToken = default) =>
        (await _client.SendJsonAsync<GrantList>(HttpMethod.Get, "v1/admin/grants", null, cancellationToken).ConfigureAwait(false))!.Grants;

    /// <summary>Grants a role on an area to a user or peer.</summary>
    public Task GrantAsync(GrantRequest request, CancellationToken cancellationToken = default) =>
        _client.SendJsonAsync<object>(HttpMethod.Post, "v1/admin/grants", request, cancellationToken);

    /// <summary>Revokes a grant.</summary>
    public Task RevokeGrantAsync(GrantRequest request, CancellationToken cancellationToken = default) =>
        _client.SendJsonAsync<object>(HttpMethod.Delete, "v1/admin/grants", request, cancellationToken);

    /// <summary>Every peer.</summary>
    public async Task<IReadOnlyList<PeerView>> ListPeersAsync(CancellationToken cancellationToken = default) =>
        (await _client.SendJsonAsync<PeerList>(HttpMethod.Get, "v1/admin/peers", null, cancellationToken).ConfigureAwait(false))!.Peers;

    /// <summary>Registers a peer.</summary>
    public async Task<PeerView> AddPeerAsync(AddPeerRequest request, CancellationToken cancellationToken = default) =>
        (await _client.SendJsonAsync<PeerView>(HttpMethod.Post, "v1/admin/peers", request, cancellationToken).ConfigureAwait(false))!;

    /// <summary>Disables or enables a peer.</summary>
    public Task SetPeerEnabledAsync(string name, bool enabled, CancellationToken cancellationToken = default) =>
        _client.SendJsonAsync<object>(HttpMethod.Post, $"v1/admin/peers/{Escape(name)}/{(enabled ? "enable" : "disable")}", null, cancellationToken);

    /// <summary>Removes a peer and its grants.</summary>
    public Task RemovePeerAsync(string name, CancellationToken cancellationToken = default) =>
        _client.SendJsonAsync<object>(HttpMethod.Delete, "v1/admin/peers/" + Escape(name), null, cancellationToken);

    /// <summary>The nodes of the service with their heartbeats and the leases each holds (docs/cluster.md).</summary>
    public async Task<NodeListing> ListNodesAsync(CancellationToken cancellationToken = default) =>
        (await _client.SendJsonAsync<NodeListing>(HttpMethod.Get, "v1/admin/nodes", null, cancellationToken).ConfigureAwait(false))!;

    /// <summary>Every replication rule.</summary>
    public async Task<IReadOnlyList<ReplicationRuleView>> ListReplicationRulesAsync(CancellationToken cancellationToken = default) =>
        (await _client.SendJsonAsync<ReplicationRuleList>(HttpMethod.Get, "v1/admin/replication/rules", null, cancellationToken).ConfigureAwait(false))!.Rules;

    /// <summary>Adds a replication rule.</summary>
    public async Task<ReplicationRuleView> AddReplicationRuleAsync(AddReplicationRuleRequest request, CancellationToken cancellationToken = default) =>
        (await _client.SendJsonAsync<ReplicationRuleView>(HttpMethod.Post, "v1/admin/replication/rules", request, cancellationToken).ConfigureAwait(false))!;

    /// <summary>Removes a replication rule and its pending jobs.</summary>
    public Task RemoveReplicationRuleAsync(string name, CancellationToken cancellationToken = default) =>
        _client.SendJsonAsync<object>(HttpMethod.Delete, "v1/admin/replication/rules/" + Escape(name), null, cancellationToken);

    /// <summary>Backlog, oldest pending age, last error and throughput per peer.</summary>
    public async Task<ReplicationStatus> ReplicationStatusAsync(CancellationToken cancellationToken = default) =>
        (await _client.SendJsonAsync<ReplicationStatus>(HttpMethod.Get, "v1/admin/replication/status", null, cancellationToken).ConfigureAwait(false))!;

    /// <summary>Has the server raise a <c>test</c> incident and reports what became of it on each notification channel (waits up to about 15 s).</summary>
    public async Task<NotificationTestResult> TestNotificationsAsync(CancellationToken cancellationToken = default) =>
        (await _client.SendJsonAsync<NotificationTestResult>(HttpMethod.Post, "v1/admin/notifications/test", null, cancellationToken).ConfigureAwait(false))!;

    /// <inheritdoc />
    public void Dispose() => _client.Dispose();

    private static string Escape(string segment) => Uri.EscapeDataString(segment ?? string.Empty);
}
