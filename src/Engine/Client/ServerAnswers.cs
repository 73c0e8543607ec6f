using System.Globalization;
using System.Text.Json;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Protocol;
using TurboMft.Engine.Storage;

namespace TurboMft.Engine.Client;

/// <summary>
/// How the client reads a server's answers (docs/protocol.md): the listing of <c>GET /v1/files?prefix=</c>, the
/// <c>GET /v1/info</c> document, the headers of <c>HEAD /v1/files/…</c> and the problem body of an error answer, as pure
/// functions of the bytes and headers received, without HTTP. <see cref="TurboMftClient"/> reads every such answer
/// through them; a pulling replication node (src/Host/Replication/PullReplicator.cs) reads its peer with that client.
/// </summary>
public static class ServerAnswers
{
    private static readonly JsonSerializerOptions Json = ProtocolJson.Options;

    /// <summary>
    /// The files of a <c>GET /v1/files?prefix=</c> answer; a body of <c>null</c> or without <c>files</c> lists none. Every
    /// file listed has a canonical path listed once, a size and chunk size of 0 or more, and a <c>sha256-tree</c> digest or none.
    /// </summary>
    /// <exception cref="TransferException">The body is not such a listing; the message says where.</exception>
    public static IReadOnlyList<RemoteFile> ReadListing(ReadOnlySpan<byte> body)
    {
        FileList? list;
        try
        {
            list = JsonSerializer.Deserialize<FileList>(WithoutBom(body), Json);
        }
        catch (JsonException e)
        {
            throw new TransferException($"The server's file listing is not the JSON of GET /v1/files: {e.Message}", e);
        }

        var files = list?.Files ?? [];
        var paths = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < files.Count; i++)
        {
            var file = files[i] ?? throw Unlisted(i, "is null");
            if (file.Path is null || !RemotePath.TryParse(file.Path, out var canonical, out _) || canonical.Value != file.Path)
            {
                throw Unlisted(i, $"has the path '{file.Path}', which is not a canonical remote path");
            }

            if (!paths.Add(file.Path))
            {
                throw Unlisted(i, $"lists '{file.Path}' a second time");
            }

            if (file.Size < 0 || file.ChunkSize < 0)
            {
                throw Unlisted(i, $"gives '{file.Path}' a negative size or chunk size ({file.Size}, {file.ChunkSize})");
            }

            if (file.Digest is not null && !FileDigest.TryParse(file.Digest, out _))
            {
                throw Unlisted(i, $"gives '{file.Path}' the digest '{file.Digest}', not sha256-tree:<64 lowercase hex digits>");
            }
        }

