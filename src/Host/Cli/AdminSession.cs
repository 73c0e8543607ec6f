using TurboMft.Engine.Client;
using TurboMft.Engine.Protocol;
using TurboMft.Host.Access;
using TurboMft.Host.Audit;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Server;

namespace TurboMft.Host.Cli;

/// <summary>Where an administration command acts: a running server over <c>/v1/admin</c>, or a data directory directly.</summary>
internal interface IAdminSession : IAsyncDisposable
{
    Task<UserList> ListUsersAsync(CancellationToken cancellationToken);

    Task<UserView> AddUserAsync(AddUserRequest request, CancellationToken cancellationToken);

    Task SetUserEnabledAsync(string name, bool enabled, CancellationToken cancellationToken);

    Task SetPasswordAsync(string name, string password, CancellationToken cancellationToken);

    Task<TokenList> ListTokensAsync(string? user, CancellationToken cancellationToken);

    Task<IssuedTokenView> IssueTokenAsync(IssueTokenRequest request, CancellationToken cancellationToken);

    Task RevokeTokenAsync(string id, CancellationToken cancellationToken);

    Task<RoleList> ListRolesAsync(CancellationToken cancellationToken);

    Task<RoleView> AddRoleAsync(AddRoleRequest request, CancellationToken cancellationToken);

    Task<GrantList> ListGrantsAsync(CancellationToken cancellationToken);

    Task GrantAsync(GrantRequest request, CancellationToken cancellationToken);

    Task RevokeGrantAsync(GrantRequest request, CancellationToken cancellationToken);

    Task<PeerList> ListPeersAsync(CancellationToken cancellationToken);

    Task<PeerView> AddPeerAsync(AddPeerRequest request, CancellationToken cancellationToken);

    Task SetPeerEnabledAsync(string name, bool enabled, CancellationToken cancellationToken);

    Task RemovePeerAsync(string name, CancellationToken cancellationToken);
}

/// <summary>A running server, through <see cref="TurboMftAdminClient"/> with an admin token.</summary>
internal sealed class OnlineAdminSession(TurboMftAdminClient client) : IAdminSession
{
    public async Task<UserList> ListUsersAsync(CancellationToken cancellationToken) => new(await client.ListUsersAsync(cancellationToken).ConfigureAwait(false));

    public Task<UserView> AddUserAsync(AddUserRequest request, CancellationToken cancellationToken) => client.AddUserAsync(request, cancellationToken);

    public Task SetUserEnabledAsync(string name, bool enabled, CancellationToken cancellationToken) => client.SetUserEnabledAsync(name, enabled, cancellationToken);

    public Task SetPasswordAsync(string name, string password, CancellationToken cancellationToken) => client.SetPasswordAsync(name, password, cancellationToken);

    public async Task<TokenList> ListTokensAsync(string? user, CancellationToken cancellationToken) => new(await client.ListTokensAsync(user, cancellationToken).ConfigureAwait(false));

    public Task<IssuedTokenView> IssueTokenAsync(IssueTokenRequest request, CancellationToken cancellationToken) => client.IssueTokenAsync(request, cancellationToken);

    public Task RevokeTokenAsync(string id, CancellationToken cancellationToken) => client.RevokeTokenAsync(id, cancellationToken);

    public async Task<RoleList> ListRolesAsync(CancellationToken cancellationToken) => new(await client.ListRolesAsync(cancellationToken).ConfigureAwait(false));

    public Task<RoleView> AddRoleAsync(AddRoleRequest request, CancellationToken cancellationToken) => client.AddRoleAsync(request, cancellationToken);

    public async Task<GrantList> ListGrantsAsync(CancellationToken cancellationToken) => new(await client.ListGrantsAsync(cancellationToken).ConfigureAwait(false));

    public Task GrantAsync(GrantRequest request, CancellationToken cancellationToken) => client.GrantAsync(request, cancellationToken);

    public Task RevokeGrantAsync(GrantRequest request, CancellationToken cancellationToken) => client.RevokeGrantAsync(request, cancellationToken);

    public async Task<PeerList> ListPeersAsync(CancellationToken cancellationToken) => new(await client.ListPeersAsync(cancellationToken).ConfigureAwait(false));

    public Task<PeerView> AddPeerAsync(AddPeerRequest request, CancellationToken cancellationToken) => client.AddPeerAsync(request, cancellationToken);

    public Task SetPeerEnabledAsync(string name, bool enabled, CancellationToken cancellationToken) => client.SetPeerEnabledAsync(name, enabled, cancellationToken);

