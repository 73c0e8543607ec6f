namespace TurboMft.Host.Notifications;

/// <summary>
/// A security incident that must reach the security team within seconds (NIS2 early warning): malware found, a tampered
/// audit chain, repeated authentication failures (docs/content-security.md, "Incident notifications").
/// </summary>
/// <param name="Kind">Stable kind: <c>malware-found</c>, <c>file-type-denied</c>, <c>audit-chain-broken</c>, <c>auth-failures</c>, <c>scanner-unavailable</c>.</param>
/// <param name="Severity">RFC 5424 severity name: <c>critical</c>, <c>error</c>, <c>warning</c>.</param>
/// <param name="Time">When it was detected (UTC).</param>
/// <param name="Summary">One line for a human.</param>
/// <param name="Path">The remote path concerned, if any.</param>
/// <param name="Digest">The file's <c>sha256-tree</c> digest, if any.</param>
/// <param name="Actor">User, peer or address concerned, if any.</param>
/// <param name="CorrelationId">Ties the incident to its audit records.</param>
/// <param name="Details">More machine-readable facts (signature, scanner and version, failure count); never a secret or file content.</param>
public sealed record Incident(
    string Kind,
    string Severity,
    DateTimeOffset Time,
    string Summary,
    string? Path = null,
    string? Digest = null,
    string? Actor = null,
    string? CorrelationId = null,
    IReadOnlyDictionary<string, string>? Details = null);

/// <summary>Sends incidents out (signed webhook, syslog). <see cref="Raise"/> never blocks and never throws: delivery, retries and failures are its own business.</summary>
public interface IIncidentNotifier
{
    /// <summary>Queues <paramref name="incident"/> for every configured channel.</summary>
    void Raise(Incident incident);
}
