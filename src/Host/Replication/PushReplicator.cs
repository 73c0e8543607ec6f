using TurboMft.Engine.Client;
using TurboMft.Engine.Container;
using TurboMft.Engine.Crypto;
using TurboMft.Engine.Protocol;
using TurboMft.Engine.Storage;
using TurboMft.Host.Audit;
using TurboMft.Host.Metadata;

namespace TurboMft.Host.Replication;

/// <summary>What one attempt of a job came to, when it did not throw.</summary>
/// <param name="State"><see cref="ReplicationJobState.Done"/> or <see cref="ReplicationJobState.Skipped"/>.</param>
/// <param name="Note">Why it was skipped, or null.</param>
public sealed record JobOutcome(string State, string? Note);

/// <summary>
/// Runs push and delete jobs (docs/replication.md, "Outbox"): HEAD the target on the peer and skip when it already holds
/// the digest (no bytes sent); otherwise send the version from its encrypted container (resuming the peer's session when
/// the job kept one), with its provenance, and finish only when the peer's committed digest equals the source's.
/// </summary>
public sealed class PushReplicator(
    IMetadataStore metadata, IObjectStore objects, KeyRing keys, IAuditTrail audit, IReplicationStore store, ReplicationSettings settings) : IDisposable
{
    // Record buffers per chunk size, shared by all jobs: bounded by the job and connection limits, allocated on demand.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, Engine.Buffers.ChunkBufferPool> _scratch = new();

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var pool in _scratch.Values)
        {
            pool.Dispose();
        }
    }

    /// <summary>One attempt of push job <paramref name="job"/> through <paramref name="peer"/>.</summary>
    public async Task<JobOutcome> PushAsync(ReplicationJob job, TurboMftClient peer, BandwidthLimiter? bandwidth, Action<long> bytesSent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(peer);
        var version = job.VersionId is { } id ? await metadata.GetVersionAsync(id, cancellationToken).ConfigureAwait(false) : null;
        if (version is not { IsCurrent: true, State: ReleaseState.Released })
        {
            return await SkippedAsync(job, "the version was superseded, deleted or is no longer released before it was sent", cancellationToken).ConfigureAwait(false);
        }

        // A file smaller than a chunk goes as one conditional PUT that the peer refuses before its body when it holds the
        // digest: one request instead of a HEAD and a PUT. Larger files are checked first, so no session is opened for nothing.
        var small = version.Size < version.ChunkSize && job.RemoteUploadId is null;
        if (!small && await HeadOrNullAsync(peer, job.TargetPath, cancellationToken).ConfigureAwait(false) is { Digest: { } held } && held.ToString() == job.Digest)
        {
            return await SkippedAsync(job, "the peer already holds this digest at the target path; no bytes sent", cancellationToken).ConfigureAwait(false);
        }

        var scratch = _scratch.GetOrAdd(version.ChunkSize, size => new Engine.Buffers.ChunkBufferPool(ContainerFormat.BufferSizeFor(size), settings.MaxConcurrentJobs * settings.Connections));
        var container = objects.OpenRead(version.ObjectKey);
        var containerName = container.Name;
        using var source = ContainerChunkSource.Open(container, keys.Resolver(), scratch);
        if (source.Digest.ToString() != job.Digest)
        {
            throw new ContainerException(ContainerFault.FileDigestMismatch, containerName, null, $"the container's digest {source.Digest} is not the version's {job.Digest}.");
        }

        var provenance = new Provenance(job.OriginSite!, job.OriginPath!, job.OriginTime ?? version.CommittedAt, job.Digest!, job.CorrelationId);
        var result = await peer.UploadReplicaAsync(
            source,
            new ReplicaUpload
            {
                RemotePath = job.TargetPath,
                ResumeUploadId = job.RemoteUploadId,
                SessionOpened = (uploadId, token) => store.SetRemoteUploadAsync(job.Id, uploadId, token),
                Provenance = provenance,
                Bandwidth = bandwidth,
                BytesSent = bytesSent,
                Workers = settings.Connections,
            },
            cancellationToken).ConfigureAwait(false);
        if (result.AlreadyHeld)
        {
            return await SkippedAsync(job, "the peer already holds this digest at the target path; no bytes sent", cancellationToken).ConfigureAwait(false);
        }

        // Group-flushed within a second rather than awaited: the receiver's durable file.upload already proves the commit,
        // and a record lost to a power cut with its job update only repeats the job, which then finds the digest and skips.
        audit.Append(Event(job, "replication.sent", AuditOutcome.Success) with
        {
            Detail = $"to peer {job.Peer} at {job.TargetPath}: {result.BytesSent} bytes sent"
                + (result.Resumed ? $", resumed session {job.RemoteUploadId} ({result.ChunksSkipped} chunks already there)" : string.Empty)
                + $"; peer state {result.State}",
        });
        audit.Append(Event(job, "replication.verified", AuditOutcome.Success) with
        {
            Detail = $"peer {job.Peer} committed {result.Digest} at {job.TargetPath}, equal to the source",
        });
        return new JobOutcome(ReplicationJobState.Done, result.Resumed ? "resumed" : null);
    }

    /// <summary>One attempt of delete job <paramref name="job"/>: deletes the target only while the peer holds the digest that was deleted here.</summary>
    public async Task<JobOutcome> DeleteAsync(ReplicationJob job, TurboMftClient peer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(peer);
        var head = await peer.HeadAsync(job.TargetPath, cancellationToken).ConfigureAwait(false);
        if (head is null)
        {
            return await SkippedAsync(job, "the peer holds nothing at the target path", cancellationToken).ConfigureAwait(false);
        }

        if (head.Digest?.ToString() != job.Digest)
        {
            return await SkippedAsync(job, "the peer holds another version at the target path; it is left alone", cancellationToken).ConfigureAwait(false);
        }

        await peer.DeleteAsync(job.TargetPath, cancellationToken).ConfigureAwait(false);
        await audit.AppendDurableAsync(Event(job, "replication.deleted", AuditOutcome.Success) with { Detail = $"deleted on peer {job.Peer} at {job.TargetPath}" }, cancellationToken).ConfigureAwait(false);
        return new JobOutcome(ReplicationJobState.Done, null);
    }

    /// <summary>HEAD of the target, or null when the peer lets this node write but not read there (then nothing is skipped).</summary>
    private static async Task<RemoteFileState?> HeadOrNullAsync(TurboMftClient peer, string path, CancellationToken cancellationToken)
    {
        try
        {
            return await peer.HeadAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (ServerProblemException problem) when (problem.Status == 403)
        {
            return null;
        }
    }

    /// <summary>An audit event about a job, under its correlation id.</summary>
    internal static AuditEvent Event(ReplicationJob job, string action, string outcome) => new()
    {
        Action = action,
        Actor = AuditActor.System,
        Outcome = outcome,
        Path = job.SourcePath,
        Size = job.Size,
        Digest = job.Digest,
        CorrelationId = job.CorrelationId,
    };

    private async Task<JobOutcome> SkippedAsync(ReplicationJob job, string why, CancellationToken cancellationToken)
    {
        await audit.AppendDurableAsync(Event(job, "replication.skipped", AuditOutcome.Success) with { Detail = $"peer {job.Peer}: {why}" }, cancellationToken).ConfigureAwait(false);
        return new JobOutcome(ReplicationJobState.Skipped, why);
    }
}
