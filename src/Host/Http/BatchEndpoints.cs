using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TurboMft.Engine.Buffers;
using TurboMft.Engine.Compression;
using TurboMft.Engine.Container;
using TurboMft.Engine.Crypto;
using TurboMft.Engine.Native;
using TurboMft.Engine.Protocol;
using TurboMft.Engine.Storage;
using TurboMft.Host.Access;
using TurboMft.Host.Audit;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Ingest;
using TurboMft.Host.Metadata;
using TurboMft.Host.Metrics;
using TurboMft.Host.Release;

namespace TurboMft.Host.Http;

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
        UploadSettings settings,
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
            var reader = new BatchBodyReader(body, settings.BatchMaxFiles, chunkSize);
            try
            {
                while (await reader.ReadHeaderAsync().ConfigureAwait(false) is { } entry)
                {
                    if (AccessResults.Check(context, Permission.Write, entry.Path) is { } denied)
                    {
                        return denied;
                    }

                    reader.Admit(entry);
                    var content = plain.Memory.Slice(ContainerFormat.RecordHeaderSize, (int)entry.Size);
                    longest = Math.Max(longest, content.Length);
                    var sha = await reader.ReadContentAsync(entry, content).ConfigureAwait(false);
                    staged.Add(Stage(store, keys, entry.Path, chunkSize, plain, scratch, (int)entry.Size, entry.Crc64, sha));
                }
            }
            catch (BatchFramingException e)
            {
                if (e.FailedCheck is { } check)
                {
                    metrics.VerificationFailed(check);
                }

                return e.ToResult();
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
