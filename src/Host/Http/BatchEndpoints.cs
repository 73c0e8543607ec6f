using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TurboMft.Engine.Buffers;
using TurboMft.Engine.Container;
using TurboMft.Engine.Native;
using TurboMft.Engine.Protocol;
using TurboMft.Engine.Storage;
using TurboMft.Host.Access;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Ingest;
using TurboMft.Host.Metadata;
using TurboMft.Host.Metrics;

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
        HttpContext context, FileIngest ingest, ServerBuffers buffers, IMetadataStore metadata, TransferMetrics metrics, CancellationToken cancellationToken)
    {
        if (!string.Equals(context.Request.ContentType, BatchFormat.MediaType, StringComparison.OrdinalIgnoreCase))
        {
            return Problems.Result(StatusCodes.Status415UnsupportedMediaType, "unsupported-media-type", "Unsupported media type", $"A batch body is {BatchFormat.MediaType}.");
        }

        var pool = buffers.For(ingest.Settings.OneShotChunkSize);
        var caller = ReleaseCallers.For(context);
        var batch = new Staging();
        var committed = false;
        var (plain, scratch) = await pool.RentPairAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (await StageAsync(context, ingest, metrics, plain, scratch, batch).ConfigureAwait(false) is { } refused)
            {
                return refused;
            }

            if (batch.Files.Count == 0)
            {
                return Results.Ok(new CommittedBatch([]));
            }

            var versions = await ingest.CommitBatchAsync(batch.Files, caller, cancellationToken).ConfigureAwait(false);
            committed = true;
            var files = new CommittedVersion[versions.Count];
            for (var i = 0; i < files.Length; i++)
            {
                files[i] = await CommitAnswers.DescribeAsync(versions[i].Version, versions[i].State, metadata, cancellationToken).ConfigureAwait(false);
            }

            return Results.Ok(new CommittedBatch(files));
        }
        catch (IOException e) when (e is DiskFullException || e.HResult == 28 || e is StorageException { Error: StorageError.DiskFull })
        {
            return IngestProblems.DiskFull("The server's disk is full; nothing of the batch was committed.");
        }
        finally
        {
            // Plaintext does not linger in a pooled buffer: cleared as far as the longest file of the batch reached.
            CryptographicOperations.ZeroMemory(plain.Span.Slice(ContainerFormat.RecordHeaderSize, batch.Longest));
            pool.Return(plain);
            pool.Return(scratch);
            if (!committed)
            {
                ingest.DiscardStaged(batch.Files, caller);
            }
        }
    }

    /// <summary>
    /// Reads the body entry by entry: each path is checked for write before any of its bytes is kept, each file verified and
    /// staged. Null when the whole body was staged; else the answer that refuses the batch.
    /// </summary>
    private static async Task<IResult?> StageAsync(HttpContext context, FileIngest ingest, TransferMetrics metrics, ChunkBuffer plain, ChunkBuffer scratch, Staging batch)
    {
        var reader = new BatchBodyReader(context.Request.BodyReader, ingest.Settings.BatchMaxFiles, ingest.Settings.OneShotChunkSize);
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
                batch.Longest = Math.Max(batch.Longest, content.Length);
                var sha = await reader.ReadContentAsync(entry, content).ConfigureAwait(false);
                batch.Files.Add(ingest.StageSmallFile(entry.Path, plain, scratch, (int)entry.Size, entry.Crc64, sha));
            }

            return null;
        }
        catch (BatchFramingException e)
        {
            if (e.FailedCheck is { } check)
            {
                metrics.VerificationFailed(check);
            }

            return e.ToResult();
        }
    }

    /// <summary>The files of one batch staged so far, and the longest plaintext the buffer held (cleared after).</summary>
    private sealed class Staging
    {
        public List<StagedFile> Files { get; } = [];

        public int Longest { get; set; }
    }
}
