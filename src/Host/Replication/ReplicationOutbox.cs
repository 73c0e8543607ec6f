using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using TurboMft.Host.Metadata;
using TurboMft.Host.Release;

namespace TurboMft.Host.Replication;

/// <summary>
/// Puts jobs into the durable outbox (docs/replication.md, "Outbox"): a push job per matching rule when a version is
/// released, a delete job when a current version is deleted under a rule that propagates deletes, and a sweep that
/// enqueues released versions lacking a job (a crash between release and enqueue, or a rule added later). Only released
/// versions ever leave the node. Wakes the worker.
/// </summary>
public sealed class ReplicationOutbox(IReplicationStore store, NodeIdentity node, ILogger<ReplicationOutbox> logger) : IVersionObserver
{
    private const int SweepPage = 500;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>The store behind the outbox.</summary>
    public IReplicationStore Store => store;

    /// <summary>Tells the worker there may be work.</summary>
    public void Wake() => _wake.Writer.TryWrite(true);

    /// <summary>Waits until <see cref="Wake"/> is called or <paramref name="timeout"/> passes.</summary>
    public async Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(timeout);
        try
        {
            await _wake.Reader.ReadAsync(timer.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Timed out: look anyway.
        }
    }

    /// <inheritdoc />
    public async Task ReleasedAsync(FileVersion version, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(version);
        try
        {
            foreach (var rule in await PushRulesAsync(cancellationToken).ConfigureAwait(false))
            {
                if (rule.Covers(version.Path))
                {
                    await store.EnqueueAsync(PushJob(rule, version), cancellationToken).ConfigureAwait(false);
                }
            }

            Wake();
        }
        catch (Exception e) when (e is System.Data.Common.DbException or IOException)
        {
            // The release stands; the sweep enqueues it later.
            logger.LogWarning("Version {Version} of {Path}: replication jobs not enqueued now ({Reason}); the sweep will", version.VersionId, version.Path, e.Message);
        }
    }

    /// <inheritdoc />
    public async Task DeletedAsync(FileVersion version, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(version);
        try
        {
            foreach (var rule in await PushRulesAsync(cancellationToken).ConfigureAwait(false))
            {
                if (rule.PropagateDeletes && rule.Covers(version.Path))
                {
                    await store.EnqueueAsync(PushJob(rule, version) with { Direction = ReplicationDirection.Delete, Subject = "delete:" + version.VersionId.ToString("D") }, cancellationToken).ConfigureAwait(false);
                }
            }

            Wake();
        }
        catch (Exception e) when (e is System.Data.Common.DbException or IOException)
        {
            logger.LogWarning("Deletion of {Path}: replication delete jobs not enqueued ({Reason})", version.Path, e.Message);
        }
    }

    /// <summary>Enqueues every released current version under a push rule that has no job for the rule's peer; returns how many.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var added = 0;
        foreach (var rule in await PushRulesAsync(cancellationToken).ConfigureAwait(false))
        {
            var afterSeq = 0L;
            while (true)
            {
                var page = await store.UnqueuedReleasedAsync(rule, afterSeq, SweepPage, cancellationToken).ConfigureAwait(false);
                var jobs = new List<ReplicationJob>(page.Count);
                foreach (var (seq, version) in page)
                {
                    afterSeq = seq;
                    if (rule.Covers(version.Path))
                    {
                        jobs.Add(PushJob(rule, version));
                    }
                }

                // One transaction per page, and the worker starts on it while the next page is read.
                added += await store.EnqueueAsync(jobs, cancellationToken).ConfigureAwait(false);
                Wake();
                if (page.Count < SweepPage)
                {
                    break;
                }
            }
        }

        if (added > 0)
        {
            logger.LogInformation("Replication sweep enqueued {Count} released versions", added);
            Wake();
        }

        return added;
    }

    private async Task<IEnumerable<ReplicationRule>> PushRulesAsync(CancellationToken cancellationToken) =>
        (await store.ListRulesAsync(cancellationToken).ConfigureAwait(false)).Where(r => r.Enabled && r.Mode == ReplicationMode.Push);

    /// <summary>
    /// The push job of <paramref name="version"/> under <paramref name="rule"/>. A version that arrived by replication keeps
    /// its origin and correlation id (a relay forwards them); a local one gets this site and its version id.
    /// </summary>
    private ReplicationJob PushJob(ReplicationRule rule, FileVersion version) => new(
        0,
        rule.Name,
        rule.Peer,
        ReplicationDirection.Push,
        version.VersionId.ToString("D"),
        version.VersionId,
        version.Path,
        rule.MapToTarget(version.Path),
        version.Digest,
        version.Size,
        ReplicationJobState.Pending,
        0,
        DateTimeOffset.MinValue,
        null,
        null,
        0,
        version.Origin?.CorrelationId ?? version.VersionId.ToString("D"),
        version.Origin?.Site ?? node.Site,
        version.Origin?.Path ?? version.Path,
        version.Origin?.Time ?? version.CommittedAt,
        DateTimeOffset.MinValue);
}
