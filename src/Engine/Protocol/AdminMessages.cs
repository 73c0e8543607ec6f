using System.Text;

namespace TurboMft.Engine.Protocol;

// The JSON bodies of /v1/admin and /v1/auth/token (docs/protocol.md, "Administration"), shared by the server's endpoints
// and TurboMftAdminClient. Permissions travel as "list,read" text, areas as remote path prefixes, times as ISO 8601 UTC.

/// <summary>A role held on an area (docs/protocol.md, "Administration").</summary>
public sealed record RoleAssignmentView(string Role, string Area);

/// <summary>Body of <c>POST /v1/admin/users</c> (docs/protocol.md, "Administration").</summary>
public sealed record AddUserRequest(string? Name, string? Password = null, IReadOnlyList<RoleAssignmentView>? Roles = null)
{
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"Name = {Name}, Password = {(Password is null ? "null" : "(hidden)")}, Roles = {Roles?.Count ?? 0}");
        return true;
    }
}

/// <summary>Body of <c>PUT /v1/admin/users/{name}/password</c> (docs/protocol.md, "Administration").</summary>
public sealed record SetPasswordRequest(string? Password)
{
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Password = (hidden)");
        return true;
    }
}

/// <summary>Body of <c>POST /v1/admin/tokens</c> (docs/protocol.md, "Administration"): a token for <see cref="User"/>, optionally narrowed to some permissions and areas.</summary>
public sealed record IssueTokenRequest(string? User, string? Label = null, double? ExpiresInHours = null, string? Permissions = null, IReadOnlyList<string>? Areas = null);

/// <summary>Body of <c>POST /v1/admin/roles</c> (docs/protocol.md, "Administration").</summary>
public sealed record AddRoleRequest(string? Name, string? Permissions);

/// <summary>Body of <c>POST</c> and <c>DELETE /v1/admin/grants</c> (docs/protocol.md, "Administration"): a role on an area for exactly one of a user and a peer.</summary>
public sealed record GrantRequest(string? Role, string? User = null, string? Peer = null, string? Area = null);

/// <summary>
/// Body of <c>POST /v1/admin/peers</c> (docs/protocol.md, "Administration"): at most one inbound identity (a pinned fingerprint or a CA-issued common name) and/or
/// an outbound address for replication with its server trust (<see cref="ServerPin"/> or <see cref="ServerCa"/>, a path on the
/// server) and credential (<c>mtls</c>, the default, or <c>token</c> with <see cref="Token"/>).
/// </summary>
public sealed record AddPeerRequest(
    string? Name,
    string? Fingerprint = null,
    string? CommonName = null,
    string? Url = null,
    string? ServerPin = null,
    string? ServerCa = null,
    string? Credential = null,
    string? Token = null)
{
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"Name = {Name}, Fingerprint = {Fingerprint}, CommonName = {CommonName}, Url = {Url}, ServerPin = {ServerPin}, ServerCa = {ServerCa}, Credential = {Credential}, Token = {(Token is null ? "null" : "(hidden)")}");
        return true;
    }
}

/// <summary>A user as listed and as added (docs/protocol.md, "Administration").</summary>
public sealed record UserView(string Name, bool Enabled, bool HasPassword, DateTimeOffset CreatedAt, string Source, IReadOnlyList<RoleAssignmentView> Roles);

/// <summary>A token as listed, never with its secret (docs/protocol.md, "Administration").</summary>
public sealed record TokenView(
    string Id, string User, string? Label, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt, DateTimeOffset? LastUsedAt, string Permissions, IReadOnlyList<string>? Areas);

/// <summary>Answer of <c>POST /v1/admin/tokens</c> and <c>POST /v1/auth/token</c>: the secret, shown this once (docs/protocol.md, "Administration").</summary>
public sealed record IssuedTokenView(string Id, string Token, string User, DateTimeOffset? ExpiresAt)
{
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"Id = {Id}, Token = (hidden), User = {User}, ExpiresAt = {ExpiresAt}");
        return true;
    }
}

/// <summary>A role as listed and as added (docs/protocol.md, "Administration").</summary>
public sealed record RoleView(string Name, string Permissions, bool BuiltIn, string Source);

/// <summary>A grant as listed (docs/protocol.md, "Administration").</summary>
public sealed record GrantView(string Role, string? User, string? Peer, string Area, string Source);

