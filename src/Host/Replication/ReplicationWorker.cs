using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TurboMft.Engine.Client;
using TurboMft.Host.Audit;
using TurboMft.Host.Cluster;

namespace TurboMft.Host.Replication;

/// <summary>
/// Works the durable outbox (docs/replication.md, "Outbox"): claims due jobs from the <see cref="IReplicationStore"/> a few
/// at a time under a lease held as <see cref="LeaseOwner"/> (so memory stays bounded whatever the backlog, and another
/// node's worker on the same store never runs the same job), runs them in parallel across peers with a per-peer limit,
/// and records each attempt: done or skipped, or failed with exponential backoff and full jitter (forbidden and not-found
/// answers fail for good). Also renews its leases, and runs the sweep, the pull polls and the backlog metrics.
/// </summary>
public sealed class ReplicationWorker(
    IReplicationStore store,
    ReplicationOutbox outbox,
    PeerConnections peers,
    PushReplicator pusher,
    PullReplicator puller,
    IAuditTrail audit,
    ReplicationSettings settings,
    ReplicationActivity activity,
    ReplicationMetrics metrics,
    ClusterLeases leases,
    TimeProvider time,
    ILogger<ReplicationWorker> logger) : BackgroundService
{
    private string? _owner;

    private readonly ConcurrentDictionary<long, Task> _running = new();
    private readonly ConcurrentDictionary<string, BandwidthLimiter> _limits = new(StringComparer.Ordinal);
    private RuleCache? _rules;

    /// <summary>Jobs held in memory now (running): never more than <c>Replication:MaxConcurrentJobs</c>.</summary>
    public int InMemoryJobs => _running.Count;

    /// <summary>
    /// The name this worker's leases are held under: the node's name (unique among the live nodes of one database, the same
    /// after a restart), so that a starting worker takes back at once the jobs its previous run left running and two nodes
    /// on one host never share leases. Known once the node has joined the registry; the worker claims nothing before.
    /// </summary>
    public string LeaseOwner => _owner ?? throw new InvalidOperationException("The node has not joined the registry yet.");

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var options = settings;
        if (!options.Enabled)
        {
            return;
        }

        await Task.Yield();
        try
        {
            _owner = await leases.NodeNameAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return;
        }

        await store.ReleaseLeasesAsync(LeaseOwner, stoppingToken).ConfigureAwait(false);
        var background = Task.Run(() => HousekeepingAsync(stoppingToken), CancellationToken.None);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var full = false;
                try
                {
                    full = await StartDueJobsAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogError(e, "Replication worker: could not read the outbox; trying again");
                }

                // With every due peer at its limit, the next finished job wakes the worker: no polling meanwhile.
                var wait = TimeSpan.FromSeconds(options.IdleSeconds);
                if (!full && _running.Count < options.MaxConcurrentJobs && await NextDueSafeAsync(stoppingToken).ConfigureAwait(false) is { } due)
                {
                    var until = due - time.GetUtcNow();
                    wait = until < wait ? (until > TimeSpan.Zero ? until : TimeSpan.FromMilliseconds(50)) : wait;
                }

                await outbox.WaitAsync(wait, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: jobs still running keep their leases and are taken back at the next start (their sessions resume).
        }

        await Task.WhenAll(_running.Values.Append(background)).ConfigureAwait(false);
    }

    private async Task<DateTimeOffset?> NextDueSafeAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await store.NextDueAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("Replication worker: {Reason}", e.Message);
            return null;
        }
    }

    /// <summary>Starts due jobs within the limits; true when some due jobs had to wait for a free slot.</summary>
    private async Task<bool> StartDueJobsAsync(CancellationToken cancellationToken)
    {
        var options = settings;
        var full = false;
        foreach (var peer in await store.DuePeersAsync(cancellationToken).ConfigureAwait(false))
        {
            var free = Math.Min(options.MaxConcurrentJobs - _running.Count, Math.Min(options.Batch, options.ConcurrencyPerPeer - activity.Running(peer)));
            if (free <= 0)
            {
                full = true;
                continue;
            }

            foreach (var job in await store.ClaimDueAsync(peer, LeaseOwner, free, options.Lease, cancellationToken).ConfigureAwait(false))
            {
                if (_running.ContainsKey(job.Id))
                {
                    // Its lease lapsed while it ran here (renewals failed) and this claim renewed it: it is running already.
                    continue;
                }

                activity.Track(job.Peer, starting: true);
                _running[job.Id] = Task.Run(() => RunAsync(job, cancellationToken), CancellationToken.None);
            }
        }

        return full;
    }

    private async Task RunAsync(ReplicationJob job, CancellationToken cancellationToken)
    {
        var bytes = 0L;
        var direction = job.Direction == ReplicationDirection.Pull ? "pull" : "push";
        void Moved(long count)
        {
            Interlocked.Add(ref bytes, count);
            activity.AddBytes(job.Peer, count);
            metrics.Bytes.WithLabels(job.Peer, direction).Inc(count);
        }

        try
        {
            var client = await peers.GetAsync(job.Peer, cancellationToken).ConfigureAwait(false);
            var bandwidth = await LimitForAsync(job.Rule, cancellationToken).ConfigureAwait(false);
            var outcome = job.Direction switch
            {
                ReplicationDirection.Pull => await puller.PullAsync(job, client, bandwidth, Moved, cancellationToken).ConfigureAwait(false),
                ReplicationDirection.Delete => await pusher.DeleteAsync(job, client, cancellationToken).ConfigureAwait(false),
                _ => await pusher.PushAsync(job, client, bandwidth, Moved, cancellationToken).ConfigureAwait(false),
            };
            if (!await store.FinishAsync(job.Id, LeaseOwner, outcome.State, Interlocked.Read(ref bytes), outcome.Note, CancellationToken.None).ConfigureAwait(false))
            {
                logger.LogInformation("Replication job {Job}: finished after its lease was lost (its rule was removed, or another worker took it over)", job.Id);
            }

            metrics.Jobs.WithLabels(job.Peer, outcome.State).Inc();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping mid-transfer: the job stays 'running' under this lease and resumes its session after the restart.
        }
        catch (Exception e)
        {
            await FailAsync(job, e, Interlocked.Read(ref bytes)).ConfigureAwait(false);
        }
        finally
        {
            activity.Track(job.Peer, starting: false);
            _running.TryRemove(job.Id, out _);
            outbox.Wake();
        }
    }

    private async Task FailAsync(ReplicationJob job, Exception error, long bytes)
    {
        var permanent = error is ServerProblemException { Status: 403 or 404 } problem && problem.ProblemType is not ("upload-not-found" or "file-not-found");
        // A due time in the outbox, not a sleep: the worker claims the job again once it has come.
        var next = time.GetUtcNow() + settings.RetryBackoff().Delay(job.Attempts);
        var reason = Describe(error);
        try
        {
            if (!await store.FailAsync(job.Id, LeaseOwner, reason, bytes, next, permanent, CancellationToken.None).ConfigureAwait(false))
            {
                logger.LogInformation("Replication job {Job}: failed after its lease was lost (its rule was removed, or another worker took it over)", job.Id);
            }

            audit.Append(PushReplicator.Event(job, "replication.failed", AuditOutcome.Failure) with
            {
                Detail = $"peer {job.Peer}, attempt {job.Attempts + 1}: {reason}" + (permanent ? " (permanent: fix the configuration, then add the rule again)" : $" (retry after {next:O})"),
            });
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogError(e, "Replication job {Job}: its failure could not be recorded", job.Id);
        }

        metrics.Jobs.WithLabels(job.Peer, permanent ? ReplicationJobState.FailedPermanent : "failed").Inc();
        logger.LogInformation("Replication job {Job} ({Path} to {Peer}) failed: {Reason}", job.Id, job.SourcePath, job.Peer, reason);
    }

    private static string Describe(Exception error)
    {
        var text = error switch
        {
            HttpRequestException http => $"cannot reach the peer: {http.Message}",
            _ => error.Message,
        };
        return $"{error.GetType().Name}: {text}";
    }

    private async Task<BandwidthLimiter?> LimitForAsync(string rule, CancellationToken cancellationToken)
    {
        // Rules change rarely; a second-old copy saves a query per job when thousands of small files flow.
        var cached = Volatile.Read(ref _rules);
        if (cached is null || time.GetElapsedTime(cached.At) > TimeSpan.FromSeconds(1))
        {
            cached = new RuleCache(time.GetTimestamp(), await store.ListRulesAsync(cancellationToken).ConfigureAwait(false));
            Volatile.Write(ref _rules, cached);
        }

        var found = cached.Rules.FirstOrDefault(r => r.Name == rule);
        if (found is not { BandwidthBytesPerSecond: > 0 } limited)
        {
            return null;
        }

        var limiter = _limits.GetOrAdd(rule, _ => new BandwidthLimiter(limited.BandwidthBytesPerSecond, time));
        return limiter.BytesPerSecond == limited.BandwidthBytesPerSecond ? limiter : _limits[rule] = new BandwidthLimiter(limited.BandwidthBytesPerSecond, time);
    }

    private async Task HousekeepingAsync(CancellationToken cancellationToken)
    {
        var options = settings;
        var nextSweep = DateTimeOffset.MinValue;
        var nextRenewal = DateTimeOffset.MinValue;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var now = time.GetUtcNow();
                if (now >= nextRenewal)
                {
                    // A third of the lease apart, so that two failed renewals in a row still leave it held.
                    await store.RenewLeasesAsync(LeaseOwner, options.Lease, cancellationToken).ConfigureAwait(false);
                    nextRenewal = now + (options.Lease / 3);
                }

                if (now >= nextSweep)
                {
                    // Once per cluster: enqueues are unique per subject anyway, the lease spares N nodes the same scan of the versions.
                    if (await leases.HoldAsync(LeaseNames.ReplicationSweep, cancellationToken).ConfigureAwait(false) is { } sweep)
                    {
                        await sweep.EnsureCurrentAsync(cancellationToken).ConfigureAwait(false);
                        await outbox.SweepAsync(cancellationToken).ConfigureAwait(false);
                    }

                    nextSweep = now + TimeSpan.FromSeconds(options.SweepSeconds);
                }

                await puller.PollDueRulesAsync(cancellationToken).ConfigureAwait(false);
                metrics.Observe(await store.BacklogAsync(cancellationToken).ConfigureAwait(false), time.GetUtcNow());
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(1, options.PollSeconds)), time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogWarning("Replication housekeeping: {Reason}", e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), time, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private sealed record RuleCache(long At, IReadOnlyList<ReplicationRule> Rules);
}
