using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Native;
using TurboMft.Engine.Protocol;
using TurboMft.Engine.Storage;
using TurboMft.Host.Access;
using TurboMft.Host.Audit;
using TurboMft.Host.Delivery;
using TurboMft.Host.Ingest;
using TurboMft.Host.Metadata;
using TurboMft.Host.Release;

namespace TurboMft.Host.Http;

/// <summary>One-shot upload, download with Range, delete and listing: <c>/v1/files</c> (docs/protocol.md, "One-shot files").</summary>
public static class FileEndpoints
{
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

    private static async Task<IResult> GetAsync(HttpContext context, FileDelivery delivery, CancellationToken cancellationToken)
    {
        if (!RequestPaths.TryGet(context, Prefix, out var remote, out var pathError))
        {
            return Problems.BadPath(pathError);
        }

        var head = HttpMethods.IsHead(context.Request.Method);
        using var download = await delivery.PlanAsync(
            remote.Value, context.Request.Headers.Range.ToString(), head, AuditActors.For(context), context.TraceIdentifier, cancellationToken).ConfigureAwait(false);
        if (download.Version is not { } version)
        {
            return FileNotFound(remote);
        }

        if (download.Verdict == DownloadVerdict.NotReleased)
        {
            return NotReleased(context, version);
        }

        var response = context.Response;
        WriteVersionHeaders(response.Headers, version, remote);
        if (download.Verdict == DownloadVerdict.RangeNotSatisfiable)
        {
            response.Headers.ContentRange = $"bytes */{version.Size}";
            return Problems.Result(StatusCodes.Status416RangeNotSatisfiable, "range-not-satisfiable", "Range not satisfiable", $"The file has {version.Size} bytes; only one range bytes=a-b inside it is served.");
        }

        if (download.Partial)
        {
            response.Headers.ContentRange = $"bytes {download.Start}-{download.End}/{version.Size}";
        }

        response.StatusCode = download.Partial ? StatusCodes.Status206PartialContent : StatusCodes.Status200OK;
        response.ContentType = "application/octet-stream";
        response.ContentLength = version.Size == 0 ? 0 : download.End - download.Start + 1;
        if (head)
        {
            return Results.Empty;
        }

        if (download.WholeChunk is { } chunk)
        {
            // Exactly one whole chunk: its stored CRC-64 and SHA-256 travel with it (docs/protocol.md, "Downloads").
            response.Headers[ProtocolHeaders.ChunkCrc64] = ChunkCrc.Format(chunk.Crc64);
            response.Headers[ProtocolHeaders.ContentDigest] = DigestFields.FormatSha256(chunk.Sha256);
        }

        await delivery.SendAsync(download, response.BodyWriter, cancellationToken).ConfigureAwait(false);
        return Results.Empty;
    }

    /// <summary>The headers of a served version, in the order they have always been written.</summary>
    private static void WriteVersionHeaders(IHeaderDictionary headers, FileVersion version, RemotePath remote)
    {
        headers[ProtocolHeaders.ReleaseState] = ReleaseStateNames.Released;
        headers[ProtocolHeaders.Digest] = version.Digest;
        headers[ProtocolHeaders.ChunkSize] = version.ChunkSize.ToString(System.Globalization.CultureInfo.InvariantCulture);
        headers.ETag = $"\"{version.VersionId:N}\"";
        headers.AcceptRanges = "bytes";
        headers.XContentTypeOptions = "nosniff";
        headers.ContentDisposition = $"attachment; filename*=UTF-8''{Uri.EscapeDataString(remote.Name)}";
        if (WholeFileSha256.Bytes(version.Sha256) is { } sha)
        {
            headers[ProtocolHeaders.ReprDigest] = DigestFields.FormatSha256(sha);
        }

        ProvenanceHeaders.Write(headers, version.Origin);
    }

    private static async Task<IResult> DeleteAsync(
        HttpContext context, IObjectStore store, IMetadataStore metadata, IAuditTrail audit, IEnumerable<IVersionObserver> observers, CancellationToken cancellationToken)
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

    private static IResult FileNotFound(RemotePath path) => Problems.NotFound("file-not-found", $"No file at {path}.");
}
