using TurboMft.Engine.Protocol;
using TurboMft.Engine.Storage;
using TurboMft.Host.Access;
using TurboMft.Host.Audit;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Replication;

/// <summary>A refused replication administration request, with its problem type and status.</summary>
public sealed class ReplicationException(string type, int status, string message) : Exception(message), IRefusal
{
    /// <summary>The stable problem type (<c>invalid-request</c>, <c>rule-exists</c>, <c>rule-not-found</c>).</summary>
    public string ProblemType { get; } = type;

    /// <summary>The HTTP status.</summary>
    public int Status { get; } = status;
}

/// <summary>
/// Rules and status behind <c>/v1/admin/replication</c> (docs/replication.md, "Rules", "Status"): validates a rule
/// (names, areas, the peer's outbound side, patterns), stores it, audits the change durably, and reports per peer.
/// </summary>
public sealed class ReplicationAdministration(
    IReplicationStore store, ReplicationOutbox outbox, IAccessStore access, ReplicationActivity activity, NodeIdentity node, IAuditTrail audit, TimeProvider time)
{
    /// <summary>Every rule.</summary>
    public async Task<ReplicationRuleList> ListAsync(CancellationToken cancellationToken) =>
        new([.. (await store.ListRulesAsync(cancellationToken).ConfigureAwait(false)).Select(View)]);

    /// <summary>Adds a rule; audited as <c>replication.rule.add</c>. Released files already in its area are enqueued by the next sweep.</summary>
    /// <exception cref="ReplicationException">The request is invalid, the peer has no outbound side, or the name is taken.</exception>
    public async Task<ReplicationRuleView> AddAsync(AdminCaller caller, AddReplicationRuleRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(request);
        var rule = Parse(request);
        if (await access.GetOutboundPeerAsync(rule.Peer, cancellationToken).ConfigureAwait(false) is null)
        {
            throw Invalid($"Peer '{rule.Peer}' has no outbound address here (or is disabled); add it first: turbomft peer add {rule.Peer} --url https://host:port --server-pin sha256:….");
        }

        if (!await store.AddRuleAsync(rule, cancellationToken).ConfigureAwait(false))
        {
            audit.Append(Event(caller, "replication.rule.add", AuditOutcome.Failure, rule, "rule-exists"));
            throw new ReplicationException("rule-exists", 409, $"Replication rule '{rule.Name}' exists already; remove it first to change it.");
        }

        await audit.AppendDurableAsync(Event(caller, "replication.rule.add", AuditOutcome.Success, rule, Describe(rule)), cancellationToken).ConfigureAwait(false);
        if (rule.Mode == ReplicationMode.Push)
        {
            await outbox.SweepAsync(cancellationToken).ConfigureAwait(false);
        }

        outbox.Wake();
        return View(rule);
    }

    /// <summary>Removes a rule and its open jobs; audited as <c>replication.rule.remove</c>.</summary>
    public async Task RemoveAsync(AdminCaller caller, string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var rule = (await store.ListRulesAsync(cancellationToken).ConfigureAwait(false)).FirstOrDefault(r => r.Name == name)
            ?? throw new ReplicationException("rule-not-found", 404, $"No replication rule '{name}'; see 'turbomft replication rule list'.");
        await store.RemoveRuleAsync(name, cancellationToken).ConfigureAwait(false);
        await audit.AppendDurableAsync(Event(caller, "replication.rule.remove", AuditOutcome.Success, rule, $"rule={rule.Name}"), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Per peer: backlog, jobs running, oldest pending age, last error, bytes per second and counts.</summary>
    public async Task<ReplicationStatus> StatusAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var backlog = (await store.BacklogAsync(cancellationToken).ConfigureAwait(false)).ToDictionary(b => b.Peer, StringComparer.Ordinal);
        var peers = (await store.ListRulesAsync(cancellationToken).ConfigureAwait(false)).Select(r => r.Peer).Concat(backlog.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        return new ReplicationStatus(node.Site, [.. peers.Select(peer =>
        {
            var b = backlog.GetValueOrDefault(peer);
            return new ReplicationPeerStatus(
                peer,
                b?.Backlog ?? 0,
                activity.Running(peer),
                b?.OldestPendingAt is { } at ? Math.Round(Math.Max(0, (now - at).TotalSeconds), 1) : 0,
                b?.LastError,
                Math.Round(activity.BytesPerSecond(peer)),
                b?.Done ?? 0,
                b?.Skipped ?? 0,
                b?.FailedPermanent ?? 0);
        })]);
    }

    /// <summary>A rule's message form.</summary>
    public static ReplicationRuleView View(ReplicationRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        return new(rule.Name, rule.Area.Value, rule.Peer, rule.ModeName, rule.Target.Value, rule.PropagateDeletes, (long)(rule.Interval?.TotalSeconds ?? 0),
            rule.BandwidthBytesPerSecond, rule.Include, rule.Exclude, rule.Enabled, rule.CreatedAt);
    }

    private ReplicationRule Parse(AddReplicationRuleRequest request)
    {
        string name, peer;
        try
        {
            name = AccessNames.Validate(request.Name, "Rule");
            peer = AccessNames.Validate(request.Peer, "Peer");
        }
        catch (AccessException e)
        {
            throw Invalid(e.Message);
        }

        var area = ParseArea(request.Area, "area");
        var target = request.Target is null ? area : ParseArea(request.Target, "target");
        var mode = (request.Mode ?? "push") switch
        {
            "push" => ReplicationMode.Push,
            "pull" => ReplicationMode.Pull,
            _ => throw Invalid($"mode '{request.Mode}' is neither push nor pull."),
        };
        if (mode == ReplicationMode.Pull && request.PropagateDeletes == true)
        {
            throw Invalid("Delete propagation applies to push rules only.");
        }

        if (request.IntervalSeconds is < 0 or > 31 * 24 * 3600)
        {
            throw Invalid("intervalSeconds must be 0 (continuous) to 2678400 (31 days).");
        }

        if (request.BandwidthBytesPerSecond is { } bps && bps != 0 && bps < 1024)
        {
            throw Invalid("bandwidthBytesPerSecond must be 0 (unlimited) or at least 1024.");
        }

        return new ReplicationRule(
            name,
            area,
            peer,
            mode,
            target,
            request.PropagateDeletes ?? false,
            request.IntervalSeconds is > 0 and var seconds ? TimeSpan.FromSeconds(seconds) : null,
            request.BandwidthBytesPerSecond ?? 0,
            Patterns(request.Include, "include"),
            Patterns(request.Exclude, "exclude"),
            true,
            time.GetUtcNow());
    }

    private static IReadOnlyList<string> Patterns(IReadOnlyList<string>? patterns, string what)
    {
        if (patterns is null)
        {
            return [];
        }

        if (patterns.Count > ReplicationRule.MaxPatterns)
        {
            throw Invalid($"At most {ReplicationRule.MaxPatterns} {what} patterns.");
        }

        try
        {
            return [.. patterns.Select(PathGlob.Validate)];
        }
        catch (ArgumentException e)
        {
            throw Invalid($"{what}: {e.Message}");
        }
    }

    private static RemotePath ParseArea(string? text, string what) =>
        RemotePath.TryParse(text ?? string.Empty, out var area, out var error, allowRoot: true) ? area : throw Invalid($"{what} '{text}' is not a path prefix: {error}");

    private static ReplicationException Invalid(string message) => new("invalid-request", 400, message);

    private static string Describe(ReplicationRule rule) =>
        $"rule={rule.Name} peer={rule.Peer} mode={rule.ModeName} target={rule.Target.Value} deletes={(rule.PropagateDeletes ? "yes" : "no")}"
        + (rule.Interval is { } i ? $" interval={i.TotalSeconds:0}s" : " continuous")
        + (rule.BandwidthBytesPerSecond > 0 ? $" bandwidth={rule.BandwidthBytesPerSecond}B/s" : string.Empty)
        + (rule.Include.Count > 0 ? " include=" + string.Join(',', rule.Include) : string.Empty)
        + (rule.Exclude.Count > 0 ? " exclude=" + string.Join(',', rule.Exclude) : string.Empty);

    private static AuditEvent Event(AdminCaller caller, string action, string outcome, ReplicationRule rule, string detail) => new()
    {
        Action = action,
        Actor = caller.Actor,
        Outcome = outcome,
        Path = rule.Area.Value,
        CorrelationId = caller.CorrelationId,
        Detail = detail,
    };
}
