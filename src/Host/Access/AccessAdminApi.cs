using TurboMft.Engine.Protocol;
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
    private readonly PeerSecrets? _secrets;

    /// <summary>Creates the API over <paramref name="administration"/>; <paramref name="secrets"/> seals peer tokens (without it, token peers are refused).</summary>
    public AccessAdminApi(AccessAdministration administration, PeerSecrets? secrets = null)
    {
        ArgumentNullException.ThrowIfNull(administration);
        _administration = administration;
        _secrets = secrets;
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
        var name = AccessNames.Validate(request.Name, "Peer");
        return ToView(await _administration.AddPeerAsync(caller, name, request.Fingerprint, request.CommonName, cancellationToken, ToOutbound(name, request)).ConfigureAwait(false));
    }

    /// <summary>The outbound side a request asks for, validated, with its token sealed; null when it names no URL.</summary>
    private PeerOutbound? ToOutbound(string name, AddPeerRequest request)
    {
        if (request.Url is null)
        {
            return request.ServerPin is null && request.ServerCa is null && request.Credential is null && request.Token is null
                ? null
                : throw new AccessException(AccessError.InvalidRequest, "Server trust and a credential only go with an outbound url (https://host:port).");
        }

        if (!Uri.TryCreate(request.Url, UriKind.Absolute, out var url) || url.Scheme != Uri.UriSchemeHttps || url.AbsolutePath != "/" || !string.IsNullOrEmpty(url.Query) || url.UserInfo.Length > 0)
        {
            throw new AccessException(AccessError.InvalidRequest, $"Peer url '{request.Url}' is not https://host:port (no path, query or user).");
        }

        if (request.ServerPin is not null && request.ServerCa is not null)
        {
            throw new AccessException(AccessError.InvalidRequest, "Trust the peer's server by a pin or by a CA file, not both.");
        }

        var pin = request.ServerPin is null ? null : AccessParsing.ParseFingerprint(request.ServerPin);
        if (request.ServerCa is not null && (!Path.IsPathFullyQualified(request.ServerCa) || request.ServerCa.Any(char.IsControl)))
        {
            throw new AccessException(AccessError.InvalidRequest, $"serverCa '{request.ServerCa}' must be an absolute path to a CA file on the server.");
        }

        var credential = (request.Credential ?? (request.Token is null ? PeerOutbound.MtlsCredential : PeerOutbound.TokenCredential)) switch
        {
            PeerOutbound.MtlsCredential => PeerCredential.Mtls,
            PeerOutbound.TokenCredential => PeerCredential.Token,
            _ => throw new AccessException(AccessError.InvalidRequest, $"credential '{request.Credential}' is neither mtls nor token."),
        };
        if ((credential == PeerCredential.Token) != (request.Token is not null))
        {
            throw new AccessException(AccessError.InvalidRequest, credential == PeerCredential.Token ? "credential token needs the token the peer issued." : "A token goes only with credential token.");
        }

        byte[]? sealedToken = null;
        if (request.Token is { } token)
        {
            if (token.Length is 0 or > 512 || token.Any(c => char.IsControl(c) || c == ' '))
            {
                throw new AccessException(AccessError.InvalidRequest, "The peer token must be 1 to 512 printable characters without spaces.");
            }

            sealedToken = (_secrets ?? throw new AccessException(AccessError.InvalidRequest, "This server cannot seal peer tokens (no master key); use credential mtls.")).Seal(name, token);
        }

        return new PeerOutbound(url, pin, request.ServerCa, credential, sealedToken);
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
        return new(peer.Name, peer.Fingerprint, peer.CommonName, peer.Enabled, peer.CreatedAt, SourceText(peer.Source), [.. peer.Roles.Select(ToView)],
            peer.Outbound?.Url.ToString(), peer.Outbound?.ServerPin, peer.Outbound?.ServerCa, peer.Outbound?.CredentialName);
    }

    private static RoleAssignmentView ToView(RoleAssignment role) => new(role.Role, role.Area.Value);

    private static string SourceText(AccessSource source) => source == AccessSource.Policy ? "policy" : "local";
}
