using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using TurboMft.Engine.Buffers;
using TurboMft.Engine.Client;
using TurboMft.Engine.Compression;
using TurboMft.Engine.Container;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Protocol;
using TurboMft.Engine.Storage;
using TurboMft.Host.Audit;
using TurboMft.Host.Cluster;
using TurboMft.Host.Ingest;
using TurboMft.Host.Metadata;
using TurboMft.Host.Release;

namespace TurboMft.Host.Replication;

/// <summary>
/// Pull rules (docs/replication.md, "Pull"): this node lists the peer's area, enqueues a pull job for every released file
/// whose digest it lacks at the mapped path, and fetches each one by chunk-aligned ranges into a local upload session,
/// committed through the normal path (staging container, digest check, commit, scan, release). The session id is kept in
/// the job, so an interrupted pull resumes by chunk. The peer never connects to this node.
/// </summary>
public sealed class PullReplicator(
    IReplicationStore store,
    PeerConnections peers,
    FileIngest ingest,
    IMetadataStore metadata,
    IAuditTrail audit,
    ReplicationSettings settings,
    ClusterLeases leases,
    TimeProvider time,
    ILogger<PullReplicator> logger)
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _lastPoll = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _sites = new(StringComparer.Ordinal);

    /// <summary>
    /// Polls every enabled pull rule whose interval (or <c>Replication:PollSeconds</c>) has passed and whose lease
    /// (<see cref="LeaseNames.ReplicationPull"/>) this node holds: each rule is polled by one node of the cluster.
    /// </summary>
    public async Task PollDueRulesAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        foreach (var rule in (await store.ListRulesAsync(cancellationToken).ConfigureAwait(false)).Where(r => r.Enabled && r.Mode == ReplicationMode.Pull))
        {
            var every = rule.Interval ?? TimeSpan.FromSeconds(settings.PollSeconds);
            if (_lastPoll.TryGetValue(rule.Name, out var last) && now - last < every)
            {
                continue;
            }

            try
            {
                // One node of the cluster polls a rule; the others leave its peer alone.
                if (await leases.HoldAsync(LeaseNames.ReplicationPull(rule.Name), cancellationToken).ConfigureAwait(false) is not { } lease)
                {
                    continue;
                }

                _lastPoll[rule.Name] = now;
                await lease.EnsureCurrentAsync(cancellationToken).ConfigureAwait(false);
                await PollAsync(rule, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogInformation("Pull rule {Rule}: cannot list peer {Peer} now: {Reason}", rule.Name, rule.Peer, e.Message);
            }
        }
    }

    /// <summary>Lists the peer's area and enqueues what this node lacks; returns how many jobs were added.</summary>
    public async Task<int> PollAsync(ReplicationRule rule, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var client = await peers.GetAsync(rule.Peer, cancellationToken).ConfigureAwait(false);
        var added = 0;
        foreach (var file in await client.ListAsync(rule.Area.Value, cancellationToken).ConfigureAwait(false))
        {
            if (file.State is not (null or ReleaseStates.Released) || file.Digest is null || !rule.Covers(file.Path))
            {
                continue;
            }

            var local = rule.MapToTarget(file.Path);
            if (await metadata.GetCurrentVersionAsync(local, cancellationToken).ConfigureAwait(false) is { } current && current.Digest == file.Digest)
            {
                continue;
            }

            var subject = file.Digest + "\n" + file.Path;
            var job = new ReplicationJob(0, rule.Name, rule.Peer, ReplicationDirection.Pull, subject, null, file.Path, local, file.Digest, file.Size,
                ReplicationJobState.Pending, 0, DateTimeOffset.MinValue, null, null, 0, Guid.CreateVersion7().ToString("D"), null, null, file.CommittedAt, DateTimeOffset.MinValue);
            if (await store.EnqueueAsync(job, cancellationToken).ConfigureAwait(false))
            {
                added++;
            }
        }

        return added;
    }

    /// <summary>One attempt of pull job <paramref name="job"/> from <paramref name="peer"/>.</summary>
    public async Task<JobOutcome> PullAsync(ReplicationJob job, TurboMftClient peer, BandwidthLimiter? bandwidth, Action<long> bytesReceived, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(peer);
        var expected = FileDigest.Parse(job.Digest!);
        if (await metadata.GetCurrentVersionAsync(job.TargetPath, cancellationToken).ConfigureAwait(false) is { } current && current.Digest == job.Digest)
        {
            return await SkippedAsync(job, "this node already holds this digest at the target path", cancellationToken).ConfigureAwait(false);
        }

        var head = await peer.HeadAsync(job.SourcePath, cancellationToken).ConfigureAwait(false);
        if (head is null || head.Digest != expected || head.State != ReleaseStates.Released || head.ChunkSize == 0)
        {
            return await SkippedAsync(job, "the peer no longer offers this digest at the path (a newer poll fetches what is there now)", cancellationToken).ConfigureAwait(false);
        }

        var site = await SiteOfAsync(job.Peer, peer, cancellationToken).ConfigureAwait(false);
        var origin = head.Provenance is { } forwarded
            ? forwarded with { CorrelationId = forwarded.CorrelationId ?? job.CorrelationId }
            : new Provenance(site, job.SourcePath, job.OriginTime ?? time.GetUtcNow(), job.Digest!, job.CorrelationId);
        var upload = await OpenOrResumeAsync(job, head, expected, origin, cancellationToken).ConfigureAwait(false);
        var resumed = upload.Session.Id.ToString("D") == job.RemoteUploadId;
        var geometry = upload.Geometry;
        var held = (await ingest.HeldChunksAsync(upload, cancellationToken).ConfigureAwait(false)).ToHashSet();
        using var pool = new ChunkBufferPool(ContainerFormat.BufferSizeFor(geometry.ChunkSize), settings.Connections);
        var received = 0L;
        await Parallel.ForEachAsync(
            LongRange(geometry.ChunkCount).Where(i => !held.Contains(i)),
            new ParallelOptions { MaxDegreeOfParallelism = settings.Connections, CancellationToken = cancellationToken },
            async (index, token) =>
            {
                var length = geometry.LengthOf(index);
                var buffer = await pool.RentAsync(token).ConfigureAwait(false);
                try
                {
                    if (bandwidth is not null)
                    {
                        await bandwidth.WaitAsync(length, token).ConfigureAwait(false);
                    }

                    var body = buffer.Memory.Slice(ContainerFormat.RecordHeaderSize, length);
                    await peer.ReadRangeAsync(job.SourcePath, geometry.OffsetOf(index), body, head.ETag, token).ConfigureAwait(false);

                    // The peer's bytes carry no claims of their own: their CRC and SHA-256 are computed as they are sealed,
                    // and the whole file is checked against the peer's sha256-tree at the commit.
                    await ingest.ReceiveChunkAsync(upload, index, buffer, length, ChunkEncoding.Raw, null, default, null, token).ConfigureAwait(false);
                    Interlocked.Add(ref received, length);
                    bytesReceived(length);
                }
                finally
                {
                    pool.Return(buffer);
                }
            }).ConfigureAwait(false);

        var caller = new ReleaseCaller("peer:" + job.Peer, AuditActor.System, job.CorrelationId);
        await ingest.CompleteUploadAsync(upload, expected, caller, cancellationToken, version =>
        [
            PushReplicator.Event(job, "file.upload", AuditOutcome.Success) with
            {
                Path = version.Path,
                Detail = $"version {version.VersionId} pulled from peer {job.Peer}",
            },
            PushReplicator.Event(job, "replication.received", AuditOutcome.Success) with
            {
                Path = version.Path,
                Detail = $"version {version.VersionId} pulled from peer {job.Peer}:{job.SourcePath}, origin {origin.Site}:{origin.Path}; {received} bytes"
                    + (resumed ? $", resumed ({held.Count} chunks already here)" : string.Empty),
            },
            PushReplicator.Event(job, "replication.verified", AuditOutcome.Success) with
            {
                Path = version.Path,
                Detail = $"committed {version.Digest}, equal to peer {job.Peer}'s",
            },
        ], waitForScan: false).ConfigureAwait(false);
        return new JobOutcome(ReplicationJobState.Done, resumed ? "resumed" : null);
    }

    private async Task<OpenUpload> OpenOrResumeAsync(ReplicationJob job, RemoteFileState head, FileDigest expected, Provenance origin, CancellationToken cancellationToken)
    {
        if (job.RemoteUploadId is { } kept && Guid.TryParse(kept, out var id))
        {
            var (open, session) = await ingest.GetUploadAsync(id, cancellationToken).ConfigureAwait(false);
            if (open is not null && session is not null && session.Path == job.TargetPath && session.Size == head.Size && session.ChunkSize == head.ChunkSize)
            {
                return open;
            }
        }

        var created = await ingest.OpenPullAsync(RemotePath.Parse(job.TargetPath), head.Size, head.ChunkSize, expected, origin, "peer:" + job.Peer, cancellationToken).ConfigureAwait(false);
        await store.SetRemoteUploadAsync(job.Id, created.Session.Id.ToString("D"), cancellationToken).ConfigureAwait(false);
        return created;
    }

    private async Task<string> SiteOfAsync(string peerName, TurboMftClient peer, CancellationToken cancellationToken)
    {
        if (_sites.TryGetValue(peerName, out var site))
        {
            return site;
        }

        var info = await peer.InfoAsync(cancellationToken).ConfigureAwait(false);
        site = ServerAnswers.SiteOf(info) ?? peerName;
        _sites[peerName] = site;
        return site;
    }

    private async Task<JobOutcome> SkippedAsync(ReplicationJob job, string why, CancellationToken cancellationToken)
    {
        await audit.AppendDurableAsync(PushReplicator.Event(job, "replication.skipped", AuditOutcome.Success) with { Path = job.TargetPath, Detail = $"pull from peer {job.Peer}: {why}" }, cancellationToken).ConfigureAwait(false);
        return new JobOutcome(ReplicationJobState.Skipped, why);
    }

    private static IEnumerable<long> LongRange(long count)
    {
        for (var i = 0L; i < count; i++)
        {
            yield return i;
        }
    }
}
