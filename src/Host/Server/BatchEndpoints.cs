using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TurboMft.Engine.Buffers;
using TurboMft.Engine.Compression;
using TurboMft.Engine.Container;
using TurboMft.Engine.Crypto;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Native;
using TurboMft.Engine.Protocol;
using TurboMft.Engine.Storage;
using TurboMft.Host.Access;
using TurboMft.Host.Audit;
using TurboMft.Host.Metadata;
using TurboMft.Host.Metrics;
using TurboMft.Host.Release;
using TurboMft.Host.Scanning;

namespace TurboMft.Host.Server;

/// <summary>
/// Batch upload, <c>POST /v1/batch</c> (docs/protocol.md, "Batch upload"): many small files in one streamed request
/// (<see cref="BatchFormat"/>). Each file is verified (CRC-64/NVME, SHA-256 when sent), sealed into its own container and
/// staged as it arrives; only when the whole body has been read and every file verified are they committed together: one
/// file-system flush, one metadata transaction, one durable audit write. Any bad entry fails the whole batch and nothing
/// of it is committed.
/// </summary>
public static class BatchEndpoints
{
    /// <summary>Maps the endpoint.</summary>
    public static IEndpointRouteBuilder MapBatchEndpoints(this IEndpointRouteBuilder routes)
    {
        // Deferred: every entry's path is checked for write before any of its bytes is kept.
        routes.MapPost("/v1/batch", UploadAsync)
            .WithSummary("Batch upload of many small files in one request; all committed together or none.")
            .RequirePermission(Permission.Write, PathSource.Deferred);
        return routes;
    }

