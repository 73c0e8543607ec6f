using System.Globalization;
using System.Text.Json;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Protocol;

namespace TurboMft.Engine.Client;

/// <summary>
/// How the client reads a server's answers (docs/protocol.md): the listing of <c>GET /v1/files?prefix=</c>, the
/// <c>GET /v1/info</c> document, the headers of <c>HEAD /v1/files/…</c> and the problem body of an error answer, as pure
/// functions of the bytes and headers received, without HTTP. <see cref="TurboMftClient"/> reads every such answer
/// through them; a pulling replication node (src/Host/Replication/PullReplicator.cs) reads its peer with that client.
/// </summary>
public static class ServerAnswers
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The files of a <c>GET /v1/files?prefix=</c> answer; a body of <c>null</c> or without <c>files</c> lists none.</summary>
    public static IReadOnlyList<RemoteFile> ReadListing(ReadOnlySpan<byte> body)
    {
        var list = JsonSerializer.Deserialize<ListResponse>(WithoutBom(body), Json);
        return (IReadOnlyList<RemoteFile>)(list?.Files ?? []);
    }

    /// <summary>The <c>GET /v1/info</c> document (version, TLS, QUIC state, site, limits).</summary>
    public static JsonElement ReadInfo(ReadOnlySpan<byte> body)
    {
        using var document = JsonDocument.Parse(WithoutBom(body).ToArray());
        return document.RootElement.Clone();
    }

    /// <summary>The site a server names in its <c>GET /v1/info</c> document (<paramref name="info"/>), or null when it names none.</summary>
    public static string? SiteOf(JsonElement info) =>
        info.TryGetProperty("site", out var s) && s.GetString() is { Length: > 0 } named ? named : null;

    /// <summary>
    /// The current version of a path as the headers of a <c>HEAD /v1/files/…</c> answer describe it: <paramref name="header"/>
    /// gives a response header's first value (null when absent); <paramref name="contentLength"/> and <paramref name="etag"/>
    /// are the <c>Content-Length</c> and the <c>ETag</c>'s tag as HTTP parsed them.
    /// </summary>
    public static RemoteFileState ReadFileState(Func<string, string?> header, long? contentLength, string? etag)
    {
        ArgumentNullException.ThrowIfNull(header);
        var digest = FileDigest.TryParse(header(ProtocolHeaders.Digest), out var parsed) ? parsed : (FileDigest?)null;
        var state = header(ProtocolHeaders.ReleaseState) ?? ReleaseStates.Released;
        Provenance.TryRead(header, path => path, out var provenance, out _);
        var chunkSize = int.TryParse(header(ProtocolHeaders.ChunkSize), NumberStyles.None, CultureInfo.InvariantCulture, out var cs) ? cs : 0;
        return new RemoteFileState(contentLength ?? 0, digest, state, provenance, chunkSize, etag);
    }

    /// <summary>
    /// The error a server's error answer stands for: its status, its problem type and detail when the body is an RFC 9457
    /// problem (<paramref name="mediaType"/> <c>application/problem+json</c> or <c>application/json</c>), and for a
    /// <c>409</c> of a file that is not released its <paramref name="releaseState"/> (<c>TMF-Release-State</c>).
    /// <paramref name="what"/> names the request (<c>GET /v1/files/a</c>). An unreadable body still leaves the status to report.
    /// </summary>
    public static ServerProblemException ReadProblem(int status, string what, string? mediaType, ReadOnlySpan<byte> body, string? releaseState)
    {
        string? type = null;
        string? detail = null;
        try
        {
            if (mediaType is "application/problem+json" or "application/json")
            {
                using var document = JsonDocument.Parse(WithoutBom(body).ToArray());
                var root = document.RootElement;
                type = root.TryGetProperty("type", out var t) ? t.GetString() : null;
                detail = root.TryGetProperty("detail", out var d) ? d.GetString() : root.TryGetProperty("title", out var ti) ? ti.GetString() : null;
                if (root.TryGetProperty("missing", out var missing))
                {
                    detail += $" (missing chunks: {missing.GetRawText()})";
                }
            }
        }
        catch (JsonException)
        {
            // An unreadable error body still leaves the status to report.
        }

        if (type?.StartsWith(ServerProblemException.TypePrefix, StringComparison.Ordinal) == true)
        {
            type = type[ServerProblemException.TypePrefix.Length..];
        }

        // A download of a file that is not released: HEAD has no body, so the state header says why.
        if (status == 409 && releaseState is not null)
        {
            type ??= releaseState switch
            {
                ReleaseStates.Quarantined => "file-quarantined",
                ReleaseStates.Rejected => "file-rejected",
                _ => "file-pending",
            };
            detail ??= releaseState switch
            {
                ReleaseStates.Quarantined => "the file is quarantined: a scanner found something; an administrator decides",
                ReleaseStates.Rejected => "the file's approval was refused or expired",
                ReleaseStates.PendingApproval => "the file waits for approval by a second person",
                _ => "the file is being scanned; try again shortly",
            };
        }

        var hint = status switch
        {
            401 => " Check the token (--token-file or TURBOMFT_TOKEN).",
            429 when type == ServerProblemException.TooManyFailuresType => " The credential failed too often from here; check the token (--token-file or TURBOMFT_TOKEN), then try again.",
            403 => " The token lacks the permission for this path.",
            507 => " Free space on the server, then run the same command again.",
            _ => string.Empty,
        };
        return new ServerProblemException(status, type, $"{what}: the server answered {status}{(type is null ? string.Empty : " " + type)}{(detail is null ? string.Empty : ": " + detail.TrimEnd('.'))}.{hint}")
        {
            ReleaseState = status == 409 ? releaseState : null,
        };
    }

    /// <summary>The body without a leading UTF-8 byte order mark, which the stream readers these replace skipped too.</summary>
    private static ReadOnlySpan<byte> WithoutBom(ReadOnlySpan<byte> body) =>
        body.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? body[3..] : body;
}
