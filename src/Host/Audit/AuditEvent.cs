namespace TurboMft.Host.Audit;

/// <summary>Who did something: the user or peer, the token id (never the secret) and the source address.</summary>
/// <param name="User">User name, when a user acted.</param>
/// <param name="TokenId">Public token id, when a token was used.</param>
/// <param name="Peer">Peer site name, when a peer acted over mTLS.</param>
/// <param name="Address">Remote IP address; null for local actions (CLI on the data directory, server start).</param>
public sealed record AuditActor(string? User, string? TokenId, string? Peer, string? Address)
{
    /// <summary>The server or an offline command acting on the data directory itself.</summary>
    public static AuditActor System { get; } = new("system", null, null, null);
}

/// <summary>
/// One security-relevant event before it is sequenced and chained (docs/audit.md). Actions are dotted lower-case names:
/// <c>auth.success</c>, <c>auth.failure</c>, <c>auth.throttled</c>, <c>auth.login</c>, <c>token.issue</c>,
/// <c>token.revoke</c>, <c>user.add</c>, <c>user.disable</c>, <c>user.passwd</c>, <c>role.grant</c>, <c>role.revoke</c>,
/// <c>role.add</c>, <c>peer.add</c>, <c>peer.remove</c>, <c>policy.load</c>, <c>file.upload</c>, <c>file.download</c>,
/// <c>file.delete</c>, <c>file.list</c>, <c>upload.open</c>, <c>upload.abort</c>, <c>access.denied</c>,
/// <c>keys.rotate</c>, <c>keys.rewrap</c>, <c>server.start</c>, <c>server.stop</c>, <c>audit.read</c>, and for release
/// (docs/content-security.md) <c>scan.verdict</c>, <c>scan.held</c>, <c>file.quarantined</c>, <c>file.released</c>,
/// <c>approval.requested</c>, <c>approval.approved</c>, <c>approval.rejected</c>, and for replication (docs/replication.md)
/// <c>replication.sent</c>, <c>replication.received</c>, <c>replication.verified</c>, <c>replication.skipped</c>,
/// <c>replication.failed</c>, <c>replication.deleted</c>, <c>replication.rule.add</c>, <c>replication.rule.remove</c>.
/// </summary>
public sealed record AuditEvent
{
    /// <summary>The action name.</summary>
    public required string Action { get; init; }

    /// <summary>Who.</summary>
    public required AuditActor Actor { get; init; }

    /// <summary>"success", "denied" (not allowed) or "failure" (tried and failed).</summary>
    public required string Outcome { get; init; }

    /// <summary>The remote path concerned, canonical, if any.</summary>
    public string? Path { get; init; }

    /// <summary>Bytes concerned (file size), if any.</summary>
    public long? Size { get; init; }

    /// <summary>The file's digest (<c>sha256-tree:…</c>), if any.</summary>
    public string? Digest { get; init; }

    /// <summary>The request's correlation id (ASP.NET Core TraceIdentifier) or another id tying records together.</summary>
    public string? CorrelationId { get; init; }

    /// <summary>Short machine-friendly detail: a failure reason, the role granted, a range… never a secret.</summary>
    public string? Detail { get; init; }
}

/// <summary>Outcome names.</summary>
public static class AuditOutcome
{
    /// <summary>Done.</summary>
    public const string Success = "success";

    /// <summary>Not allowed.</summary>
    public const string Denied = "denied";

    /// <summary>Tried and failed.</summary>
    public const string Failure = "failure";
}
