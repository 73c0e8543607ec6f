using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TurboMft.Engine.Buffers;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Client;
using TurboMft.Engine.Compression;
using TurboMft.Engine.Container;
using TurboMft.Engine.Integrity;
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

/// <summary>Resumable uploads: <c>/v1/uploads</c> (docs/protocol.md, "Resumable uploads").</summary>
public static class UploadEndpoints
{
    /// <summary>Maps the endpoints.</summary>
    public static IEndpointRouteBuilder MapUploadEndpoints(this IEndpointRouteBuilder routes)
    {
        // Every upload route needs write on the upload's path, which is in the body or the session: checked in the handler.
        routes.MapPost("/v1/uploads", CreateAsync).WithSummary("Open a resumable upload session for a path, size and chunk size.")
            .RequirePermission(Permission.Write, PathSource.Deferred);
        routes.MapGet("/v1/uploads/{id:guid}", StatusAsync).WithSummary("Which chunks the server holds, for resume.")
            .RequirePermission(Permission.Write, PathSource.Deferred);
        routes.MapPut("/v1/uploads/{id:guid}/chunks/{index:long}", PutChunkAsync).WithSummary("Send one chunk (TMF-Chunk-CRC64; optional Content-Encoding: lz4-block; Repr-Digest in sha256 mode). Idempotent.")
            .RequirePermission(Permission.Write, PathSource.Deferred);
        routes.MapPost("/v1/uploads/{id:guid}/complete", CompleteAsync).WithSummary("Verify the sha256-tree and commit atomically.")
            .RequirePermission(Permission.Write, PathSource.Deferred);
        routes.MapDelete("/v1/uploads/{id:guid}", AbortAsync).WithSummary("Abort the session and remove its staging container.")
            .RequirePermission(Permission.Write, PathSource.Deferred);
        return routes;
    }