    public Task RemovePeerAsync(string name, CancellationToken cancellationToken) => client.RemovePeerAsync(name, cancellationToken);

    public ValueTask DisposeAsync()
    {
        client.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>A data directory's <c>access.db</c>, through <see cref="AccessAdminApi"/> as the server would, acting as <see cref="AdminCaller.System"/>.</summary>
internal sealed class OfflineAdminSession : IAdminSession
{
    private readonly IAccessStore _store;
    private readonly IAuditTrail _audit;
    private readonly AccessAdminApi _api;

    private readonly Engine.Crypto.KeyRing? _keys;

    private OfflineAdminSession(IAccessStore store, IAuditTrail audit, Engine.Crypto.KeyRing? keys)
    {
        _store = store;
        _audit = audit;
        _keys = keys;
        _api = new AccessAdminApi(new AccessAdministration(store, audit), keys is null ? null : new PeerSecrets(keys));
    }

    private static AdminCaller Caller => AdminCaller.System;

    /// <summary>Opens (initialising on first use, as <c>serve</c> would) the data directory, its access store and its audit trail.</summary>
    public static async Task<OfflineAdminSession> OpenAsync(string directory, OfflineAuditOpener? openAudit, CancellationToken cancellationToken)
    {
        if (openAudit is null)
        {
            throw new AuditUnavailableException(
                "Offline administration (--data) must write to the data directory's audit log, which this build cannot open yet; run the command against the server with --server URL instead.");
        }

        var data = DataDirectory.Open(directory);
        var store = await OfflineStores.OpenAccessAsync(data, cancellationToken).ConfigureAwait(false);
        try
        {
            return new OfflineAdminSession(store, await openAudit(data, cancellationToken).ConfigureAwait(false), data.LoadKeyRing());
        }
        catch
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public Task<UserList> ListUsersAsync(CancellationToken cancellationToken) => _api.ListUsersAsync(cancellationToken);

    public Task<UserView> AddUserAsync(AddUserRequest request, CancellationToken cancellationToken) => _api.AddUserAsync(Caller, request, cancellationToken);

    public Task SetUserEnabledAsync(string name, bool enabled, CancellationToken cancellationToken) => _api.SetUserEnabledAsync(Caller, name, enabled, cancellationToken);

    public Task SetPasswordAsync(string name, string password, CancellationToken cancellationToken) => _api.SetPasswordAsync(Caller, name, new SetPasswordRequest(password), cancellationToken);

    public Task<TokenList> ListTokensAsync(string? user, CancellationToken cancellationToken) => _api.ListTokensAsync(user, cancellationToken);

    public Task<IssuedTokenView> IssueTokenAsync(IssueTokenRequest request, CancellationToken cancellationToken) => _api.IssueTokenAsync(Caller, request, cancellationToken);

    public Task RevokeTokenAsync(string id, CancellationToken cancellationToken) => _api.RevokeTokenAsync(Caller, id, cancellationToken);

    public Task<RoleList> ListRolesAsync(CancellationToken cancellationToken) => _api.ListRolesAsync(cancellationToken);

    public Task<RoleView> AddRoleAsync(AddRoleRequest request, CancellationToken cancellationToken) => _api.AddRoleAsync(Caller, request, cancellationToken);

    public Task<GrantList> ListGrantsAsync(CancellationToken cancellationToken) => _api.ListGrantsAsync(cancellationToken);

    public Task GrantAsync(GrantRequest request, CancellationToken cancellationToken) => _api.GrantAsync(Caller, request, cancellationToken);

    public Task RevokeGrantAsync(GrantRequest request, CancellationToken cancellationToken) => _api.RevokeGrantAsync(Caller, request, cancellationToken);

    public Task<PeerList> ListPeersAsync(CancellationToken cancellationToken) => _api.ListPeersAsync(cancellationToken);

    public Task<PeerView> AddPeerAsync(AddPeerRequest request, CancellationToken cancellationToken) => _api.AddPeerAsync(Caller, request, cancellationToken);

    public Task SetPeerEnabledAsync(string name, bool enabled, CancellationToken cancellationToken) => _api.SetPeerEnabledAsync(Caller, name, enabled, cancellationToken);

    public Task RemovePeerAsync(string name, CancellationToken cancellationToken) => _api.RemovePeerAsync(Caller, name, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_audit is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync().ConfigureAwait(false);
        }

        await _store.DisposeAsync().ConfigureAwait(false);
        _keys?.Dispose();
    }
}
