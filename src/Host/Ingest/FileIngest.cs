using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using TurboMft.Engine.Buffers;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Compression;
using TurboMft.Engine.Container;
using TurboMft.Engine.Crypto;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Protocol;
using TurboMft.Engine.Storage;
using TurboMft.Host.Audit;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Metadata;
using TurboMft.Host.Metrics;
using TurboMft.Host.Release;

namespace TurboMft.Host.Ingest;

/// <summary>
/// The one way bytes become a committed file version (docs/architecture.md, "An upload, step by step"): a chunk of an
/// upload session is verified, sealed and recorded by <see cref="ReceiveChunkAsync"/>; a one-shot body is streamed into a
/// container by <see cref="PutAsync"/>; a batch's small files are staged by <see cref="StageSmallFile"/>; and every one of
/// them is committed by the same steps: the container into the object store, the version into the metadata in one
/// transaction, the replaced version's container removed, the audit records (the last one durable), the scan submitted.
/// The HTTP endpoints and replication call it; it knows nothing of HTTP.
/// </summary>
public sealed class FileIngest(
    UploadRegistry uploads,
    IMetadataStore metadata,
    IObjectStore store,
    KeyRing keys,
    ServerBuffers buffers,
    ScanService scans,
    IAuditTrail audit,
    TransferMetrics metrics,
    UploadSettings settings,
    IUploadLocks locks,
    TimeProvider time,
    ILogger<FileIngest> logger)
{
    /// <summary>The limits and lifetimes uploads are held to.</summary>
    public UploadSettings Settings => settings;

    /// <summary>
    /// Opens a new upload session for <paramref name="caller"/> (docs/protocol.md, "Resumable uploads"), recorded durably as
    /// <c>upload.open</c>; a replica's session (<paramref name="origin"/>) must hash to the origin's digest.
    /// </summary>
    public async Task<OpenUpload> OpenUploadAsync(
        RemotePath path, long size, int chunkSize, string verify, FileDigest? expected, Provenance? origin, ReleaseCaller caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var upload = await uploads.CreateAsync(path, size, chunkSize, verify, expected, caller.Identity, cancellationToken, origin).ConfigureAwait(false);
        await audit.AppendDurableAsync(
            Event(caller, "upload.open", AuditOutcome.Success, path.Value) with
            {
                Size = size,
                Detail = $"upload {upload.Session.Id}",
                CorrelationId = origin?.CorrelationId ?? caller.CorrelationId,
            },
            cancellationToken).ConfigureAwait(false);
        return upload;
    }

    /// <summary>Opens a session for a pulling worker, which keeps its own audit records (docs/replication.md, "Pull").</summary>
    public Task<OpenUpload> OpenPullAsync(
        RemotePath path, long size, int chunkSize, FileDigest expected, Provenance origin, string openedBy, CancellationToken cancellationToken) =>
        uploads.CreateAsync(path, size, chunkSize, UploadSession.FastVerify, expected, openedBy, cancellationToken, origin);

    /// <summary>
    /// The session <paramref name="id"/>: open (with its staging container, reopened after a restart), or closed, or null if
    /// unknown. A commit a restart interrupted between the container's rename and its metadata row is finished here.
    /// </summary>
    public Task<(OpenUpload? Upload, UploadSession? Session)> GetUploadAsync(Guid id, CancellationToken cancellationToken) =>
        uploads.GetAsync(id, FinishInterruptedCommitAsync, cancellationToken);

    /// <summary>The chunks session <paramref name="upload"/> holds, whichever node received them.</summary>
    public Task<long[]> HeldChunksAsync(OpenUpload upload, CancellationToken cancellationToken) => uploads.HeldChunksAsync(upload, cancellationToken);

    /// <summary>Aborts an open session: its staging is removed and nothing is committed.</summary>
    public Task AbortUploadAsync(UploadSession session, CancellationToken cancellationToken) =>
        uploads.AbortAsync(session, UploadState.Aborted, cancellationToken);

    /// <summary>
    /// Receives chunk <paramref name="index"/> of an open session: <paramref name="length"/> bytes of
    /// <paramref name="received"/> after its record header, encoded as <paramref name="encoding"/> (an LZ4 body decodes into
    /// <paramref name="decodeInto"/>), checked against <paramref name="claims"/>, then sealed into the staging container at
    /// its offset and its receipt recorded. A session lives as long as chunks keep arriving: its expiry moves forward. A
    /// chunk an API client sent (<paramref name="started"/>: when its request began) counts in the transfer metrics.
    /// </summary>
    /// <exception cref="IngestException">The chunk does not verify (nothing was written) or the session closed meanwhile.</exception>
    public async Task<ChunkEntry> ReceiveChunkAsync(
        OpenUpload upload, long index, ChunkBuffer received, int length, ChunkEncoding encoding, ChunkBuffer? decodeInto, ChunkClaims claims, long? started, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        ArgumentNullException.ThrowIfNull(received);
        var plainLength = upload.Geometry.LengthOf(index);
        var body = received.Memory.Slice(ContainerFormat.RecordHeaderSize, length);
        var sha = new byte[SHA256.HashSizeInBytes];
        var check = ReceivedChunk.Verify(
            encoding,
            body.Span,
            decodeInto is null ? [] : decodeInto.Memory.Span[..plainLength],
            claims.Crc64,
            claims.BodySha256 ?? [],
            claims.PlainSha256 ?? [],
            sha,
            out var crc,
            out var detail);
        if (check != ChunkCheck.Verified)
        {
            throw Refused(index, check, detail, claims);
        }

        ChunkEntry entry;
        if (uploads.Shared)
        {
            entry = await WriteSharedChunkAsync(upload, index, received, length, encoding, plainLength, crc, sha, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            entry = WriteChunk(upload, index, received, length, encoding, plainLength, crc, sha);
            await RecordChunkAsync(upload, entry, crc, sha, cancellationToken).ConfigureAwait(false);
        }

        if (started is { } begun)
        {
            metrics.ChunkHandled(TransferDirection.Upload, begun);
        }

        return entry;
    }

    private static ChunkEntry WriteChunk(OpenUpload upload, long index, ChunkBuffer received, int length, ChunkEncoding encoding, int plainLength, ulong crc, byte[] sha)
    {
        ChunkEntry entry = default;
        if (!upload.TryWrite(sealer => entry = upload.Writer.WriteEncodedChunk(sealer, index, received, length, encoding, plainLength, crc, sha)))
        {
            throw Closed(upload.Session.Id, UploadState.Completed);
        }

        return entry;
    }

    private async Task RecordChunkAsync(OpenUpload upload, ChunkEntry entry, ulong crc, byte[] sha, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (upload.ShouldExtendExpiry(now, TimeSpan.FromMinutes(1)))
        {
            await metadata.ExtendUploadAsync(upload.Session.Id, now.AddHours(settings.UploadExpiryHours), cancellationToken).ConfigureAwait(false);
        }

        try
        {
            await metadata.RecordChunkAsync(
                new ChunkReceipt(upload.Session.Id, entry.Index, entry.Offset, entry.StoredLength, entry.PlainLength, (byte)entry.Encoding, crc, sha, time.GetUtcNow()),
                cancellationToken).ConfigureAwait(false);
        }
        catch (MetadataException e) when (e.Error == MetadataError.UploadNotOpen)
        {
            // Completed, aborted or expired by another request (on a shared store, perhaps another node) meanwhile.
            uploads.Forget(upload.Session.Id);
            throw new IngestException(IngestFault.UploadClosed, e.Message);
        }
    }

    /// <summary>
    /// A chunk on a store several nodes share: under the chunk's lock, so that one writer at a time fills its slot, and
    /// written only if no node holds it yet (a retry that reached another node answers from the receipt); the write is on
    /// the shared disk before its receipt is recorded, and the receipt before the lock is released.
    /// </summary>
    private async Task<ChunkEntry> WriteSharedChunkAsync(
        OpenUpload upload, long index, ChunkBuffer received, int length, ChunkEncoding encoding, int plainLength, ulong crc, byte[] sha, CancellationToken cancellationToken)
    {
        await using (await locks.LockChunkAsync(upload.Session.Id, index, cancellationToken).ConfigureAwait(false))
        {
            if (await metadata.GetChunkAsync(upload.Session.Id, index, cancellationToken).ConfigureAwait(false) is { } held)
            {
                return new ChunkEntry(held.Index, held.Offset, held.StoredLength, held.PlainLength, (ChunkEncoding)held.Encoding, held.Crc64);
            }

            ChunkEntry entry;
            try
            {
                entry = WriteChunk(upload, index, received, length, encoding, plainLength, crc, sha);
            }
            catch (StorageException e) when (e.Error == StorageError.StagingNotFound)
            {
                uploads.Forget(upload.Session.Id);
                throw new IngestException(IngestFault.UploadClosed, $"Upload {upload.Session.Id} was completed or aborted by another request; open a new upload.");
            }

            await RecordChunkAsync(upload, entry, crc, sha, cancellationToken).ConfigureAwait(false);
            return entry;
        }
    }

    /// <summary>
    /// Completes a session (docs/protocol.md, "Complete an upload"): every chunk held, <c>sha256-tree</c> equal to
    /// <paramref name="expected"/> or the digest given at open, trailer written and flushed, then committed with
    /// <paramref name="caller"/> as its uploader. <paramref name="records"/> replaces the audit records of an upload (for
    /// replication's own); <paramref name="waitForScan"/> false only submits the scan.
    /// </summary>
    /// <exception cref="IngestException">Chunks missing, a digest that differs (nothing committed), or a closed session.</exception>
    public async Task<CommittedFile> CompleteUploadAsync(
        OpenUpload upload,
        FileDigest? expected,
        ReleaseCaller caller,
        CancellationToken cancellationToken,
        Func<FileVersion, IEnumerable<AuditEvent>>? records = null,
        bool waitForScan = true)
    {
        ArgumentNullException.ThrowIfNull(upload);
        ArgumentNullException.ThrowIfNull(caller);
        if (!uploads.Shared)
        {
            return await CloseAndCommitAsync(upload, expected, caller, records, waitForScan, cancellationToken).ConfigureAwait(false);
        }

        // Several nodes may complete one session at once: one at a time, and the later ones answer with what the first
        // committed (the scan wait included, as it runs under the lock), so both callers get the same answer.
        var id = upload.Session.Id;
        await using (await locks.LockSessionAsync(id, cancellationToken).ConfigureAwait(false))
        {
            var current = await metadata.GetUploadAsync(id, cancellationToken).ConfigureAwait(false);
            if (current?.State == UploadState.Completed && await metadata.GetVersionAsync(id, cancellationToken).ConfigureAwait(false) is { } done)
            {
                uploads.Forget(id);
                return new CommittedFile(done, done.State);
            }

            if (current is not { State: UploadState.Open })
            {
                uploads.Forget(id);
                throw Closed(id, current?.State ?? UploadState.Aborted);
            }

            return await CloseAndCommitAsync(upload, expected, caller, records, waitForScan, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<CommittedFile> CloseAndCommitAsync(
        OpenUpload upload, FileDigest? expected, ReleaseCaller caller, Func<FileVersion, IEnumerable<AuditEvent>>? records, bool waitForScan, CancellationToken cancellationToken)
    {
        var session = upload.Session;
        ContainerSummary summary;
        try
        {
            summary = await uploads.CloseAsync(upload, expected, cancellationToken).ConfigureAwait(false);
        }
        catch (ContainerException e) when (e.Fault == ContainerFault.ChunkMissing)
        {
            var held = upload.Writer.HeldChunks().ToHashSet();
            var missing = LongRange(upload.Geometry.ChunkCount).Where(i => !held.Contains(i)).Take(1000).ToArray();
            throw new IngestException(IngestFault.ChunksMissing, $"{missing.Length} chunk(s) have not arrived; send them, then complete again.", missing);
        }
        catch (ContainerException e) when (e.Fault == ContainerFault.FileDigestMismatch)
        {
            metrics.VerificationFailed(VerificationCheck.FileDigest);
            audit.Append(Event(caller, "file.upload", AuditOutcome.Failure, session.Path) with { Size = session.Size, Detail = "file-digest-mismatch" });
            throw new IngestException(IngestFault.FileDigestMismatch, "The chunks received hash to a different sha256-tree than expected; nothing was committed.");
        }
        catch (UploadClosedException)
        {
            throw Closed(session.Id, UploadState.Completed);
        }

        var version = new FileVersion(session.Id, session.Path, session.Size, session.ChunkSize, summary.Digest.ToString(), null, ObjectKey(session.Id), time.GetUtcNow())
        {
            State = ReleaseState.PendingScan,
            UploadedBy = caller.Identity ?? session.OpenedBy,
            Origin = session.Origin,
        };
        var committed = await CommitAsync([new StagedVersion(version, session.Id, session.Id)], records ?? (v => UploadRecords(caller, v)), waitForScan, cancellationToken).ConfigureAwait(false);
        return committed[0];
    }

    /// <summary>
    /// For a replica (a PUT carrying provenance): the current version at <paramref name="path"/> when it already holds the
    /// origin's digest, recorded as <c>replication.skipped</c>; then nothing is read or committed, so a retried replica never
    /// makes a duplicate. Null when the replica is new here.
    /// </summary>
    public async Task<FileVersion?> HeldReplicaAsync(RemotePath path, Provenance origin, ReleaseCaller caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(origin);
        ArgumentNullException.ThrowIfNull(caller);
        if (await metadata.GetCurrentVersionAsync(path.Value, cancellationToken).ConfigureAwait(false) is not { } held
            || held.Digest != origin.Digest || held.State is ReleaseState.Quarantined or ReleaseState.Rejected)
        {
            return null;
        }

        audit.Append(Event(caller, "replication.skipped", AuditOutcome.Success, path.Value) with
        {
            Size = held.Size,
            Digest = held.Digest,
            CorrelationId = origin.CorrelationId ?? caller.CorrelationId,
            Detail = $"version {held.VersionId} already holds the digest from origin {origin.Site}; nothing committed",
        });
        return held;
    }

    /// <summary>
    /// A one-shot upload (docs/protocol.md, "One-shot upload"): reads the body through <paramref name="read"/> chunk by
    /// chunk into a new container (chunks of <see cref="UploadSettings.OneShotChunkSize"/>, compressed where it pays,
    /// sealed), checks its length against <paramref name="declaredLength"/>, its SHA-256 against
    /// <paramref name="expectedSha256"/> and, for a replica, its <c>sha256-tree</c> against the origin's, then commits it.
    /// </summary>
    /// <exception cref="IngestException">The body's length or digest differs; nothing was committed.</exception>
    public async Task<CommittedFile> PutAsync(
        RemotePath path, long? declaredLength, byte[]? expectedSha256, Provenance? origin, ReleaseCaller caller, BodyReader read, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(read);
        var chunkSize = settings.OneShotChunkSize;
        var id = Guid.CreateVersion7();
        using var key = DataKey.Generate();
        var header = ContainerHeader.Create(id, chunkSize, keys, key, time.GetUtcNow());
        var pool = buffers.For(chunkSize);
        var committed = false;
        var received = new StrongBox<long>();
        StagedVersion[] staged;
        try
        {
            ContainerSummary summary;
            byte[] wholeSha;
            using (var writer = ContainerWriter.Create(
                store.CreateStaging(id, declaredLength is { } m ? ContainerWriter.MaxLength(m, chunkSize) : 0), header, key, declaredLength is { } n ? new ChunkGeometry(n, chunkSize).ChunkCount : 16))
            using (var sealer = writer.CreateSealer())
            using (var whole = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            {
                var (plain, scratch) = await pool.RentPairAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    var onlyChunkSha = await StreamChunksAsync(writer, sealer, whole, plain, scratch, read, received, cancellationToken).ConfigureAwait(false);
                    var total = received.Value;
                    if (declaredLength is { } d && d != total)
                    {
                        metrics.VerificationFailed(VerificationCheck.FileSize);
                        audit.Append(Event(caller, "file.upload", AuditOutcome.Failure, path.Value) with { Size = total, Detail = "size-mismatch" });
                        throw new IngestException(IngestFault.SizeMismatch, $"The body held {total} bytes; Content-Length said {d}.");
                    }

                    wholeSha = onlyChunkSha ?? whole.GetHashAndReset();
                    if (expectedSha256 is not null && !CryptographicOperations.FixedTimeEquals(wholeSha, expectedSha256))
                    {
                        metrics.VerificationFailed(VerificationCheck.FileDigest);
                        audit.Append(Event(caller, "file.upload", AuditOutcome.Failure, path.Value) with { Size = total, Detail = "file-digest-mismatch" });
                        throw new IngestException(IngestFault.FileDigestMismatch, "The body does not match its Repr-Digest/Content-Digest; nothing was committed.");
                    }

                    summary = writer.Complete(total, null, wholeSha);
                    if (origin is not null && summary.Digest != FileDigest.Parse(origin.Digest))
                    {
                        audit.Append(Event(caller, "replication.received", AuditOutcome.Failure, path.Value) with
                        {
                            Size = total,
                            Digest = summary.Digest.ToString(),
                            CorrelationId = origin.CorrelationId ?? caller.CorrelationId,
                            Detail = $"file-digest-mismatch: origin {origin.Site} declared {origin.Digest}",
                        });
                        throw new IngestException(IngestFault.FileDigestMismatch, $"The body hashes to {summary.Digest}, not the {Provenance.DigestHeader} {origin.Digest}; nothing was committed.");
                    }
                }
                finally
                {
                    pool.Return(plain);
                    pool.Return(scratch);
                }
            }

            var version = new FileVersion(id, path.Value, summary.FileSize, chunkSize, summary.Digest.ToString(), WholeFileSha256.Format(wholeSha), ObjectKey(id), time.GetUtcNow())
            {
                State = ReleaseState.PendingScan,
                UploadedBy = caller.Identity,
                Origin = origin,
            };
            staged = [new StagedVersion(version, id, null)];
            await CommitStagedAsync(staged, cancellationToken).ConfigureAwait(false);
            committed = true;
        }
        finally
        {
            if (!committed)
            {
                // Nothing is left of it: a container moved before the metadata failed was removed by the commit.
                store.AbortStaging(id);
                metrics.UploadEnded(UploadOutcome.Failed, received.Value);
            }
        }

        return (await AnnounceAsync(staged, v => UploadRecords(caller, v), true, cancellationToken).ConfigureAwait(false))[0];
    }

    /// <summary>
    /// Reads a one-shot body chunk by chunk, each compressed where it pays and sealed into <paramref name="writer"/>, the
    /// plaintext appended to <paramref name="whole"/> first, counting the bytes read in <paramref name="total"/> as they come
    /// (a body cut short counts what arrived); returns, for a body of one chunk, its SHA-256 (the file's, then not hashed twice).
    /// </summary>
    private async Task<byte[]?> StreamChunksAsync(
        ContainerWriter writer, ChunkSealer sealer, IncrementalHash whole, ChunkBuffer plain, ChunkBuffer scratch, BodyReader read, StrongBox<long> total, CancellationToken cancellationToken)
    {
        var chunkSize = settings.OneShotChunkSize;
        byte[]? onlyChunkSha = null;
        for (long index = 0; ; index++)
        {
            var started = Stopwatch.GetTimestamp();
            var chunk = plain.Memory.Slice(ContainerFormat.RecordHeaderSize, chunkSize);
            var count = await read(chunk, chunkSize, cancellationToken).ConfigureAwait(false);
            if (count == 0 && index > 0)
            {
                break;
            }

            var span = chunk.Span[..count];
            total.Value += count;

            // A body that is one chunk: its SHA-256 is the file's, so it is not hashed twice. Otherwise the
            // whole-file hash takes the plaintext before the seal overwrites it.
            var onlyChunk = index == 0 && count < chunkSize;
            if (!onlyChunk)
            {
                whole.AppendData(span);
            }

            var sha = SHA256.HashData(span);
            if (count > 0)
            {
                metrics.BytesHeld(TransferDirection.Upload, count);
                try
                {
                    writer.WriteChunk(sealer, ChunkCompressor.Adaptive, index, plain, count, ChunkCrc.Compute(span), sha, scratch);
                }
                finally
                {
                    metrics.BytesReleased(TransferDirection.Upload, count);
                }

                metrics.ChunkHandled(TransferDirection.Upload, started);
            }

            if (onlyChunk)
            {
                onlyChunkSha = sha;
                break;
            }

            if (count < chunkSize)
            {
                break;
            }
        }

        return onlyChunkSha;
    }

    /// <summary>
    /// Seals one small, already verified file of a batch (<paramref name="size"/> bytes of <paramref name="plain"/> after its
    /// record header, with their CRC-64 and SHA-256) into its own single-chunk container in staging, flushed with the batch's
    /// commit rather than alone. Commit the batch with <see cref="CommitBatchAsync"/> or discard it with <see cref="DiscardStaged"/>.
    /// </summary>
    public StagedFile StageSmallFile(RemotePath path, ChunkBuffer plain, ChunkBuffer scratch, int size, ulong crc, byte[] sha256)
    {
        ArgumentNullException.ThrowIfNull(sha256);
        var chunkSize = settings.OneShotChunkSize;
        var id = Guid.CreateVersion7();
        using var key = DataKey.Generate();
        var containerHeader = ContainerHeader.Create(id, chunkSize, keys, key, time.GetUtcNow());
        try
        {
            ContainerSummary summary;
            using (var writer = ContainerWriter.Create(store.CreateStaging(id, ContainerWriter.MaxLength(size, chunkSize)), containerHeader, key, size == 0 ? 0 : 1))
            using (var sealer = writer.CreateSealer())
            {
                if (size > 0)
                {
                    // One chunk: its SHA-256 is the whole file's, so the file is hashed once.
                    writer.WriteChunk(sealer, ChunkCompressor.Adaptive, 0, plain, size, crc, sha256, scratch);
                }

                summary = writer.Complete(size, null, sha256, flushToDisk: false);
            }

            return new StagedFile(path, id, summary, sha256);
        }
        catch
        {
            store.AbortStaging(id);
            throw;
        }
    }

    /// <summary>Removes the staging of a batch that failed, recorded as one <c>batch.upload</c> failure.</summary>
    public void DiscardStaged(IReadOnlyList<StagedFile> staged, ReleaseCaller caller)
    {
        ArgumentNullException.ThrowIfNull(staged);
        ArgumentNullException.ThrowIfNull(caller);

        // A file already committed is no longer in staging: only what is removed here counts as discarded.
        var discarded = staged.Count(file => store.AbortStaging(file.Id));
        if (discarded > 0)
        {
            audit.Append(Event(caller, "batch.upload", AuditOutcome.Failure, null) with { Detail = $"{discarded} verified files discarded: the batch failed" });
        }
    }

    /// <summary>Commits a batch's staged files together (one metadata transaction, one audit flush) and waits for their scans.</summary>
    public Task<IReadOnlyList<CommittedFile>> CommitBatchAsync(IReadOnlyList<StagedFile> staged, ReleaseCaller caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(staged);
        ArgumentNullException.ThrowIfNull(caller);
        var now = time.GetUtcNow();
        var chunkSize = settings.OneShotChunkSize;
        return CommitAsync(
            [.. staged.Select(f => new StagedVersion(
                new FileVersion(f.Id, f.Path.Value, f.Summary.FileSize, chunkSize, f.Summary.Digest.ToString(), WholeFileSha256.Format(f.Sha256), ObjectKey(f.Id), now)
                {
                    State = ReleaseState.PendingScan,
                    UploadedBy = caller.Identity,
                },
                f.Id,
                null))],
            v => UploadRecords(caller, v),
            true,
            cancellationToken);
    }

    /// <summary>
    /// The commit every path shares: objects moved into the store (one directory flush for many), versions committed in one
    /// metadata transaction (closing a session's row with it), replaced containers removed unless quarantined, audit records
    /// appended with the last one durable (the log keeps the order of the calls, so its fsync covers every earlier one),
    /// then the scans submitted and, if asked, awaited for their inline wait.
    /// </summary>
    private async Task<IReadOnlyList<CommittedFile>> CommitAsync(
        IReadOnlyList<StagedVersion> staged, Func<FileVersion, IEnumerable<AuditEvent>> records, bool waitForScan, CancellationToken cancellationToken)
    {
        await CommitStagedAsync(staged, cancellationToken).ConfigureAwait(false);
        return await AnnounceAsync(staged, records, waitForScan, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The commit proper: objects into the store, versions into the metadata, replaced containers removed.</summary>
    private async Task CommitStagedAsync(IReadOnlyList<StagedVersion> staged, CancellationToken cancellationToken)
    {
        var moving = staged.Where(s => s.StagingId is not null).Select(s => (s.StagingId!.Value, s.Version.ObjectKey)).ToList();
        if (moving.Count == 1)
        {
            store.Commit(moving[0].Item1, moving[0].ObjectKey);
        }
        else if (moving.Count > 1)
        {
            store.CommitMany(moving);
        }

        IReadOnlyList<FileVersion?> previous;
        try
        {
            previous = staged.Count == 1
                ? [await metadata.CommitVersionAsync(staged[0].Version, staged[0].SessionId, cancellationToken).ConfigureAwait(false)]
                : await metadata.CommitVersionsAsync([.. staged.Select(s => s.Version)], cancellationToken).ConfigureAwait(false);
        }
        catch when (staged.All(s => s.SessionId is null))
        {
            // The objects were moved but no version names them, and no session can finish them later: removed, so a failed
            // commit leaves nothing behind. (A session's object stays: reopening the session finishes its commit.)
            foreach (var file in staged)
            {
                store.Delete(file.Version.ObjectKey);
            }

            throw;
        }

        foreach (var file in staged)
        {
            metrics.UploadEnded(UploadOutcome.Committed, file.Version.Size);
        }

        foreach (var replaced in previous)
        {
            if (replaced is not null && replaced.State != ReleaseState.Quarantined)
            {
                store.Delete(replaced.ObjectKey);
            }
        }
    }

    /// <summary>After the commit: the audit records, the last one durable, then the scans submitted (and awaited, if asked).</summary>
    private async Task<IReadOnlyList<CommittedFile>> AnnounceAsync(
        IReadOnlyList<StagedVersion> staged, Func<FileVersion, IEnumerable<AuditEvent>> records, bool waitForScan, CancellationToken cancellationToken)
    {
        var events = staged.SelectMany(s => records(s.Version)).ToList();
        for (var i = 0; i < events.Count - 1; i++)
        {
            audit.Append(events[i]);
        }

        if (events.Count > 0)
        {
            // On disk before the sender hears of it (docs/audit.md, "Durability").
            await audit.AppendDurableAsync(events[^1], cancellationToken).ConfigureAwait(false);
        }

        var ids = staged.Select(s => s.Version.VersionId).ToArray();
        IReadOnlyList<ReleaseState> states;
        if (waitForScan)
        {
            states = await scans.SubmitAndWaitAsync(ids, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            foreach (var id in ids)
            {
                scans.Submit(id);
            }

            states = [.. ids.Select(_ => ReleaseState.PendingScan)];
        }

        return [.. staged.Select((s, i) => new CommittedFile(s.Version, states[i]))];
    }

    /// <summary>
    /// The server stopped between renaming a session's completed container into the store and the metadata commit: the
    /// container is whole and verified, so its commit is finished instead of losing the upload (pending a scan, given its
    /// inline wait as a commit answer would, so a client that reads at once finds it released).
    /// </summary>
    private async Task FinishInterruptedCommitAsync(UploadSession session, CancellationToken cancellationToken)
    {
        var objectKey = ObjectKey(session.Id);
        FileVersion version;
        using (var reader = ContainerReader.Open(store.OpenRead(objectKey), keys.Resolver()))
        {
            version = new FileVersion(session.Id, session.Path, reader.Geometry.FileSize, reader.Geometry.ChunkSize, reader.Digest.ToString(), null, objectKey, time.GetUtcNow())
            {
                State = ReleaseState.PendingScan,
                UploadedBy = session.OpenedBy,
                Origin = session.Origin,
            };
        }

        await CommitAsync([new StagedVersion(version, null, session.Id)], _ => [], true, cancellationToken).ConfigureAwait(false);
        logger.LogWarning("Upload {Id}: finished a commit interrupted by a restart ({Digest})", session.Id, version.Digest);
    }

    /// <summary>
    /// The records of an upload: <c>replication.received</c> for a version that carries provenance (under its correlation
    /// id), then <c>file.upload</c>.
    /// </summary>
    private static IEnumerable<AuditEvent> UploadRecords(ReleaseCaller caller, FileVersion version)
    {
        if (version.Origin is { } origin)
        {
            yield return Event(caller, "replication.received", AuditOutcome.Success, version.Path) with
            {
                Size = version.Size,
                Digest = version.Digest,
                CorrelationId = origin.CorrelationId ?? caller.CorrelationId,
                Detail = $"version {version.VersionId} from origin {origin.Site}:{origin.Path}",
            };
        }

        yield return Event(caller, "file.upload", AuditOutcome.Success, version.Path) with
        {
            Size = version.Size,
            Digest = version.Digest,
            Detail = $"version {version.VersionId}",
            CorrelationId = version.Origin?.CorrelationId ?? caller.CorrelationId,
        };
    }

    private IngestException Refused(long index, ChunkCheck check, string? detail, ChunkClaims claims)
    {
        var (counted, fault, message) = check switch
        {
            ChunkCheck.Undecodable => (VerificationCheck.ChunkBody, IngestFault.ChunkBody, $"Chunk {index}: {detail}"),
            ChunkCheck.BodyDigestMismatch => (VerificationCheck.ChunkDigest, IngestFault.ChunkDigestMismatch, $"Chunk {index}: the body does not match its Content-Digest."),
            ChunkCheck.CrcMismatch => (VerificationCheck.ChunkCrc, IngestFault.ChunkCrcMismatch, $"Chunk {index}: the plaintext does not match {ProtocolHeaders.ChunkCrc64} {ChunkCrc.Format(claims.Crc64 ?? 0)}; resend the chunk."),
            _ => (VerificationCheck.ChunkDigest, IngestFault.ChunkDigestMismatch, $"Chunk {index}: the plaintext does not match its Repr-Digest."),
        };
        metrics.VerificationFailed(counted);
        return new IngestException(fault, message);
    }

    private static IngestException Closed(Guid id, UploadState state) =>
        new(IngestFault.UploadClosed, $"Upload {id} is {state.ToString().ToLowerInvariant()}; open a new upload.");

    private static AuditEvent Event(ReleaseCaller caller, string action, string outcome, string? path) => new()
    {
        Action = action,
        Actor = caller.Actor,
        Outcome = outcome,
        Path = path,
        CorrelationId = caller.CorrelationId,
    };

    private static string ObjectKey(Guid id) => id.ToString("N");

    private static IEnumerable<long> LongRange(long count)
    {
        for (var i = 0L; i < count; i++)
        {
            yield return i;
        }
    }

    private sealed record StagedVersion(FileVersion Version, Guid? StagingId, Guid? SessionId);
}

/// <summary>Reads at least <c>minimum</c> bytes of a body into the buffer (fewer only at its end); 0 at the end.</summary>
public delegate ValueTask<int> BodyReader(Memory<byte> buffer, int minimum, CancellationToken cancellationToken);

/// <summary>What a sender declared about a chunk: its plaintext's CRC-64 (null: none to check), and SHA-256s when sent.</summary>
/// <param name="Crc64">The plaintext's CRC-64/NVME (<c>TMF-Chunk-CRC64</c>).</param>
/// <param name="BodySha256">The body's SHA-256 as sent (<c>Content-Digest</c>), or null.</param>
/// <param name="PlainSha256">The plaintext's SHA-256 (<c>Repr-Digest</c>), or null.</param>
public readonly record struct ChunkClaims(ulong? Crc64, byte[]? BodySha256, byte[]? PlainSha256);

/// <summary>A committed version and its release state after the commit's scan wait.</summary>
public sealed record CommittedFile(FileVersion Version, ReleaseState State);

/// <summary>A small file of a batch sealed into staging (the staging of upload <paramref name="Id"/>), waiting for the batch's commit.</summary>
/// <param name="Path">Where it goes.</param>
/// <param name="Id">Its version id, and the id of its staging in the object store.</param>
/// <param name="Summary">Its container.</param>
/// <param name="Sha256">Its SHA-256.</param>
public sealed record StagedFile(RemotePath Path, Guid Id, ContainerSummary Summary, byte[] Sha256);
