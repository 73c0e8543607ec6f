using TurboMft.Engine.Client;
using TurboMft.Engine.Storage;

namespace TurboMft.Host.Access;

/// <summary>
/// The operations of <c>/v1/admin</c> on its JSON messages (docs/protocol.md, "Administration"), in process: the admin
/// endpoints and the offline CLI (<c>--data DIR</c>) both call this, so a request means the same thing either way. It
/// parses the text fields (names, permissions, areas, fingerprints) and hands over to <see cref="AccessAdministration"/>.
/// </summary>
public sealed class AccessAdminApi
{
    /// <summary>Longest token lifetime in hours.</summary>
    public static readonly double MaxExpiresInHours = TokenRequest.MaxLifetime.TotalHours;

    private readonly AccessAdministration _administration;

    /// <summary>Creates the API over <paramref name="administration"/>.</summary>
    public AccessAdminApi(AccessAdministration administration)
    {
        ArgumentNullException.ThrowIfNull(administration);
        _administration = administration;
    }

    /// <summary>Every user.</summary>
    public async Task<UserList> ListUsersAsync(CancellationToken cancellationToken = default) =>
        new([.. (await _administration.ListUsersAsync(cancellationToken).ConfigureAwait(false)).Select(ToView)]);

    /// <summary>Adds a user.</summary>
    public async Task<UserView> AddUserAsync(AdminCaller caller, AddUserRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var roles = request.Roles?.Select(r => new RoleAssignment(AccessNames.Validate(r?.Role, "Role"), AccessParsing.ParseArea(r?.Area))).ToList();
        return ToView(await _administration.AddUserAsync(caller, AccessNames.Validate(request.Name, "User"), request.Password, roles, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Disables or enables a user.</summary>
    public Task SetUserEnabledAsync(AdminCaller caller, string name, bool enabled, CancellationToken cancellationToken = default) =>
        _administration.SetUserEnabledAsync(caller, name, enabled, cancellationToken);

    /// <summary>Sets a user's password.</summary>
    public Task SetPasswordAsync(AdminCaller caller, string name, SetPasswordRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return _administration.SetPasswordAsync(caller, name, request.Password ?? string.Empty, cancellationToken);
    }

    /// <summary>Every token, or <paramref name="user"/>'s.</summary>
    public async Task<TokenList> ListTokensAsync(string? user, CancellationToken cancellationToken = default) =>
        new([.. (await _administration.ListTokensAsync(user, cancellationToken).ConfigureAwait(false)).Select(ToView)]);

    /// <summary>Issues a token; the answer holds its secret, shown this once.</summary>
    public async Task<IssuedTokenView> IssueTokenAsync(AdminCaller caller, IssueTokenRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var issued = await _administration.IssueTokenAsync(caller, AccessNames.Validate(request.User, "User"), ToTokenRequest(request), cancellationToken).ConfigureAwait(false);
        return new IssuedTokenView(issued.Id, issued.Secret, issued.User, issued.ExpiresAt);
    }

    /// <summary>Revokes a token.</summary>
    public Task RevokeTokenAsync(AdminCaller caller, string id, CancellationToken cancellationToken = default) =>
        _administration.RevokeTokenAsync(caller, id, cancellationToken);

    /// <summary>Every role.</summary>
    public async Task<RoleList> ListRolesAsync(CancellationToken cancellationToken = default) =>
        new([.. (await _administration.ListRolesAsync(cancellationToken).ConfigureAwait(false)).Select(ToView)]);

    /// <summary>Adds a custom role.</summary>
    public async Task<RoleView> AddRoleAsync(AdminCaller caller, AddRoleRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var name = AccessNames.Validate(request.Name, "Role");
        return ToView(await _administration.AddRoleAsync(caller, name, AccessParsing.ParsePermissions(request.Permissions), cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Every grant.</summary>
    public async Task<GrantList> ListGrantsAsync(CancellationToken cancellationToken = default) =>
        new([.. (await _administration.ListGrantsAsync(cancellationToken).ConfigureAwait(false)).Select(ToView)]);

    /// <summary>Grants a role on an area.</summary>
    public Task GrantAsync(AdminCaller caller, GrantRequest request, CancellationToken cancellationToken = default) =>
        _administration.GrantAsync(caller, ToBinding(request), cancellationToken);

    /// <summary>Revokes a grant.</summary>
    public Task RevokeGrantAsync(AdminCaller caller, GrantRequest request, CancellationToken cancellationToken = default) =>
        _administration.RevokeAsync(caller, ToBinding(request), cancellationToken);

    /// <summary>Every peer.</summary>
    public async Task<PeerList> ListPeersAsync(CancellationToken cancellationToken = default) =>
        new([.. (await _administration.ListPeersAsync(cancellationToken).ConfigureAwait(false)).Select(ToView)]);

    /// <summary>Registers a peer.</summary>
    public async Task<PeerView> AddPeerAsync(AdminCaller caller, AddPeerRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return ToView(await _administration.AddPeerAsync(caller, AccessNames.Validate(request.Name, "Peer"), request.Fingerprint, request.CommonName, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Disables or enables a peer.</summary>
    public Task SetPeerEnabledAsync(AdminCaller caller, string name, bool enabled, CancellationToken cancellationToken = default) =>
        _administration.SetPeerEnabledAsync(caller, name, enabled, cancellationToken);

    /// <summary>Removes a peer.</summary>
    public Task RemovePeerAsync(AdminCaller caller, string name, CancellationToken cancellationToken = default) =>
        _administration.RemovePeerAsync(caller, name, cancellationToken);

    /// <summary>The token request a message asks for: all of the user's permissions and areas unless narrowed.</summary>
    public static TokenRequest ToTokenRequest(IssueTokenRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        TimeSpan? lifetime = null;
        if (request.ExpiresInHours is { } hours)
        {
            if (!double.IsFinite(hours) || hours <= 0 || hours > MaxExpiresInHours)
            {
                throw new AccessException(AccessError.InvalidRequest, $"expiresInHours must be more than 0 and at most {MaxExpiresInHours:0}.");
            }

            lifetime = TimeSpan.FromHours(hours);
        }

        var permissions = request.Permissions is null ? Permission.All : AccessParsing.ParsePermissions(request.Permissions);
        IReadOnlyList<RemotePath>? areas = request.Areas is null ? null : [.. request.Areas.Select(AccessParsing.ParseArea)];
        var result = new TokenRequest(request.Label, lifetime, permissions, areas);
        result.Validate();
        return result;
    }

    /// <summary>The grant a message names.</summary>
    public static RoleBinding ToBinding(GrantRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var role = AccessNames.Validate(request.Role, "Role");
        var (kind, name) = AccessParsing.ParsePrincipal(request.User, request.Peer);
        return new RoleBinding(kind, name, role, AccessParsing.ParseArea(request.Area));
    }

    /// <summary>A user's message form.</summary>
    public static UserView ToView(UserInfo user)
    {
        ArgumentNullException.ThrowIfNull(user);
        return new(user.Name, user.Enabled, user.HasPassword, user.CreatedAt, SourceText(user.Source), [.. user.Roles.Select(ToView)]);
    }

    /// <summary>A token's message form.</summary>
    public static TokenView ToView(TokenInfo token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return new(token.Id, token.User, token.Label, token.CreatedAt, token.ExpiresAt, token.RevokedAt, token.LastUsedAt,
            Permissions.Format(token.ScopePermissions), token.ScopeAreas?.Select(a => a.Value).ToList());
    }

    /// <summary>A role's message form.</summary>
    public static RoleView ToView(AccessRole role)
    {
        ArgumentNullException.ThrowIfNull(role);
        return new(role.Name, Permissions.Format(role.Permissions), role.BuiltIn, role.BuiltIn ? "builtin" : SourceText(role.Source));
    }

    /// <summary>A grant's message form.</summary>
    public static GrantView ToView(GrantInfo grant)
    {
        ArgumentNullException.ThrowIfNull(grant);
        var b = grant.Binding;
        return new(b.Role, b.Kind == PrincipalKind.User ? b.Principal : null, b.Kind == PrincipalKind.Peer ? b.Principal : null, b.Area.Value, SourceText(grant.Source));
    }

    /// <summary>A peer's message form.</summary>
    public static PeerView ToView(PeerInfo peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        return new(peer.Name, peer.Fingerprint, peer.CommonName, peer.Enabled, peer.CreatedAt, SourceText(peer.Source), [.. peer.Roles.Select(ToView)]);
    }

    private static RoleAssignmentView ToView(RoleAssignment role) => new(role.Role, role.Area.Value);

    private static string SourceText(AccessSource source) => source == AccessSource.Policy ? "policy" : "local";
}