        return files;
    }

    /// <summary>The <c>GET /v1/info</c> document (version, TLS, QUIC state, site, limits): a JSON object.</summary>
    /// <exception cref="TransferException">The body is not a JSON object.</exception>
    public static JsonElement ReadInfo(ReadOnlySpan<byte> body)
    {
        try
        {
            using var document = JsonDocument.Parse(WithoutBom(body).ToArray());
            return document.RootElement.ValueKind == JsonValueKind.Object
                ? document.RootElement.Clone()
                : throw new TransferException($"The server's GET /v1/info answer is JSON {document.RootElement.ValueKind}, not an object.");
        }
        catch (JsonException e)
        {
            throw new TransferException($"The server's GET /v1/info answer is not JSON: {e.Message}", e);
        }
    }

    /// <summary>
    /// The site a server names in its <c>GET /v1/info</c> document (<paramref name="info"/>), or null when it names none
    /// (no <c>site</c>, null or empty). A site named is a site name (1 to 64 letters, digits, '.', '-' or '_'), as
    /// provenance carries it (docs/protocol.md, "Provenance headers").
    /// </summary>
    /// <exception cref="TransferException">The document is not an object, or its <c>site</c> is not a site name.</exception>
    public static string? SiteOf(JsonElement info)
    {
        if (info.ValueKind != JsonValueKind.Object)
        {
            throw new TransferException($"The server's GET /v1/info answer is JSON {info.ValueKind}, not an object.");
        }

        if (!info.TryGetProperty("site", out var site) || site.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var name = site.ValueKind == JsonValueKind.String ? TextOf(site) : null;
        return name switch
        {
            "" => null,
            not null when Provenance.IsToken(name) => name,
            _ => throw new TransferException(
                $"The server's GET /v1/info names the site {Shorten(site)}, which is not a site name (1 to {Provenance.MaxTokenLength} letters, digits, '.', '-' or '_')."),
        };
    }

    /// <summary>
    /// The current version of <paramref name="path"/> as the headers of a <c>HEAD /v1/files/…</c> answer describe it:
    /// <paramref name="header"/> gives a response header's first value (null when absent); <paramref name="contentLength"/>
    /// and <paramref name="etag"/> are the <c>Content-Length</c> and the <c>ETag</c>'s tag as HTTP parsed them. Provenance
    /// is read as a server reads it on upload (its path canonical), so that it can be forwarded; when it is incomplete or
    /// malformed the state carries none.
    /// </summary>
    /// <exception cref="TransferException">A <c>TMF-Chunk-Size</c> is given but is not a chunk size.</exception>
    public static RemoteFileState ReadFileState(string path, Func<string, string?> header, long? contentLength, string? etag)
    {
        ArgumentNullException.ThrowIfNull(header);
        var digest = FileDigest.TryParse(header(ProtocolHeaders.Digest), out var parsed) ? parsed : (FileDigest?)null;
        var state = header(ProtocolHeaders.ReleaseState) ?? ReleaseStates.Released;
        Provenance.TryRead(header, text => RemotePath.TryParse(text, out var canonical, out _) ? canonical.Value : null, out var provenance, out _);
        var chunkText = header(ProtocolHeaders.ChunkSize);
        var chunkSize = 0;
        if (chunkText is not null && !(int.TryParse(chunkText, NumberStyles.None, CultureInfo.InvariantCulture, out chunkSize) && ChunkGeometry.IsValid(chunkSize)))
        {
            throw new TransferException($"The server gave '{path}' the {ProtocolHeaders.ChunkSize} '{chunkText}', not a power of two from 1 MiB to 64 MiB; it does not speak TurboMft protocol v1.");
        }

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
                if (root.ValueKind == JsonValueKind.Object)
                {
                    // Members that are not strings, or not valid UTF-8, are left out as an unreadable body is.
                    type = TextOf(root, "type");
                    detail = root.TryGetProperty("detail", out _) ? TextOf(root, "detail") : TextOf(root, "title");
                    if (root.TryGetProperty("missing", out var missing) && RawTextOf(missing) is { } chunks)
                    {
                        detail += $" (missing chunks: {chunks})";
                    }
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

    private static TransferException Unlisted(int index, string what) =>
        new($"The server's file listing is not one a client can act on: entry {index} {what}.");

    /// <summary>The string member <paramref name="name"/> of <paramref name="element"/>; null when absent, not a string, or not valid UTF-8.</summary>
    private static string? TextOf(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? TextOf(value) : null;

    /// <summary>A JSON string's text, or null when its bytes are not valid UTF-8 (which <c>JsonDocument</c> checks only here).</summary>
    private static string? TextOf(JsonElement text)
    {
        try
        {
            return text.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>A JSON value's text, or null when its strings are not valid UTF-8.</summary>
    private static string? RawTextOf(JsonElement value)
    {
        try
        {
            return value.GetRawText();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>A JSON value as a message names it: its text, cut to 80 characters, or its kind when it is not valid UTF-8.</summary>
    private static string Shorten(JsonElement value) =>
        RawTextOf(value) is { } text ? (text.Length > 80 ? text[..80] + "…" : text) : $"(a {value.ValueKind} that is not valid UTF-8)";

    /// <summary>The body without a leading UTF-8 byte order mark, which the stream readers these replace skipped too.</summary>
    private static ReadOnlySpan<byte> WithoutBom(ReadOnlySpan<byte> body) =>
        body.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? body[3..] : body;
}
