using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TurboMft.Engine.Container;
using TurboMft.Engine.Crypto;
using TurboMft.Engine.Integrity;
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

/// <summary>One-shot upload, download with Range, delete and listing: <c>/v1/files</c> (docs/protocol.md, "One-shot files").</summary>
public static class FileEndpoints
{
    /// <summary>Bytes a download writes to the response at a time (Kestrel's default response buffer limit).</summary>
    private const int ResponseSlice = 64 * 1024;

    private const string Prefix = "/v1/files/";

    /// <summary>Maps the endpoints.</summary>
    public static IEndpointRouteBuilder MapFileEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapPut("/v1/files/{**path}", PutAsync).WithSummary("One-shot streaming upload of any size; Repr-Digest/Content-Digest sha-256 verified if sent.")
            .RequirePermission(Permission.Write, PathSource.Route, Prefix);
        routes.MapMethods("/v1/files/{**path}", [HttpMethods.Get, HttpMethods.Head], GetAsync).WithSummary("Download the current version; one Range; TMF-Digest, Repr-Digest when known.")
            .RequirePermission(Permission.Read, PathSource.Route, Prefix);
        routes.MapDelete("/v1/files/{**path}", DeleteAsync).WithSummary("Delete the current version.")
            .RequirePermission(Permission.Delete, PathSource.Route, Prefix);
        routes.MapGet("/v1/files", ListAsync).WithSummary("List current versions under a prefix (segment-wise), limited to the areas the caller may list.")
            .RequirePermission(Permission.List, PathSource.Deferred);
        return routes;
    }

    private static async Task<IResult> PutAsync(HttpContext context, FileIngest ingest, IMetadataStore metadata, CancellationToken cancellationToken)
    {
        if (!RequestPaths.TryGet(context, Prefix, out var remote, out var pathError))
        {
            return Problems.BadPath(pathError);
        }

        var request = context.Request;
        var expected = new byte[SHA256.HashSizeInBytes];
        var hasDigest = DigestFields.TryGetSha256(request.Headers[ProtocolHeaders.ReprDigest], expected)
            || DigestFields.TryGetSha256(request.Headers[ProtocolHeaders.ContentDigest], expected);
        if (!ProvenanceHeaders.TryRead(context, out var origin, out var originError))
        {
            return originError;
        }

        // Answered before the body is read, so a sender using Expect: 100-continue sends no byte of a replica held already.
        var caller = ReleaseCallers.For(context);
        if (origin is not null && await ingest.HeldReplicaAsync(remote, origin, caller, cancellationToken).ConfigureAwait(false) is { } held)
        {
            return Results.Ok(await CommitAnswers.DescribeAsync(held, held.State, metadata, cancellationToken, unchanged: true).ConfigureAwait(false));
        }

        try
        {
            var committed = await ingest.PutAsync(
                remote, request.ContentLength, hasDigest ? expected : null, origin, caller, (buffer, minimum, token) => RequestBody.ReadAtLeastAsync(request, buffer, minimum, token), cancellationToken).ConfigureAwait(false);
            return Results.Created($"/v1/files{remote.Value}", await CommitAnswers.DescribeAsync(committed.Version, committed.State, metadata, cancellationToken).ConfigureAwait(false));
        }
        catch (IngestException refused)
        {
            return IngestProblems.For(refused);
        }
        catch (IOException e) when (e is DiskFullException || e.HResult == 28)
        {
            return IngestProblems.DiskFull("The server's disk is full; nothing was committed.");
        }
    }

    private static async Task<IResult> GetAsync(
        HttpContext context, LocalObjectStore store, KeyRing keys, ServerBuffers buffers, IMetadataStore metadata, IAuditTrail audit, TransferMetrics metrics, CancellationToken cancellationToken)
    {
        if (!RequestPaths.TryGet(context, Prefix, out var remote, out var pathError))
        {
            return Problems.BadPath(pathError);
        }

        var version = await metadata.GetCurrentVersionAsync(remote.Value, cancellationToken).ConfigureAwait(false);
        if (version is null)
        {
            return FileNotFound(remote);
        }

        // The newest version decides: while it is held, the path serves nothing (docs/content-security.md, "Release states").
        if (version.State != ReleaseState.Released)
        {
            if (!HttpMethods.IsHead(context.Request.Method))
            {
                audit.Append(AuditActors.Event(context, "file.download", AuditOutcome.Denied, version.Path) with
                {
                    Size = version.Size,
                    Digest = version.Digest,
                    Detail = $"version {version.VersionId} is {version.State.ToName()}",
                });
                metrics.DownloadEnded(DownloadOutcome.Rejected, 0);
            }

            return NotReleased(context, version);
        }

        var response = context.Response;
        var headers = response.Headers;
        headers[ProtocolHeaders.ReleaseState] = ReleaseStateNames.Released;
        headers[ProtocolHeaders.Digest] = version.Digest;
        headers[ProtocolHeaders.ChunkSize] = version.ChunkSize.ToString(System.Globalization.CultureInfo.InvariantCulture);
        headers.ETag = $"\"{version.VersionId:N}\"";
        headers.AcceptRanges = "bytes";
        headers.XContentTypeOptions = "nosniff";
        headers.ContentDisposition = $"attachment; filename*=UTF-8''{Uri.EscapeDataString(remote.Name)}";
        if (version.Sha256 is { } sha && sha.StartsWith("sha256:", StringComparison.Ordinal))
        {
            headers[ProtocolHeaders.ReprDigest] = DigestFields.FormatSha256(Convert.FromHexString(sha["sha256:".Length..]));
        }

        ProvenanceHeaders.Write(headers, version.Origin);

        long start = 0, end = version.Size - 1;
        var partial = false;
        if (context.Request.Headers.Range.ToString() is { Length: > 0 } range)
        {
            if (!TryParseRange(range, version.Size, out start, out end))
            {
                headers.ContentRange = $"bytes */{version.Size}";
                return Problems.Result(StatusCodes.Status416RangeNotSatisfiable, "range-not-satisfiable", "Range not satisfiable", $"The file has {version.Size} bytes; only one range bytes=a-b inside it is served.");
            }

            partial = true;
            headers.ContentRange = $"bytes {start}-{end}/{version.Size}";
        }

        if (!HttpMethods.IsHead(context.Request.Method))
        {
            audit.Append(AuditActors.Event(context, "file.download", AuditOutcome.Success, version.Path) with
            {
                Size = version.Size,
                Digest = version.Digest,
                Detail = partial ? $"bytes {start}-{end}" : null,
            });
        }

        response.StatusCode = partial ? StatusCodes.Status206PartialContent : StatusCodes.Status200OK;
        response.ContentType = "application/octet-stream";
        response.ContentLength = version.Size == 0 ? 0 : end - start + 1;
        if (HttpMethods.IsHead(context.Request.Method))
        {
            return Results.Empty;
        }

        if (version.Size == 0)
        {
            metrics.DownloadEnded(DownloadOutcome.Completed, 0);
            return Results.Empty;
        }

        using var reader = ContainerReader.Open(store.GetObjectPath(version.ObjectKey), keys.Resolver());
        using var opener = reader.CreateOpener();
        var pool = buffers.For(version.ChunkSize);
        var (record, plain) = await pool.RentPairAsync(cancellationToken).ConfigureAwait(false);
        long sent = 0;
        var completed = false;
        try
        {
            var geometry = reader.Geometry;
            var first = start / geometry.ChunkSize;
            if (start == geometry.OffsetOf(first) && end - start + 1 == geometry.LengthOf(first))
            {
                // Exactly one whole chunk: its stored CRC-64 and SHA-256 travel with it, so that a client verifies it
                // without hashing it again (docs/protocol.md, "Downloads").
                headers[ProtocolHeaders.ChunkCrc64] = ChunkCrc.Format(reader.GetEntry(first).PlainCrc64);
                headers[ProtocolHeaders.ContentDigest] = DigestFields.FormatSha256(reader.GetChunkDigest(first));
            }

            for (var index = start / geometry.ChunkSize; index <= end / geometry.ChunkSize; index++)
            {
                var started = Stopwatch.GetTimestamp();
                var length = reader.ReadChunk(opener, index, record, plain.Span);
                var chunkStart = geometry.OffsetOf(index);
                var from = (int)Math.Max(0, start - chunkStart);
                var to = (int)Math.Min(length, end - chunkStart + 1);
                metrics.BytesHeld(TransferDirection.Download, to - from);
                try
                {
                    // In slices: Kestrel buffers a whole write before applying backpressure, so one 4 MiB write would park a
                    // whole chunk per slow reader. Each slice is one pipe segment (GetSpan), not sixteen 4 KiB pool blocks.
                    var writer = response.BodyWriter;
                    for (var at = from; at < to; at += ResponseSlice)
                    {
                        var count = Math.Min(to - at, ResponseSlice);
                        plain.Span.Slice(at, count).CopyTo(writer.GetSpan(count));
                        writer.Advance(count);
                        var flushed = await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
                        if (flushed.IsCanceled || flushed.IsCompleted)
                        {
                            // The connection is gone: stop reading and decrypting for nobody; counted as a failed download.
                            return Results.Empty;
                        }
                    }
                }
                finally
                {
                    metrics.BytesReleased(TransferDirection.Download, to - from);
                }

                sent += to - from;
                metrics.ChunkHandled(TransferDirection.Download, started);
            }

            completed = true;
        }
        finally
        {
            metrics.DownloadEnded(completed ? DownloadOutcome.Completed : DownloadOutcome.Failed, sent);
            pool.Return(record);
            pool.Return(plain);
        }

        return Results.Empty;
    }

    private static async Task<IResult> DeleteAsync(
        HttpContext context, LocalObjectStore store, IMetadataStore metadata, IAuditTrail audit, IEnumerable<IVersionObserver> observers, CancellationToken cancellationToken)
    {
        if (!RequestPaths.TryGet(context, Prefix, out var remote, out var pathError))
        {
            return Problems.BadPath(pathError);
        }

        // A quarantined file is evidence: only an admin deletes it, through /v1/quarantine.
        if (await metadata.GetCurrentVersionAsync(remote.Value, cancellationToken).ConfigureAwait(false) is { State: ReleaseState.Quarantined } quarantined)
        {
            return NotReleased(context, quarantined);
        }

        var removed = await metadata.DeleteCurrentVersionAsync(remote.Value, cancellationToken).ConfigureAwait(false);
        if (removed is null)
        {
            return FileNotFound(remote);
        }

        store.Delete(removed.ObjectKey);
        await audit.AppendDurableAsync(AuditActors.Event(context, "file.delete", AuditOutcome.Success, removed.Path) with { Size = removed.Size, Digest = removed.Digest }, cancellationToken).ConfigureAwait(false);
        foreach (var observer in observers)
        {
            await observer.DeletedAsync(removed, CancellationToken.None).ConfigureAwait(false);
        }

        return Results.NoContent();
    }

    private static async Task<IResult> ListAsync(string? prefix, HttpContext context, IMetadataStore metadata, IAuditTrail audit, CancellationToken cancellationToken)
    {
        const int Limit = 100_000;
        var root = RemotePath.Root;
        if (!string.IsNullOrEmpty(prefix) && prefix != "/")
        {
            if (!RemotePath.TryParse(prefix, out var parsed, out var error))
            {
                return Problems.BadPath(error!);
            }

            root = parsed;
        }

        // Whole prefix listable, or only some areas below it (listed one by one), or nothing: 403.
        var areas = context.GetPrincipal().Grants.AreasWith(Permission.List);
        IReadOnlyList<FileVersion> versions;
        if (areas.Any(root.IsUnder))
        {
            versions = await metadata.ListCurrentVersionsAsync(root.Value, Limit, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var below = areas.Where(a => a.IsUnder(root)).ToList();
            below.RemoveAll(a => below.Any(other => other != a && a.IsUnder(other)));
            if (below.Count == 0)
            {
                return AccessResults.Deny(context, root, Permission.List);
            }

            var found = new List<FileVersion>();
            foreach (var area in below.OrderBy(a => a.Value, StringComparer.Ordinal))
            {
                found.AddRange(await metadata.ListCurrentVersionsAsync(area.Value, Limit, cancellationToken).ConfigureAwait(false));
            }

            versions = [.. found.OrderBy(v => v.Path, StringComparer.Ordinal).Take(Limit)];
        }

        // Held versions are listed only to those who decide about them: approvers and admins of their area.
        var grants = context.GetPrincipal().Grants;
        versions = [.. versions.Where(v => v.State == ReleaseState.Released || SeesHeld(grants, v.Path))];
        audit.Append(AuditActors.Event(context, "file.list", AuditOutcome.Success, root.Value) with { Detail = $"{versions.Count} files" });
        return Results.Json(new FileList([.. versions.Select(v => new RemoteFile(v.Path, v.Size, v.Digest, v.ChunkSize, v.CommittedAt, v.State.ToName(), v.Origin))]));
    }

    private static bool SeesHeld(AccessGrants grants, string path)
    {
        var remote = RemotePath.Parse(path);
        return grants.Allows(Permission.Approve, remote) || grants.Allows(Permission.Admin, remote);
    }

    /// <summary>
    /// The 409 for a path whose current version is not released: <c>file-pending</c> (with <c>Retry-After</c>),
    /// <c>file-quarantined</c> or <c>file-rejected</c>, with the <c>state</c> in the body and in <c>TMF-Release-State</c>.
    /// </summary>
    internal static IResult NotReleased(HttpContext context, FileVersion version)
    {
        var state = version.State.ToName();
        var headers = context.Response.Headers;
        headers[ProtocolHeaders.ReleaseState] = state;

        // The digest of a held version lets a replicating peer see that it already sent this file (docs/replication.md).
        headers[ProtocolHeaders.Digest] = version.Digest;
        var (type, detail) = version.State switch
        {
            ReleaseState.Quarantined => ("file-quarantined",
                $"A scanner found something in the current version of {version.Path}: it is quarantined and downloadable by nobody until an administrator releases or deletes it."),
            ReleaseState.Rejected => ("file-rejected",
                $"The current version of {version.Path} was not approved (rejected, or its approval expired); upload it again to ask anew."),
            ReleaseState.PendingApproval => ("file-pending",
                $"The current version of {version.Path} was scanned clean and waits for approval by a second person with approve on its area."),
            _ => ("file-pending", $"The current version of {version.Path} is being scanned (or held while a scanner is unavailable); try again shortly."),
        };
        if (version.State is ReleaseState.PendingScan or ReleaseState.PendingApproval)
        {
            headers.RetryAfter = version.State == ReleaseState.PendingScan ? "5" : "60";
        }

        return Problems.Conflict(type, detail, new Dictionary<string, object?> { ["state"] = state, ["versionId"] = version.VersionId });
    }

    /// <summary>Parses one <c>bytes=a-b</c>, <c>bytes=a-</c> or <c>bytes=-n</c> range inside a file of <paramref name="size"/> bytes.</summary>
    internal static bool TryParseRange(string header, long size, out long start, out long end)
    {
        start = end = 0;
        if (!header.StartsWith("bytes=", StringComparison.Ordinal) || header.Contains(',', StringComparison.Ordinal) || size == 0)
        {
            return false;
        }

        var spec = header["bytes=".Length..].Trim();
        var dash = spec.IndexOf('-', StringComparison.Ordinal);
        if (dash < 0)
        {
            return false;
        }

        var first = spec[..dash];
        var last = spec[(dash + 1)..];
        if (first.Length == 0)
        {
            if (!long.TryParse(last, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var suffix) || suffix <= 0)
            {
                return false;
            }

            start = Math.Max(0, size - suffix);
            end = size - 1;
            return true;
        }

        if (!long.TryParse(first, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out start) || start >= size)
        {
            return false;
        }

        if (last.Length == 0)
        {
            end = size - 1;
            return true;
        }

        if (!long.TryParse(last, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out end) || end < start)
        {
            return false;
        }

        end = Math.Min(end, size - 1);
        return true;
    }

    private static IResult FileNotFound(RemotePath path) => Problems.NotFound("file-not-found", $"No file at {path}.");
}
