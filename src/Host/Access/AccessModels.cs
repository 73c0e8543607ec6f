using System.Text;
using TurboMft.Engine.Storage;
using TurboMft.Host.Audit;

namespace TurboMft.Host.Access;

/// <summary>Where an access entry came from: made through the CLI or admin API, or declared by the policy file.</summary>
public enum AccessSource
{
    /// <summary>Made through <c>turbomft user|token|role|peer</c> or <c>/v1/admin</c>; kept until changed there.</summary>
    Local,

    /// <summary>Declared by the policy file; replaced as a whole each time the server starts.</summary>
    Policy,
}

/// <summary>A role: a named set of permissions (docs/security.md, "Roles").</summary>
/// <param name="Name">The role's name.</param>
/// <param name="Permissions">What it allows.</param>
/// <param name="BuiltIn">True for the built-in roles, which cannot be changed.</param>
/// <param name="Source">Where a custom role came from.</param>
public sealed record AccessRole(string Name, Permission Permissions, bool BuiltIn, AccessSource Source)
{
    /// <summary>The built-in roles (docs/security.md, "Roles"), which every access store holds from creation and which cannot be changed.</summary>
    public static IReadOnlyList<AccessRole> BuiltIns { get; } =
    [
        new("admin", Permission.All, true, AccessSource.Local),
        new("operator", Permission.List | Permission.Read | Permission.Write | Permission.Delete, true, AccessSource.Local),
        new("uploader", Permission.List | Permission.Write, true, AccessSource.Local),
        new("downloader", Permission.List | Permission.Read, true, AccessSource.Local),
        new("auditor", Permission.List | Permission.Audit, true, AccessSource.Local),
        new("approver", Permission.List | Permission.Read | Permission.Approve, true, AccessSource.Local),
        new("monitor", Permission.Metrics, true, AccessSource.Local),
    ];
}

/// <summary>A role held on an area.</summary>
/// <param name="Role">The role's name.</param>
/// <param name="Area">The area (path prefix) it applies to.</param>
public sealed record RoleAssignment(string Role, RemotePath Area);

/// <summary>A grant: a user or peer holds a role on an area.</summary>
/// <param name="Kind">User or peer.</param>
/// <param name="Principal">The user or peer name.</param>
/// <param name="Role">The role's name.</param>
/// <param name="Area">The area.</param>
public sealed record RoleBinding(PrincipalKind Kind, string Principal, string Role, RemotePath Area);

/// <summary>A grant as listed, with where it came from.</summary>
public sealed record GrantInfo(RoleBinding Binding, AccessSource Source);

/// <summary>A user as listed (never the password hash).</summary>
public sealed record UserInfo(string Name, bool Enabled, bool HasPassword, DateTimeOffset CreatedAt, AccessSource Source, IReadOnlyList<RoleAssignment> Roles);

/// <summary>A peer site as listed.</summary>
/// <param name="Name">The peer's name.</param>
/// <param name="Fingerprint">The pinned certificate's <c>sha256:HEX</c>, or null.</param>
/// <param name="CommonName">The subject CN of a certificate issued by the configured client CA, or null.</param>
/// <param name="Enabled">Disabled peers fail authentication.</param>
/// <param name="CreatedAt">When it was registered.</param>
/// <param name="Source">Where it came from.</param>
/// <param name="Roles">Its grants.</param>
public sealed record PeerInfo(string Name, string? Fingerprint, string? CommonName, bool Enabled, DateTimeOffset CreatedAt, AccessSource Source, IReadOnlyList<RoleAssignment> Roles)
{
    /// <summary>How this node reaches the peer when it replicates to or pulls from it; null for an inbound-only peer.</summary>
    public PeerOutbound? Outbound { get; init; }
}

/// <summary>How this node authenticates to a peer it connects to.</summary>
public enum PeerCredential
{
    /// <summary>The node's client certificate (mTLS; preferred).</summary>
    Mtls,

    /// <summary>An API token issued by the peer, kept sealed under the master key.</summary>
    Token,
}

/// <summary>The outbound side of a peer (docs/replication.md, "Peers").</summary>
/// <param name="Url">The peer's base address, <c>https://host:port</c>.</param>
/// <param name="ServerPin">Trust the peer's server certificate by this pin (<c>sha256:HEX</c>), or null.</param>
/// <param name="ServerCa">Trust it through this CA file on this node, or null (then the system store decides).</param>
/// <param name="Credential">mTLS with the node certificate, or a token.</param>
/// <param name="SealedToken">The token sealed by <see cref="PeerSecrets"/>; never the token in clear.</param>
public sealed record PeerOutbound(Uri Url, string? ServerPin, string? ServerCa, PeerCredential Credential, byte[]? SealedToken)
{
    /// <summary>The stored name of <see cref="PeerCredential.Mtls"/>.</summary>
    public const string MtlsCredential = "mtls";

    /// <summary>The stored name of <see cref="PeerCredential.Token"/>.</summary>
    public const string TokenCredential = "token";

