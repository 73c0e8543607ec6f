using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using TurboMft.Engine.Chunks;
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

    private static async Task<IResult> CreateAsync(HttpContext context, FileIngest ingest, CancellationToken cancellationToken)
    {
        OpenUploadRequest? request;
        try
        {
            request = await context.Request.ReadFromJsonAsync<OpenUploadRequest>(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
        {
            request = null;
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

        if (ReadTerms(context, request, out var terms) is { } invalid)
        {
            return invalid;
        }

        var upload = await ingest.OpenUploadAsync(path, terms.Size, terms.ChunkSize, terms.Verify, terms.Expected, terms.Origin, ReleaseCallers.For(context), cancellationToken).ConfigureAwait(false);
        return Results.Created($"/v1/uploads/{upload.Session.Id}", Describe(upload.Session, []));
    }

    /// <summary>The terms of a session to open (size, chunk size, verify mode, the digest it must have, provenance), or the 400 that refuses them.</summary>
    private static IResult? ReadTerms(HttpContext context, OpenUploadRequest request, out OpenTerms terms)
    {
        terms = default;
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

        terms = new OpenTerms(request.Size.Value, chunkSize, verify, expected, origin);
        return null;
    }

    private static async Task<IResult> StatusAsync(Guid id, HttpContext context, FileIngest ingest, IMetadataStore metadata, CancellationToken cancellationToken)
    {
        var (upload, session) = await ingest.GetUploadAsync(id, cancellationToken).ConfigureAwait(false);
        if (Refuse(context, id, session, mustBeOpen: false) is { } refused)
        {
            return refused;
        }

        // The stored row has the current expiry (chunks move it forward); the open writer has the chunks held.
        var stored = await metadata.GetUploadAsync(id, cancellationToken).ConfigureAwait(false) ?? session!;
        return Results.Json(Describe(stored, upload is null ? [] : await ingest.HeldChunksAsync(upload, cancellationToken).ConfigureAwait(false)));
    }

    private static async Task<IResult> PutChunkAsync(
        Guid id, long index, HttpContext context, FileIngest ingest, ServerBuffers buffers, TransferMetrics metrics, CancellationToken cancellationToken)
    {
        var (upload, closed) = await FindOpenAsync(id, context, ingest, cancellationToken).ConfigureAwait(false);
        if (upload is null)
        {
            return closed!;
        }

        if (ChunkRequest.TryParse(context.Request, upload.Session, upload.Geometry, index, out var chunk) is { } invalid)
        {
            return invalid;
        }

        // An LZ4 body needs a second buffer to decode into: both are taken at once (ChunkBufferPool.RentPairAsync).
        var pool = buffers.For(upload.Session.ChunkSize);
        var (received, decoded) = chunk.Encoding == ChunkEncoding.Lz4
            ? await pool.RentPairAsync(cancellationToken).ConfigureAwait(false)
            : (await pool.RentAsync(cancellationToken).ConfigureAwait(false), null);
        var started = Stopwatch.GetTimestamp();
        metrics.BytesHeld(TransferDirection.Upload, chunk.Length);
        try
        {
            var body = received.Memory.Slice(ContainerFormat.RecordHeaderSize, chunk.Length);
            var read = await RequestBody.ReadAtLeastAsync(context.Request, body, body.Length, cancellationToken).ConfigureAwait(false);
            if (read != body.Length)
            {
                metrics.VerificationFailed(VerificationCheck.ChunkBody);
                return Problems.BadRequest("chunk-too-large", $"The body ended after {read} of {chunk.Length} bytes.");
            }

            var entry = await ingest.ReceiveChunkAsync(upload, index, received, chunk.Length, chunk.Encoding, decoded, chunk.Claims, started, cancellationToken).ConfigureAwait(false);
            return Results.Json(new StoredChunk(index, entry.StoredLength, chunk.Encoding == ChunkEncoding.Lz4 ? ProtocolHeaders.Lz4BlockCoding : "identity"));
        }
        catch (IngestException refused)
        {
            return IngestProblems.For(refused);
        }
        finally
        {
            metrics.BytesReleased(TransferDirection.Upload, chunk.Length);
            pool.Return(received);
            if (decoded is not null)
            {
                pool.Return(decoded);
            }
        }
    }

    private static async Task<IResult> CompleteAsync(Guid id, HttpContext context, FileIngest ingest, IMetadataStore metadata, CancellationToken cancellationToken)
    {
        var (expected, invalid) = await ReadExpectedDigestAsync(context, cancellationToken).ConfigureAwait(false);
        if (invalid is not null)
        {
            return invalid;
        }

        var (upload, closed) = await FindOpenAsync(id, context, ingest, cancellationToken).ConfigureAwait(false);
        if (upload is null)
        {
            return closed!;
        }

        try
        {
            var committed = await ingest.CompleteUploadAsync(upload, expected, ReleaseCallers.For(context), cancellationToken).ConfigureAwait(false);
            return Results.Json(await CommitAnswers.DescribeAsync(committed.Version, committed.State, metadata, cancellationToken).ConfigureAwait(false));
        }
        catch (IngestException refused)
        {
            return IngestProblems.For(refused);
        }
    }

    private static async Task<IResult> AbortAsync(Guid id, HttpContext context, FileIngest ingest, IMetadataStore metadata, IAuditTrail audit, CancellationToken cancellationToken)
    {
        var session = await metadata.GetUploadAsync(id, cancellationToken).ConfigureAwait(false);
        if (Refuse(context, id, session, mustBeOpen: true) is { } refused)
        {
            return refused;
        }

        await ingest.AbortUploadAsync(session!, cancellationToken).ConfigureAwait(false);
        await audit.AppendDurableAsync(AuditActors.Event(context, "upload.abort", AuditOutcome.Success, session!.Path) with { Detail = $"upload {id}" }, cancellationToken).ConfigureAwait(false);
        return Results.NoContent();
    }

    /// <summary>The <c>sha256-tree</c> a completion's optional body names, or the 400 that refuses the body.</summary>
    private static async Task<(FileDigest? Expected, IResult? Invalid)> ReadExpectedDigestAsync(HttpContext context, CancellationToken cancellationToken)
    {
        // The body is optional, of any content type, and may come chunked (no Content-Length): read what is there, up to the limit.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxCompleteBodyBytes;
        }

        var tooLarge = Problems.BadRequest("invalid-request", $"The body is larger than {MaxCompleteBodyBytes} bytes; it holds at most {{\"digest\": \"sha256-tree:…\"}}.");
        if (context.Request.ContentLength > MaxCompleteBodyBytes)
        {
            return (null, tooLarge);
        }

        var body = new byte[MaxCompleteBodyBytes + 1];
        var length = 0;
        try
        {
            int read;
            while (length < body.Length && (read = await context.Request.Body.ReadAsync(body.AsMemory(length), cancellationToken).ConfigureAwait(false)) > 0)
            {
                length += read;
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, tooLarge);
        }

        if (length > MaxCompleteBodyBytes)
        {
            return (null, tooLarge);
        }

        var text = body.AsSpan(0, length);
        if (text.StartsWith("\uFEFF"u8))
        {
            text = text[3..];
        }

        if (text.Trim(" \t\r\n"u8).IsEmpty)
        {
            return (null, null);
        }

        CompleteUploadRequest? request;
        try
        {
            request = System.Text.Json.JsonSerializer.Deserialize<CompleteUploadRequest>(text, JsonOptions);
        }
        catch (System.Text.Json.JsonException)
        {
            return (null, Problems.BadRequest("invalid-request", "The body must be JSON: {\"digest\": \"sha256-tree:…\"}."));
        }

        if (request?.Digest is not { } digestText)
        {
            return (null, null);
        }

        return FileDigest.TryParse(digestText, out var parsed)
            ? (parsed, null)
            : (null, Problems.BadRequest("invalid-request", "digest must be sha256-tree:<64 lowercase hex digits>."));
    }

    private static UploadStatus Describe(UploadSession session, long[] received) => new(
        session.Id,
        session.Path,
        session.Size,
        session.ChunkSize,
        new ChunkGeometry(session.Size, session.ChunkSize).ChunkCount,
        session.VerifyMode,
        session.State.ToString().ToLowerInvariant(),
        session.ExpiresAt,
        received);

    /// <summary>The open upload <paramref name="id"/>, or the answer that refuses it: 404 unknown, 403 no write on its path, 409 closed.</summary>
    private static async Task<(OpenUpload? Upload, IResult? Refused)> FindOpenAsync(Guid id, HttpContext context, FileIngest ingest, CancellationToken cancellationToken)
    {
        var (upload, session) = await ingest.GetUploadAsync(id, cancellationToken).ConfigureAwait(false);
        return Refuse(context, id, session, mustBeOpen: true) is { } refused ? (null, refused) : upload is null ? (null, UploadClosed(id, session!.State)) : (upload, null);
    }

    /// <summary>The answer that refuses <paramref name="session"/> to this caller, or null: 404 unknown, 403 no write on its path, 409 closed when it must be open.</summary>
    private static IResult? Refuse(HttpContext context, Guid id, UploadSession? session, bool mustBeOpen)
    {
        if (session is null)
        {
            return UploadNotFound(id);
        }

        if (AccessResults.Check(context, Permission.Write, session.Path) is { } denied)
        {
            return denied;
        }

        return mustBeOpen && session.State != UploadState.Open ? UploadClosed(id, session.State) : null;
    }

    private static IResult UploadNotFound(Guid id) => Problems.NotFound("upload-not-found", $"No upload {id}.");

    private static IResult UploadClosed(Guid id, UploadState state) =>
        Problems.Conflict("upload-closed", $"Upload {id} is {state.ToString().ToLowerInvariant()}; open a new upload.");

    private readonly record struct OpenTerms(long Size, int ChunkSize, string Verify, FileDigest? Expected, Provenance? Origin);

    /// <summary>Largest body of <c>POST …/complete</c> read: it holds one digest.</summary>
    private const int MaxCompleteBodyBytes = 4096;

    private static readonly System.Text.Json.JsonSerializerOptions JsonOptions = new(System.Text.Json.JsonSerializerDefaults.Web);
}
