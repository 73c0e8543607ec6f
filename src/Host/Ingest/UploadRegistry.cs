using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Container;
using TurboMft.Engine.Crypto;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Protocol;
using TurboMft.Engine.Storage;
using TurboMft.Host.Cluster;
using TurboMft.Host.Metadata;
using TurboMft.Host.Metrics;

namespace TurboMft.Host.Ingest;

/// <summary>
/// Upload sessions: creates them, keeps their staging containers open while chunks arrive, reopens them after a restart
/// (the container's authentic records are the truth of what was received: <see cref="ContainerRecovery"/>), and
/// closes (every chunk held, digest checked, trailer flushed) or aborts them. Committing a closed session is
/// <see cref="FileIngest"/>'s, like every commit. On a store several nodes share, a session's chunks may arrive at any
/// node: its container is slotted, the chunk receipts in the metadata are the truth of what is held, and reopening runs
/// under the session's lock (docs/cluster.md, "An upload on several nodes").
/// </summary>
public sealed class UploadRegistry(
    IMetadataStore metadata, IObjectStore store, KeyRing keys, UploadSettings settings, TransferMetrics metrics, IUploadLocks locks, ILogger<UploadRegistry> logger) : IDisposable
{
    private readonly ConcurrentDictionary<Guid, OpenUpload> _open = ObservedSessions(metrics);
    private readonly SemaphoreSlim _opening = new(1, 1);

    /// <summary>True when other nodes write and commit sessions in the same store (<see cref="ObjectStoreCapabilities.SharedByNodes"/>).</summary>
    public bool Shared { get; } = store.Capabilities.HasFlag(ObjectStoreCapabilities.SharedByNodes);

    /// <summary>Opens a new session and its staging container (disk space reserved up front); <paramref name="openedBy"/> is recorded with it.</summary>
    public async Task<OpenUpload> CreateAsync(RemotePath path, long size, int chunkSize, string verify, FileDigest? expected, string? openedBy, CancellationToken cancellationToken, Provenance? origin = null)
    {
        var id = Guid.CreateVersion7();
        var now = DateTimeOffset.UtcNow;
        var key = DataKey.Generate();
        try
        {
            var header = ContainerHeader.Create(id, chunkSize, keys, key, now);
            var geometry = new ChunkGeometry(size, chunkSize);
            ContainerWriter writer;
            var staged = store.CreateStaging(id, Shared ? ContainerWriter.MaxSlottedLength(size, chunkSize) : ContainerWriter.MaxLength(size, chunkSize));
            try
            {
                writer = ContainerWriter.Create(staged, header, key, geometry.ChunkCount, Shared ? ContainerLayout.Slotted : ContainerLayout.Appended);
            }
            catch
            {
                store.AbortStaging(id);
                throw;
            }

            // The session records where the store keeps its staging (for an operator); the store finds it by the id.
            var session = new UploadSession(id, path.Value, size, chunkSize, verify, expected?.ToString(), staged.Name, now, now.AddHours(settings.UploadExpiryHours), UploadState.Open)
            {
                OpenedBy = openedBy,
                Origin = origin,
            };
            var upload = new OpenUpload(session, writer, key);
            try
            {
                await metadata.CreateUploadAsync(session, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                upload.Dispose();
                store.AbortStaging(id);
                throw;
            }

            _open[id] = upload;
            return upload;
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The open session <paramref name="id"/>, reopening its staging container after a restart; null if unknown. A session
    /// whose container is already in the store (a restart between its rename and the metadata commit) is handed to
    /// <paramref name="finishCommit"/> under the same lock as a reopening, and answered as completed.
    /// </summary>
    public async Task<(OpenUpload? Upload, UploadSession? Session)> GetAsync(Guid id, Func<UploadSession, CancellationToken, Task> finishCommit, CancellationToken cancellationToken)
    {
        if (Shared)
        {
            return await GetSharedAsync(id, finishCommit, cancellationToken).ConfigureAwait(false);
        }

        if (_open.TryGetValue(id, out var open))
        {
            return (open, open.Session);
        }

        var session = await metadata.GetUploadAsync(id, cancellationToken).ConfigureAwait(false);
        if (session is null || session.State != UploadState.Open)
        {
            return (null, session);
        }

        await _opening.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_open.TryGetValue(id, out open))
            {
                return (open, open.Session);
            }

            var staging = store.StagingExists(id);

            // With an atomic rename a container and its staging never exist together; without one, a commit cut short may
            // leave both, and the object is the whole container.
            if (store.Exists(session.Id.ToString("N")) && (!staging || !store.Capabilities.HasFlag(ObjectStoreCapabilities.AtomicRename)))
            {
                await finishCommit(session, cancellationToken).ConfigureAwait(false);
                if (staging)
                {
                    store.AbortStaging(id);
                }

                return (null, session with { State = UploadState.Completed });
            }

            if (staging && !store.Capabilities.HasFlag(ObjectStoreCapabilities.PositionalResume))
            {
                logger.LogWarning("Upload {Id}: the object store cannot reopen staging after a restart; marking the session aborted", id);
                return await AbortReopenedAsync(session, cancellationToken).ConfigureAwait(false);
            }

            var staged = staging ? store.OpenStaging(id) : null;
            if (staged is null)
            {
                logger.LogWarning("Upload {Id}: staging container is gone; marking the session aborted", id);
                await metadata.SetUploadStateAsync(id, UploadState.Aborted, cancellationToken).ConfigureAwait(false);
                return (null, session with { State = UploadState.Aborted });
            }

            var resolve = keys.Resolver();
            ContainerWriter writer;
            DataKey key;
            RecoveredContainer recovered;
            try
            {
                recovered = ContainerRecovery.Scan(staged, resolve);
                key = resolve(recovered.Header.FileId, recovered.Header.WrappedKey);
                writer = ContainerWriter.Resume(staged, key, recovered);
            }
            catch
            {
                staged.Dispose();
                throw;
            }

            open = new OpenUpload(session, writer, key);
            _open[id] = open;
            logger.LogInformation("Upload {Id}: reopened with {Chunks} chunks recovered", id, recovered.Records.Count);
            return (open, session);
        }
        finally
        {
            _opening.Release();
        }
    }

    /// <summary>
    /// <see cref="GetAsync"/> on a shared store: the metadata says whether the session is open (another node may have
    /// completed or aborted it), and a session this node has not seen is reopened under its lock, from its header only.
    /// </summary>
    private async Task<(OpenUpload? Upload, UploadSession? Session)> GetSharedAsync(Guid id, Func<UploadSession, CancellationToken, Task> finishCommit, CancellationToken cancellationToken)
    {
        var session = await metadata.GetUploadAsync(id, cancellationToken).ConfigureAwait(false);
        if (session is null || session.State != UploadState.Open)
        {
            Forget(id);
            return (null, session);
        }

        if (_open.TryGetValue(id, out var open))
        {
            return (open, open.Session);
        }

        await using (await locks.LockSessionAsync(id, cancellationToken).ConfigureAwait(false))
        {
            await _opening.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (_open.TryGetValue(id, out open))
                {
                    return (open, open.Session);
                }

                // Under the lock the state is settled: no other node is completing the session or reopening it.
                session = await metadata.GetUploadAsync(id, cancellationToken).ConfigureAwait(false);
                if (session is null || session.State != UploadState.Open)
                {
                    return (null, session);
                }

                var staging = store.StagingExists(id);
                if (!staging && store.Exists(session.Id.ToString("N")))
                {
                    await finishCommit(session, cancellationToken).ConfigureAwait(false);
                    return (null, session with { State = UploadState.Completed });
                }

                var staged = staging ? store.OpenStaging(id) : null;
                if (staged is null)
                {
                    logger.LogWarning("Upload {Id}: staging container is gone; marking the session aborted", id);
                    await metadata.SetUploadStateAsync(id, UploadState.Aborted, cancellationToken).ConfigureAwait(false);
                    return (null, session with { State = UploadState.Aborted });
                }

                ContainerWriter writer;
                DataKey key;
                try
                {
                    var header = ContainerHeader.ReadFrom(staged);
                    key = keys.Resolver()(header.FileId, header.WrappedKey);
                    writer = ContainerWriter.Reopen(staged, header, key);
                }
                catch
                {
                    staged.Dispose();
                    throw;
                }

                open = new OpenUpload(session, writer, key);
                _open[id] = open;
                return (open, session);
            }
            finally
            {
                _opening.Release();
            }
        }
    }

    /// <summary>
    /// The chunks a session holds: on a shared store its receipts (chunks other nodes wrote included), otherwise what its
    /// writer holds.
    /// </summary>
    public async Task<long[]> HeldChunksAsync(OpenUpload upload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        if (!Shared)
        {
            return upload.Writer.HeldChunks();
        }

        return [.. (await metadata.ListChunksAsync(upload.Session.Id, cancellationToken).ConfigureAwait(false)).Select(c => c.Index)];
    }

    /// <summary>
    /// <see cref="Close"/>, after the writer of a session on a shared store has taken in the chunks the other nodes wrote
    /// (from their receipts). Call it under the session's lock.
    /// </summary>
    /// <exception cref="ContainerException">As <see cref="Close"/>.</exception>
    /// <exception cref="UploadClosedException">As <see cref="Close"/>.</exception>
    public async Task<ContainerSummary> CloseAsync(OpenUpload upload, FileDigest? expected, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        if (Shared)
        {
            foreach (var receipt in await metadata.ListChunksAsync(upload.Session.Id, cancellationToken).ConfigureAwait(false))
            {
                if (!upload.Writer.Holds(receipt.Index))
                {
                    upload.Writer.Adopt(
                        new ChunkEntry(receipt.Index, receipt.Offset, receipt.StoredLength, receipt.PlainLength, (Engine.Compression.ChunkEncoding)receipt.Encoding, receipt.Crc64),
                        receipt.Sha256);
                }
            }
        }

        return Close(upload, expected);
    }

    /// <summary>Drops this node's writer of a session that is no longer open (completed or aborted by another node).</summary>
    public void Forget(Guid id)
    {
        if (_open.TryRemove(id, out var open))
        {
            open.Dispose();
        }
    }

    /// <summary>On a shared store: drops the writers of sessions other nodes have completed, aborted or expired since; returns how many.</summary>
    public async Task<int> ForgetClosedAsync(CancellationToken cancellationToken)
    {
        if (!Shared)
        {
            return 0;
        }

        var forgotten = 0;
        foreach (var id in _open.Keys.ToList())
        {
            if (await metadata.GetUploadAsync(id, cancellationToken).ConfigureAwait(false) is not { State: UploadState.Open })
            {
                Forget(id);
                forgotten++;
            }
        }

        return forgotten;
    }

    /// <summary>
    /// Closes a session for its commit: every chunk held, <c>sha256-tree</c> equal to <paramref name="expected"/> (or the
    /// digest given at open), trailer written and flushed. The container stays in staging for the commit.
    /// </summary>
    /// <exception cref="ContainerException">A chunk is missing, or the digest differs (the session stays open).</exception>
    /// <exception cref="UploadClosedException">The session was closed meanwhile.</exception>
    public ContainerSummary Close(OpenUpload upload, FileDigest? expected)
    {
        ArgumentNullException.ThrowIfNull(upload);
        var session = upload.Session;
        var wanted = expected ?? (session.ExpectedDigest is { } e ? FileDigest.Parse(e) : null);
        if (expected is { } a && session.ExpectedDigest is { } b && a != FileDigest.Parse(b))
        {
            throw new ContainerException(ContainerFault.FileDigestMismatch, session.Path, null, $"the digest sent at complete ({a}) differs from the one given at open ({b}).");
        }

        if (!upload.TryClose(() => upload.Writer.Complete(session.Size, wanted), out var summary))
        {
            throw new UploadClosedException(session.Id);
        }

        _open.TryRemove(session.Id, out _);
        upload.Dispose();
        return summary;
    }

    /// <summary>Aborts a session: closes and removes its staging container and records <paramref name="state"/>.</summary>
    public async Task AbortAsync(UploadSession session, UploadState state, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        long? held;
        if (Shared)
        {
            Forget(session.Id);
            held = (await metadata.ListChunksAsync(session.Id, cancellationToken).ConfigureAwait(false)).Sum(chunk => (long)chunk.PlainLength);
        }
        else if (_open.TryRemove(session.Id, out var open))
        {
            // Closed already: a completion won the race and counted the upload.
            held = open.TryClose(() => 0, out _) ? open.Writer.HeldChunks().Sum(index => (long)open.Geometry.LengthOf(index)) : null;
            open.Dispose();
        }
        else
        {
            held = (await metadata.ListChunksAsync(session.Id, cancellationToken).ConfigureAwait(false)).Sum(chunk => (long)chunk.PlainLength);
        }

        store.AbortStaging(session.Id);
        await metadata.SetUploadStateAsync(session.Id, state, cancellationToken).ConfigureAwait(false);
        if (held is { } bytes)
        {
            metrics.UploadEnded(state == UploadState.Expired ? UploadOutcome.Expired : UploadOutcome.Aborted, bytes);
        }
    }

    /// <summary>Aborts every open session whose expiry has passed; returns how many.</summary>
    public Task<int> ExpireAsync(DateTimeOffset now, CancellationToken cancellationToken) => ExpireAsync(now, null, cancellationToken);

    /// <summary>As <see cref="ExpireAsync(DateTimeOffset, CancellationToken)"/>, each abort checking <paramref name="lease"/>'s fencing token first.</summary>
    /// <exception cref="LeaseLostException">The lease was lost part-way; the sessions aborted before stay aborted.</exception>
    public async Task<int> ExpireAsync(DateTimeOffset now, HeldLease? lease, CancellationToken cancellationToken)
    {
        var expired = await metadata.ListExpiredUploadsAsync(now, cancellationToken).ConfigureAwait(false);
        foreach (var session in expired)
        {
            if (lease is not null)
            {
                await lease.EnsureCurrentAsync(cancellationToken).ConfigureAwait(false);
            }

            await AbortAsync(session, UploadState.Expired, cancellationToken).ConfigureAwait(false);
            logger.LogInformation("Upload {Id} for {Path} expired; staging removed", session.Id, session.Path);
        }

        return expired.Count;
    }

    /// <summary>
    /// Removes staging files that no open session owns and nobody has written for <paramref name="idle"/>: what a one-shot
    /// PUT or a batch upload left when the server was killed under it (they have no session to expire). A file still being
    /// streamed is written continually, so it is never that old. Returns how many were removed.
    /// </summary>
    public Task<int> RemoveOrphanedStagingAsync(DateTimeOffset now, TimeSpan idle, CancellationToken cancellationToken) =>
        RemoveOrphanedStagingAsync(now, idle, null, cancellationToken);

    /// <summary>As <see cref="RemoveOrphanedStagingAsync(DateTimeOffset, TimeSpan, CancellationToken)"/>, each removal checking <paramref name="lease"/>'s fencing token first.</summary>
    /// <exception cref="LeaseLostException">The lease was lost part-way.</exception>
    public async Task<int> RemoveOrphanedStagingAsync(DateTimeOffset now, TimeSpan idle, HeldLease? lease, CancellationToken cancellationToken)
    {
        var removed = 0;
        foreach (var staging in store.ListStaging())
        {
            if (now - staging.LastWritten < idle)
            {
                continue;
            }

            if (_open.ContainsKey(staging.Id) || await metadata.GetUploadAsync(staging.Id, cancellationToken).ConfigureAwait(false) is { State: UploadState.Open })
            {
                continue;
            }

            if (lease is not null)
            {
                await lease.EnsureCurrentAsync(cancellationToken).ConfigureAwait(false);
            }

            if (store.AbortStaging(staging.Id))
            {
                removed++;
                logger.LogInformation("Removed staging file {File}: no open upload owns it and it was last written at {Written:u}", Path.GetFileName(staging.Name), staging.LastWritten.UtcDateTime);
            }
        }

        return removed;
    }

    /// <summary>A session found open after a restart whose staging the store cannot continue: staging removed, session aborted.</summary>
    private async Task<(OpenUpload? Upload, UploadSession? Session)> AbortReopenedAsync(UploadSession session, CancellationToken cancellationToken)
    {
        store.AbortStaging(session.Id);
        await metadata.SetUploadStateAsync(session.Id, UploadState.Aborted, cancellationToken).ConfigureAwait(false);
        return (null, session with { State = UploadState.Aborted });
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var upload in _open.Values)
        {
            upload.Dispose();
        }

        _open.Clear();
        _opening.Dispose();
    }

    // The open sessions, counted at each scrape (a field initializer of a primary constructor cannot use another field).
    private static ConcurrentDictionary<Guid, OpenUpload> ObservedSessions(TransferMetrics metrics)
    {
        var open = new ConcurrentDictionary<Guid, OpenUpload>();
        metrics.ObserveSessions(() => open.Count);
        return open;
    }
}

/// <summary>The upload session was completed, aborted or expired; it takes no more chunks.</summary>
public sealed class UploadClosedException(Guid id) : InvalidOperationException($"Upload {id} is closed: it was completed, aborted or expired.")
{
    /// <summary>The session.</summary>
    public Guid UploadId { get; } = id;
}