    /// <summary>The credential's stored name.</summary>
    public string CredentialName => Credential == PeerCredential.Token ? TokenCredential : MtlsCredential;

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"Url = {Url}, ServerPin = {ServerPin}, ServerCa = {ServerCa}, Credential = {CredentialName}");
        return true;
    }
}

/// <summary>An API token as listed: never the secret or its hash.</summary>
/// <param name="Id">The public id (<c>tok_…</c>).</param>
/// <param name="User">Whose rights it carries.</param>
/// <param name="Label">What it is for.</param>
/// <param name="CreatedAt">When it was issued.</param>
/// <param name="ExpiresAt">When it stops working, or null for never.</param>
/// <param name="RevokedAt">When it was revoked, or null.</param>
/// <param name="LastUsedAt">Last successful use, to within a minute (a store writes it at most once a minute per token).</param>
/// <param name="ScopePermissions">The permissions it may use (<see cref="Permission.All"/> when not narrowed).</param>
/// <param name="ScopeAreas">The areas it may act in, or null for all of its user's areas.</param>
public sealed record TokenInfo(
    string Id,
    string User,
    string? Label,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? RevokedAt,
    DateTimeOffset? LastUsedAt,
    Permission ScopePermissions,
    IReadOnlyList<RemotePath>? ScopeAreas);

/// <summary>What a new token is for and how far it reaches; it can only narrow its user's rights, never widen them.</summary>
/// <param name="Label">A note for listings ("ci upload job").</param>
/// <param name="ExpiresIn">Lifetime, or null for a token that lasts until revoked.</param>
/// <param name="Permissions">The permissions the token may use; <see cref="Permission.All"/> means all of its user's.</param>
/// <param name="Areas">The areas the token may act in; null means all of its user's.</param>
public sealed record TokenRequest(string? Label = null, TimeSpan? ExpiresIn = null, Permission Permissions = Permission.All, IReadOnlyList<RemotePath>? Areas = null)
{
    /// <summary>Longest label.</summary>
    public const int MaxLabelLength = 200;

    /// <summary>Most areas in one token's scope.</summary>
    public const int MaxAreas = 64;

    /// <summary>Longest lifetime.</summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(3660);

    /// <summary>Throws <see cref="AccessException"/> for a scope or lifetime that cannot be issued.</summary>
    public void Validate()
    {
        if (Label is not null && (Label.Length > MaxLabelLength || Label.Any(char.IsControl)))
        {
            throw new AccessException(AccessError.InvalidRequest, $"A token label has at most {MaxLabelLength} characters and no control characters.");
        }

        if (ExpiresIn is { } lifetime && (lifetime <= TimeSpan.Zero || lifetime > MaxLifetime))
        {
            throw new AccessException(AccessError.InvalidRequest, $"A token's lifetime must be positive and at most {MaxLifetime.TotalDays:0} days.");
        }

        if (Permissions == Permission.None || (Permissions & ~Permission.All) != 0)
        {
            throw new AccessException(AccessError.InvalidRequest, $"A token's permissions must be some of {string.Join(", ", Access.Permissions.AllNames)} (or all).");
        }

        if (Areas is not null && (Areas.Count == 0 || Areas.Count > MaxAreas))
        {
            throw new AccessException(AccessError.InvalidRequest, $"A token's scope names 1 to {MaxAreas} areas, or none at all for every area of its user.");
        }
    }
}

/// <summary>A token just issued: the only time its secret is shown.</summary>
/// <param name="Id">The public id.</param>
/// <param name="Secret">The bearer secret (<c>tmf_…</c>); stored only as its SHA-256.</param>
/// <param name="User">Whose rights it carries.</param>
/// <param name="ExpiresAt">When it stops working, or null.</param>
public sealed record IssuedToken(string Id, string Secret, string User, DateTimeOffset? ExpiresAt)
{
    private bool PrintMembers(StringBuilder builder)
    {
        // Keep the secret out of logs and exception messages that format the record.
        builder.Append($"Id = {Id}, Secret = (hidden), User = {User}, ExpiresAt = {ExpiresAt}");
        return true;
    }
}

/// <summary>The result of a password login: an issued token, or why it was refused (for the audit trail, never for the client).</summary>
/// <param name="Token">Set on success.</param>
/// <param name="FailureReason">Set on failure: "unknown-user", "no-password", "wrong-password", "user-disabled".</param>
public sealed record LoginResult(IssuedToken? Token, string? FailureReason);

/// <summary>Who asks for an administrative change, for its audit event.</summary>
/// <param name="Actor">The user, token, peer and address.</param>
/// <param name="CorrelationId">The request's id, if any.</param>
public sealed record AdminCaller(AuditActor Actor, string? CorrelationId)
{
    /// <summary>The server itself or an offline command on the data directory.</summary>
    public static AdminCaller System { get; } = new(AuditActor.System, null);
}