    private static async Task<IResult> CreateAsync(HttpContext context, UploadRegistry uploads, IAuditTrail audit, CancellationToken cancellationToken)
    {
        CreateUploadRequest? request;
        try
        {
            request = await context.Request.ReadFromJsonAsync<CreateUploadRequest>(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
        {
            return Problems.BadRequest("invalid-request", "The body must be JSON: {\"path\", \"size\", \"chunkSize\", \"verify\", \"digest\"}.");
        }

        if (request is null)
        {
            return Problems.BadRequest("invalid-request", "The body must be JSON: {\"path\", \"size\", \"chunkSize\", \"verify\", \"digest\"}.");
        }

        if (!RemotePath.TryParse(request.Path, out var path, out var pathError))
        {
            return Problems.BadPath(pathError!);
        }

        if (AccessResults.Check(context, Permission.Write, path) is { } denied)
        {
            return denied;
        }

        var chunkSize = request.ChunkSize ?? ChunkGeometry.DefaultChunkSize;
        if (request.Size is not >= 0 || !ChunkGeometry.IsValid(chunkSize))
        {
            return Problems.BadRequest("invalid-request", $"size must be ≥ 0 and chunkSize a power of two from {ChunkGeometry.MinChunkSize} to {ChunkGeometry.MaxChunkSize}.");
        }

        var verify = request.Verify ?? "fast";
        if (verify is not ("fast" or "sha256"))
        {
            return Problems.BadRequest("invalid-request", "verify must be \"fast\" or \"sha256\".");
        }

        FileDigest? expected = null;
        if (request.Digest is not null)
        {
            if (!FileDigest.TryParse(request.Digest, out var parsed))
            {
                return Problems.BadRequest("invalid-request", "digest must be sha256-tree:<64 lowercase hex digits>.");
            }

            expected = parsed;
        }

        if (!ProvenanceHeaders.TryRead(context, out var origin, out var originError))
        {
            return originError;
        }

        if (origin is not null)
        {
            // The origin's digest is what the commit must hash to: a replica can never differ from what its origin declared.
            var declared = FileDigest.Parse(origin.Digest);
            if (expected is { } given && given != declared)
            {
                return Problems.BadRequest("invalid-provenance", $"digest {given} differs from {Provenance.DigestHeader} {declared}.");
            }

            expected = declared;
        }

        var upload = await uploads.CreateAsync(path, request.Size.Value, chunkSize, verify, expected, ReleaseCaller.IdentityOf(context.GetPrincipal()), cancellationToken, origin).ConfigureAwait(false);
        await audit.AppendDurableAsync(
            AuditActors.Event(context, "upload.open", AuditOutcome.Success, path.Value) with
            {
                Size = request.Size,
                Detail = $"upload {upload.Session.Id}",
                CorrelationId = origin?.CorrelationId ?? context.TraceIdentifier,
            },
            cancellationToken).ConfigureAwait(false);
        return Results.Created($"/v1/uploads/{upload.Session.Id}", Describe(upload.Session, []));
    }

    private static async Task<IResult> StatusAsync(Guid id, HttpContext context, UploadRegistry uploads, IMetadataStore metadata, CancellationToken cancellationToken)
    {
        var (upload, session) = await uploads.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (session is null)
        {
            return UploadNotFound(id);
        }

        if (AccessResults.Check(context, Permission.Write, session.Path) is { } denied)
        {
            return denied;
        }

        // The stored row has the current expiry (chunks move it forward); the open writer has the chunks held.
        var stored = await metadata.GetUploadAsync(id, cancellationToken).ConfigureAwait(false) ?? session;
        return Results.Json(Describe(stored, upload is null ? [] : upload.Writer.HeldChunks()));
    }

    private static async Task<IResult> PutChunkAsync(
        Guid id,
        long index,
        HttpContext context,
        UploadRegistry uploads,
        ServerBuffers buffers,
        IMetadataStore metadata,
        UploadSettings settings,
        TransferMetrics metrics,
        CancellationToken cancellationToken)
    {
        var (upload, session) = await uploads.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (session is null)
        {
            return UploadNotFound(id);
        }

        if (AccessResults.Check(context, Permission.Write, session.Path) is { } denied)
        {
            return denied;
        }

        if (upload is null)
        {
            return UploadClosed(id, session.State);
        }

        var geometry = upload.Geometry;
        if (index < 0 || index >= geometry.ChunkCount)
        {
            return Problems.BadRequest("chunk-index-out-of-range", $"Chunk {index} does not exist: the file has {geometry.ChunkCount} chunks (0 to {geometry.ChunkCount - 1}).");
        }

        var request = context.Request;
        if (request.ContentLength is not { } length)
        {
            return Problems.Result(StatusCodes.Status411LengthRequired, "length-required", "Length required", "A chunk PUT needs Content-Length.");
        }

        var plainLength = geometry.LengthOf(index);
        var encoding = request.Headers.ContentEncoding.ToString() switch
        {
            "" or "identity" => ChunkEncoding.Raw,
            ProtocolHeaders.Lz4BlockCoding => ChunkEncoding.Lz4,
            _ => (ChunkEncoding?)null,
        };
        if (encoding is null)
        {
            return Problems.Result(StatusCodes.Status415UnsupportedMediaType, "unsupported-encoding", "Unsupported content coding", $"Content-Encoding must be absent or {ProtocolHeaders.Lz4BlockCoding}.");
        }

        var maxLength = encoding == ChunkEncoding.Raw ? plainLength : ChunkCompressor.MaxEncodedLength(plainLength);
        if (length > maxLength || (encoding == ChunkEncoding.Raw && length != plainLength))
        {
            return Problems.BadRequest("chunk-too-large", $"Chunk {index} holds {plainLength} bytes; a {(encoding == ChunkEncoding.Raw ? "raw" : "LZ4")} body of {length} bytes cannot be it.");
        }

        if (!ChunkCrc.TryParse(request.Headers[ProtocolHeaders.ChunkCrc64].ToString(), out var crc))
        {
            return Problems.BadRequest("missing-crc", $"{ProtocolHeaders.ChunkCrc64} must carry the plaintext's CRC-64/NVME as 16 hex digits.");
        }

        var reprDigest = new byte[SHA256.HashSizeInBytes];
        var hasRepr = DigestFields.TryGetSha256(request.Headers[ProtocolHeaders.ReprDigest], reprDigest);
        if (session.VerifyMode == "sha256" && !hasRepr)
        {
            return Problems.BadRequest("digest-required", "This upload verifies with sha256: send Repr-Digest: sha-256=:<base64 of the chunk's SHA-256>:.");
        }

        var contentDigest = new byte[SHA256.HashSizeInBytes];
        var hasContent = DigestFields.TryGetSha256(request.Headers[ProtocolHeaders.ContentDigest], contentDigest);

        var pool = buffers.For(session.ChunkSize);
        // An LZ4 body needs a second buffer to decode into: both are taken at once (ChunkBufferPool.RentPairAsync).
        ChunkBuffer received;
        ChunkBuffer? decoded = null;
        if (encoding == ChunkEncoding.Lz4)
        {
            (received, decoded) = await pool.RentPairAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            received = await pool.RentAsync(cancellationToken).ConfigureAwait(false);
        }

        var started = Stopwatch.GetTimestamp();
        metrics.BytesHeld(TransferDirection.Upload, length);
        try
        {
            var body = received.Memory.Slice(ContainerFormat.RecordHeaderSize, (int)length);
            var read = await RequestBody.ReadAtLeastAsync(request, body, body.Length, cancellationToken).ConfigureAwait(false);
            if (read != body.Length)
            {
                metrics.VerificationFailed(VerificationCheck.ChunkBody);
                return Problems.BadRequest("chunk-too-large", $"The body ended after {read} of {length} bytes.");
            }

            Memory<byte> plain = body;
            if (decoded is not null)
            {
                plain = decoded.Memory[..plainLength];
                try
                {
                    ChunkCompressor.Decode(ChunkEncoding.Lz4, body.Span, plain.Span);
                }
                catch (ChunkDecodeException e)
                {
                    metrics.VerificationFailed(VerificationCheck.ChunkBody);
                    return Problems.BadRequest("chunk-too-large", $"Chunk {index}: {e.Message}");
                }
            }

            if (hasContent && !CryptographicOperations.FixedTimeEquals(SHA256.HashData(body.Span), contentDigest))
            {
                metrics.VerificationFailed(VerificationCheck.ChunkDigest);
                return Problems.Unverified("chunk-digest-mismatch", $"Chunk {index}: the body does not match its Content-Digest.");
            }

            if (ChunkCrc.Compute(plain.Span) != crc)
            {
                metrics.VerificationFailed(VerificationCheck.ChunkCrc);
                return Problems.Unverified("chunk-crc-mismatch", $"Chunk {index}: the plaintext does not match {ProtocolHeaders.ChunkCrc64} {ChunkCrc.Format(crc)}; resend the chunk.");
            }

            var sha = SHA256.HashData(plain.Span);
            if (hasRepr && !CryptographicOperations.FixedTimeEquals(sha, reprDigest))
            {
                metrics.VerificationFailed(VerificationCheck.ChunkDigest);
                return Problems.Unverified("chunk-digest-mismatch", $"Chunk {index}: the plaintext does not match its Repr-Digest.");
            }

            ChunkEntry entry = default;
            var written = upload.TryWrite(sealer => entry = upload.Writer.WriteEncodedChunk(sealer, index, received, (int)length, encoding.Value, plainLength, crc, sha));
            if (!written)
            {
                return UploadClosed(id, UploadState.Completed);
            }

            // A session lives as long as chunks keep arriving: the expiry counts from the last activity.
            var now = DateTimeOffset.UtcNow;
            if (upload.ShouldExtendExpiry(now, TimeSpan.FromMinutes(1)))
            {
                await metadata.ExtendUploadAsync(id, now.AddHours(settings.UploadExpiryHours), cancellationToken).ConfigureAwait(false);
            }

            await metadata.RecordChunkAsync(
                new ChunkReceipt(id, index, entry.Offset, entry.StoredLength, entry.PlainLength, (byte)entry.Encoding, crc, sha, DateTimeOffset.UtcNow),
                cancellationToken).ConfigureAwait(false);
            metrics.ChunkHandled(TransferDirection.Upload, started);
            return Results.Json(new { index, storedLength = entry.StoredLength, encoding = encoding == ChunkEncoding.Lz4 ? ProtocolHeaders.Lz4BlockCoding : "identity" });
        }
        finally
        {
            metrics.BytesReleased(TransferDirection.Upload, length);
            pool.Return(received);
            if (decoded is not null)
            {
                pool.Return(decoded);
            }
        }
    }

    private static async Task<IResult> CompleteAsync(
        Guid id, HttpContext context, UploadRegistry uploads, IAuditTrail audit, ScanService scans, IMetadataStore metadata, TransferMetrics metrics, CancellationToken cancellationToken)
    {
        // The body is optional and may come chunked (no Content-Length), so read whatever is there.
        FileDigest? expected = null;
        string text;
        using (var body = new StreamReader(context.Request.Body))
        {
            text = await body.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        }

        if (!string.IsNullOrWhiteSpace(text))
        {
            CompleteUploadRequest? request;
            try
            {
                request = System.Text.Json.JsonSerializer.Deserialize<CompleteUploadRequest>(text, JsonOptions);
            }
            catch (System.Text.Json.JsonException)
            {
                return Problems.BadRequest("invalid-request", "The body must be JSON: {\"digest\": \"sha256-tree:…\"}.");
            }

            if (request?.Digest is { } digestText)
            {
                if (!FileDigest.TryParse(digestText, out var parsed))
                {
                    return Problems.BadRequest("invalid-request", "digest must be sha256-tree:<64 lowercase hex digits>.");
                }

                expected = parsed;
            }
        }

        var (upload, session) = await uploads.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (session is null)
        {
            return UploadNotFound(id);
        }

        if (AccessResults.Check(context, Permission.Write, session.Path) is { } denied)
        {
            return denied;
        }

        if (upload is null)
        {
            return UploadClosed(id, session.State);
        }

        FileVersion version;
        try
        {
            version = await uploads.CompleteAsync(upload, expected, ReleaseCaller.IdentityOf(context.GetPrincipal()), cancellationToken).ConfigureAwait(false);
        }
        catch (ContainerException e) when (e.Fault == ContainerFault.ChunkMissing)
        {
            var held = upload.Writer.HeldChunks().ToHashSet();
            var missing = Enumerable.Range(0, (int)Math.Min(upload.Geometry.ChunkCount, int.MaxValue)).Where(i => !held.Contains(i)).Take(1000).ToArray();
            return Problems.Conflict("chunks-missing", $"{missing.Length} chunk(s) have not arrived; send them, then complete again.", new Dictionary<string, object?> { ["missing"] = missing });
        }
        catch (ContainerException e) when (e.Fault == ContainerFault.FileDigestMismatch)
        {
            metrics.VerificationFailed(VerificationCheck.FileDigest);
            audit.Append(AuditActors.Event(context, "file.upload", AuditOutcome.Failure, session.Path) with { Size = session.Size, Detail = "file-digest-mismatch" });
            return Problems.Unverified("file-digest-mismatch", "The chunks received hash to a different sha256-tree than expected; nothing was committed.");
        }
        catch (UploadClosedException)
        {
            return UploadClosed(id, UploadState.Completed);
        }

        // On disk before the client hears of it (docs/audit.md, "Durability").
        ProvenanceHeaders.AuditReceived(context, audit, version);
        await audit.AppendDurableAsync(Uploaded(context, version), cancellationToken).ConfigureAwait(false);
        var state = await scans.SubmitAndWaitAsync(version.VersionId, cancellationToken).ConfigureAwait(false);
        return Results.Json(await CommittedAsync(version, state, metadata, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>The <c>file.upload</c> record of a committed version.</summary>
    internal static AuditEvent Uploaded(HttpContext context, FileVersion version) => AuditActors.Event(context, "file.upload", AuditOutcome.Success, version.Path) with
    {
        Size = version.Size,
        Digest = version.Digest,
        Detail = $"version {version.VersionId}",
        CorrelationId = version.Origin?.CorrelationId ?? context.TraceIdentifier,
    };

    private static async Task<IResult> AbortAsync(Guid id, HttpContext context, UploadRegistry uploads, IMetadataStore metadata, IAuditTrail audit, CancellationToken cancellationToken)
    {
        var session = await metadata.GetUploadAsync(id, cancellationToken).ConfigureAwait(false);
        if (session is null)
        {
            return UploadNotFound(id);
        }

        if (AccessResults.Check(context, Permission.Write, session.Path) is { } denied)
        {
            return denied;
        }

        if (session.State != UploadState.Open)
        {
            return UploadClosed(id, session.State);
        }

        await uploads.AbortAsync(session, UploadState.Aborted, cancellationToken).ConfigureAwait(false);
        await audit.AppendDurableAsync(AuditActors.Event(context, "upload.abort", AuditOutcome.Success, session.Path) with { Detail = $"upload {id}" }, cancellationToken).ConfigureAwait(false);
        return Results.NoContent();
    }

    /// <summary>
    /// The JSON shape of a committed version (complete and one-shot PUT), with its release <c>state</c> after the inline scan
    /// wait and, when quarantined, the <c>findings</c> (docs/protocol.md, "Release states in answers").
    /// </summary>
    internal static async Task<object> CommittedAsync(FileVersion version, ReleaseState state, IMetadataStore metadata, CancellationToken cancellationToken, bool unchanged = false)
    {
        IReadOnlyList<VerdictView>? findings = null;
        if (state == ReleaseState.Quarantined)
        {
            findings = [.. (await metadata.ListVerdictsAsync(version.VersionId, cancellationToken).ConfigureAwait(false))
                .Where(v => v.Verdict.Outcome == ScanOutcome.Infected)
                .Select(v => ReleaseDecisions.VerdictView(v.Verdict, v.ScannedAt))];
        }

        return new
        {
            path = version.Path,
            size = version.Size,
            chunkSize = version.ChunkSize,
            digest = version.Digest,
            sha256 = version.Sha256,
            versionId = version.VersionId,
            committedAt = version.CommittedAt,
            state = state.ToName(),
            findings,
            origin = ProvenanceHeaders.View(version.Origin),
            unchanged = unchanged ? true : (bool?)null,
        };
    }

    private static object Describe(UploadSession session, long[] received) => new
    {
        id = session.Id,
        path = session.Path,
        size = session.Size,
        chunkSize = session.ChunkSize,
        chunkCount = new ChunkGeometry(session.Size, session.ChunkSize).ChunkCount,
        verify = session.VerifyMode,
        state = session.State.ToString().ToLowerInvariant(),
        expiresAt = session.ExpiresAt,
        received,
    };

    private static IResult UploadNotFound(Guid id) => Problems.NotFound("upload-not-found", $"No upload {id}.");

    private static IResult UploadClosed(Guid id, UploadState state) =>
        Problems.Conflict("upload-closed", $"Upload {id} is {state.ToString().ToLowerInvariant()}; open a new upload.");

    private static readonly System.Text.Json.JsonSerializerOptions JsonOptions = new(System.Text.Json.JsonSerializerDefaults.Web);

    private sealed record CreateUploadRequest(string? Path, long? Size, int? ChunkSize, string? Verify, string? Digest);

    private sealed record CompleteUploadRequest(string? Digest);
}