/// <summary>A peer as listed and as added (docs/protocol.md, "Administration"): its inbound identity and grants, and its outbound address, trust and credential kind (never the token).</summary>
public sealed record PeerView(
    string Name,
    string? Fingerprint,
    string? CommonName,
    bool Enabled,
    DateTimeOffset CreatedAt,
    string Source,
    IReadOnlyList<RoleAssignmentView> Roles,
    string? Url = null,
    string? ServerPin = null,
    string? ServerCa = null,
    string? Credential = null);

/// <summary>Answer of <c>GET /v1/admin/users</c> (docs/protocol.md, "Administration").</summary>
public sealed record UserList(IReadOnlyList<UserView> Users);

/// <summary>Answer of <c>GET /v1/admin/tokens</c> (docs/protocol.md, "Administration").</summary>
public sealed record TokenList(IReadOnlyList<TokenView> Tokens);

/// <summary>Answer of <c>GET /v1/admin/roles</c> (docs/protocol.md, "Administration").</summary>
public sealed record RoleList(IReadOnlyList<RoleView> Roles);

/// <summary>Answer of <c>GET /v1/admin/grants</c> (docs/protocol.md, "Administration").</summary>
public sealed record GrantList(IReadOnlyList<GrantView> Grants);

/// <summary>Answer of <c>GET /v1/admin/peers</c> (docs/protocol.md, "Administration").</summary>
public sealed record PeerList(IReadOnlyList<PeerView> Peers);

/// <summary>Body of <c>POST /v1/auth/token</c> (docs/protocol.md, "Other"): a user's password exchanged for a token (docs/security.md, "Passwords").</summary>
public sealed record LoginRequest(string? User, string? Password, string? Label = null, double? ExpiresInHours = null, string? Permissions = null, IReadOnlyList<string>? Areas = null)
{
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        // Keep the password out of logs and exception messages that format the record.
        builder.Append($"User = {User}, Password = (hidden), Label = {Label}, ExpiresInHours = {ExpiresInHours}");
        return true;
    }
}

/// <summary>What became of a test incident on one notification channel (docs/protocol.md, "Administration").</summary>
/// <param name="Channel"><c>log</c>, <c>webhook</c> or <c>syslog</c>.</param>
/// <param name="Status"><c>delivered</c>, <c>failed</c>, <c>dropped</c> or <c>pending</c> (not done when the server answered).</param>
/// <param name="Detail">HTTP status and attempts, the error, or where it went.</param>
public sealed record NotificationChannelOutcome(string Channel, string Status, string Detail);

/// <summary>Answer of <c>POST /v1/admin/notifications/test</c> (docs/protocol.md, "Administration").</summary>
/// <param name="IncidentId">The test incident's id, as the receivers see it.</param>
/// <param name="CorrelationId">The request's correlation id, also in the incident and the <c>notify.test</c> audit record.</param>
/// <param name="Channels">The outcome per channel.</param>
public sealed record NotificationTestResult(string? IncidentId, string CorrelationId, IReadOnlyList<NotificationChannelOutcome> Channels);

/// <summary>One node of the service in <c>GET /v1/admin/nodes</c> (docs/protocol.md, "Administration"; docs/cluster.md, "Nodes").</summary>
/// <param name="Name">The node's unique name.</param>
/// <param name="Site">The site it serves.</param>
/// <param name="Version">The TurboMft build it runs.</param>
/// <param name="StartedAt">When it joined.</param>
/// <param name="HeartbeatAt">Its last heartbeat.</param>
/// <param name="Live">True when the last heartbeat is within the timeout (30 s) of the answer.</param>
/// <param name="Leases">The cluster leases it holds now (docs/cluster.md, "Background work under leases").</param>
public sealed record NodeStatus(string Name, string Site, string Version, DateTimeOffset StartedAt, DateTimeOffset HeartbeatAt, bool Live, IReadOnlyList<NodeLease> Leases);

/// <summary>A cluster lease a node holds, in <see cref="NodeStatus"/>.</summary>
/// <param name="Name">What it covers, e.g. <c>scan-sweep</c>.</param>
/// <param name="Token">Its fencing token.</param>
/// <param name="AcquiredAt">When this holding began (the lease store's clock).</param>
/// <param name="ExpiresAt">When it lapses unless renewed.</param>
public sealed record NodeLease(string Name, long Token, DateTimeOffset AcquiredAt, DateTimeOffset ExpiresAt);

/// <summary>Answer of <c>GET /v1/admin/nodes</c>.</summary>
/// <param name="Node">The name of the node that answered.</param>
/// <param name="Nodes">Every registered node, by name.</param>
public sealed record NodeListing(string Node, IReadOnlyList<NodeStatus> Nodes);