    private static async Task<IResult> UploadAsync(
        HttpContext context,
        ServerSettings settings,
        LocalObjectStore store,
        KeyRing keys,
        ServerBuffers buffers,
        IMetadataStore metadata,
        IAuditTrail audit,
        ScanService scans,
        TransferMetrics metrics,
        CancellationToken cancellationToken)
    {
        if (!string.Equals(context.Request.ContentType, BatchFormat.MediaType, StringComparison.OrdinalIgnoreCase))
        {
            return Problems.Result(StatusCodes.Status415UnsupportedMediaType, "unsupported-media-type", "Unsupported media type", $"A batch body is {BatchFormat.MediaType}.");
        }

        var chunkSize = settings.OneShotChunkSize;
        var pool = buffers.For(chunkSize);
        var staged = new List<StagedFile>();
        var longest = 0;
        var committed = false;
        var body = context.Request.BodyReader;
        var (plain, scratch) = await pool.RentPairAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var header = new byte[BatchFormat.EntryHeaderSize + SHA256.HashSizeInBytes + BatchFormat.MaxPathBytes];
            if (!await RequestBody.FillAsync(body, header.AsMemory(0, BatchFormat.PreambleSize)).ConfigureAwait(false))
            {
                return Truncated(0);
            }

            if (BatchFormat.CheckPreamble(header) is { } preambleError)
            {
                return Problems.BadRequest("batch-malformed", preambleError);
            }

            var paths = new HashSet<string>(StringComparer.Ordinal);
            var strictUtf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
            var expectedSha = new byte[SHA256.HashSizeInBytes];
            while (true)
            {
                var entry = staged.Count;
                if (!await RequestBody.FillAsync(body, header.AsMemory(0, 2)).ConfigureAwait(false))
                {
                    return Truncated(entry);
                }

                var pathBytes = BatchFormat.ReadPathLength(header);
                if (pathBytes == 0)
                {
                    break;
                }

                if (entry >= settings.BatchMaxFiles)
                {
                    return Problems.Result(StatusCodes.Status413PayloadTooLarge, "batch-too-large", "Batch too large", $"A batch holds at most {settings.BatchMaxFiles} files; send the rest in another.");
                }

                if (!await RequestBody.FillAsync(body, header.AsMemory(2, BatchFormat.EntryHeaderSize - 2)).ConfigureAwait(false))
                {
                    return Truncated(entry);
                }

                if (BatchFormat.ReadEntryHeader(header, out var hasSha, out var size, out var crc) is { } headerError)
                {
                    return Problems.BadRequest("batch-malformed", $"Entry {entry}: {headerError}");
                }

                if (pathBytes > BatchFormat.MaxPathBytes)
                {
                    return Problems.BadPath($"Entry {entry}: the path is {pathBytes} bytes; at most {BatchFormat.MaxPathBytes}.");
                }

                var extra = (hasSha ? SHA256.HashSizeInBytes : 0) + pathBytes;
                if (!await RequestBody.FillAsync(body, header.AsMemory(BatchFormat.EntryHeaderSize, extra)).ConfigureAwait(false))
                {
                    return Truncated(entry);
                }

                var pathStart = BatchFormat.EntryHeaderSize + (hasSha ? SHA256.HashSizeInBytes : 0);
                string text;
                try
                {
                    text = strictUtf8.GetString(header, pathStart, pathBytes);
                }
                catch (DecoderFallbackException)
                {
                    return Problems.BadPath($"Entry {entry}: the path is not valid UTF-8.");
                }

                if (!text.StartsWith('/'))
                {
                    return Problems.BadPath($"Entry {entry}: the path must be absolute (start with '/').");
                }

                if (!RemotePath.TryParse(text, out var path, out var pathError))
                {
                    return Problems.BadPath($"Entry {entry}: {pathError}");
                }

                if (AccessResults.Check(context, Permission.Write, path) is { } denied)
                {
                    return denied;
                }

                if (!paths.Add(path.Value))
                {
                    return Problems.BadRequest("batch-duplicate-path", $"Entry {entry}: '{path.Value}' is already in this batch.");
                }

                if (size > (uint)chunkSize)
                {
                    return Problems.BadRequest("batch-entry-too-large", $"Entry {entry} ('{path.Value}') is {size} bytes; batch entries hold at most {chunkSize} (one chunk); upload larger files through a session.");
                }

                var content = plain.Memory.Slice(ContainerFormat.RecordHeaderSize, (int)size);
                longest = Math.Max(longest, content.Length);
                if (!await RequestBody.FillAsync(body, content).ConfigureAwait(false))
                {
                    return Truncated(entry);
                }

                var span = content.Span;
                if (ChunkCrc.Compute(span) != crc)
                {
                    metrics.VerificationFailed(VerificationCheck.ChunkCrc);
                    return Problems.Unverified("chunk-crc-mismatch", $"Entry {entry} ('{path.Value}'): the content does not match its CRC-64/NVME {ChunkCrc.Format(crc)}; nothing of the batch was committed.");
                }

                var sha = SHA256.HashData(span);
                if (hasSha && !CryptographicOperations.FixedTimeEquals(sha, header.AsSpan(BatchFormat.EntryHeaderSize, SHA256.HashSizeInBytes)))
                {
                    metrics.VerificationFailed(VerificationCheck.FileDigest);
                    return Problems.Unverified("file-digest-mismatch", $"Entry {entry} ('{path.Value}'): the content does not match its SHA-256; nothing of the batch was committed.");
                }

                staged.Add(Stage(store, keys, path, chunkSize, plain, scratch, (int)size, crc, sha));
            }

            // The end marker closes the body: anything after it is a framing error, not ignored data.
            var tail = await body.ReadAsync(CancellationToken.None).ConfigureAwait(false);
            var trailing = tail.Buffer.Length;
            body.AdvanceTo(tail.Buffer.End);
            if (trailing > 0 || !tail.IsCompleted)
            {
                return Problems.BadRequest("batch-malformed", "Bytes follow the batch's end marker.");
            }

            if (staged.Count == 0)
            {
                return Results.Ok(new { files = Array.Empty<object>() });
            }

            var versions = await CommitAsync(context, store, metadata, audit, staged, chunkSize, cancellationToken).ConfigureAwait(false);
            committed = true;
            foreach (var version in versions)
            {
                metrics.UploadEnded(UploadOutcome.Committed, version.Size);
            }

            var states = await scans.SubmitAndWaitAsync([.. versions.Select(v => v.VersionId)], cancellationToken).ConfigureAwait(false);
            var files = new object[versions.Count];
            for (var i = 0; i < files.Length; i++)
            {
                files[i] = await UploadEndpoints.CommittedAsync(versions[i], states[i], metadata, cancellationToken).ConfigureAwait(false);
            }

            return Results.Ok(new { files });
        }
        catch (IOException e) when (e is DiskFullException || e.HResult == 28 || e is StorageException { Error: StorageError.DiskFull })
        {
            return Problems.Result(StatusCodes.Status507InsufficientStorage, "insufficient-storage", "Insufficient storage", "The server's disk is full; nothing of the batch was committed.");
        }
        finally
        {
            // Plaintext does not linger in a pooled buffer: cleared as far as the longest file of the batch reached.
            CryptographicOperations.ZeroMemory(plain.Span.Slice(ContainerFormat.RecordHeaderSize, longest));
            pool.Return(plain);
            pool.Return(scratch);
            if (!committed)
            {
                foreach (var file in staged)
                {
                    store.AbortStaging(file.Staging);
                }

                if (staged.Count > 0)
                {
                    audit.Append(AuditActors.Event(context, "batch.upload", AuditOutcome.Failure, null) with { Detail = $"{staged.Count} verified files discarded: the batch failed" });
                }
            }
        }
    }

    private static IResult Truncated(int entry) =>
        Problems.BadRequest("batch-truncated", $"The body ended in entry {entry}, before the batch's end marker; nothing of the batch was committed.");

    /// <summary>Seals one verified file into its own single-chunk container in staging (flushed with the batch, not alone).</summary>
    private static StagedFile Stage(LocalObjectStore store, KeyRing keys, RemotePath path, int chunkSize, ChunkBuffer plain, ChunkBuffer scratch, int size, ulong crc, byte[] sha)
    {
        var id = Guid.CreateVersion7();
        var staging = store.CreateStagingPath(id);
        using var key = DataKey.Generate();
        var containerHeader = ContainerHeader.Create(id, chunkSize, keys, key, DateTimeOffset.UtcNow);
        try
        {
            ContainerSummary summary;
            using (var writer = ContainerWriter.Create(staging, containerHeader, key, size == 0 ? 0 : 1, ContainerWriter.MaxLength(size, chunkSize)))
            using (var sealer = writer.CreateSealer())
            {
                if (size > 0)
                {
                    // One chunk: its SHA-256 is the whole file's, so the file is hashed once.
                    writer.WriteChunk(sealer, ChunkCompressor.Adaptive, 0, plain, size, crc, sha, scratch);
                }

                summary = writer.Complete(size, null, sha, flushToDisk: false);
            }

            return new StagedFile(path, id, staging, summary, sha);
        }
        catch
        {
            store.AbortStaging(staging);
            throw;
        }
    }

    private static async Task<IReadOnlyList<FileVersion>> CommitAsync(
        HttpContext context, LocalObjectStore store, IMetadataStore metadata, IAuditTrail audit, List<StagedFile> staged, int chunkSize, CancellationToken cancellationToken)
    {
        store.CommitMany([.. staged.Select(f => (f.Staging, f.Id.ToString("N")))]);
        var uploadedBy = ReleaseCaller.IdentityOf(context.GetPrincipal());
        var now = DateTimeOffset.UtcNow;
        var versions = staged.Select(f => new FileVersion(f.Id, f.Path.Value, f.Summary.FileSize, chunkSize, f.Summary.Digest.ToString(), "sha256:" + Convert.ToHexStringLower(f.Sha256), f.Id.ToString("N"), now)
        {
            State = ReleaseState.PendingScan,
            UploadedBy = uploadedBy,
        }).ToList();
        IReadOnlyList<FileVersion?> previous;
        try
        {
            previous = await metadata.CommitVersionsAsync(versions, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // The objects were moved but no version names them: remove them, so a failed batch leaves nothing behind.
            foreach (var version in versions)
            {
                store.Delete(version.ObjectKey);
            }

            throw;
        }

        foreach (var replaced in previous)
        {
            UploadRegistry.DeleteReplaced(store, replaced);
        }

        for (var i = 0; i < versions.Count - 1; i++)
        {
            audit.Append(UploadEndpoints.Uploaded(context, versions[i]));
        }

        // The log keeps the order of the calls, so the last record's fsync makes every earlier one durable too.
        await audit.AppendDurableAsync(UploadEndpoints.Uploaded(context, versions[^1]), cancellationToken).ConfigureAwait(false);
        return versions;
    }

    private sealed record StagedFile(RemotePath Path, Guid Id, string Staging, ContainerSummary Summary, byte[] Sha256);
}
