using Microsoft.AspNetCore.Http;
using TurboMft.Engine.Protocol;
using TurboMft.Engine.Storage;
using TurboMft.Host.Audit;
using TurboMft.Host.Metadata;

namespace TurboMft.Host.Http;

/// <summary>
/// Provenance on the wire (docs/protocol.md, "Provenance headers"): read from an authenticated upload (every route but
/// /healthz is), written on downloads and listings, and the receiving side's <c>replication.received</c> audit record.
/// </summary>
internal static class ProvenanceHeaders
{
    /// <summary>Reads the request's provenance headers; false with the 400 answer when they are incomplete or malformed.</summary>
    public static bool TryRead(HttpContext context, out Provenance? origin, out IResult error)
    {
        var headers = context.Request.Headers;
        if (Provenance.TryRead(name => headers.TryGetValue(name, out var value) && value.Count == 1 ? value[0] : headers.ContainsKey(name) ? string.Empty : null,
            text => RemotePath.TryParse(text, out var path, out _) ? path.Value : null,
            out origin,
            out var reason))
        {
            error = Results.Empty;
            return true;
        }

        error = Problems.BadRequest("invalid-provenance", reason!);
        return false;
    }

    /// <summary>Adds a version's provenance to a download's headers.</summary>
    public static void Write(IHeaderDictionary headers, Provenance? origin)
    {
        if (origin is null)
        {
            return;
        }

        foreach (var (name, value) in origin.ToHeaders())
        {
            headers[name] = value;
        }
    }

    /// <summary>
    /// Records <c>replication.received</c> for a committed version that carries provenance, under its correlation id. Called
    /// just before the durable <c>file.upload</c> record, whose fsync makes this one durable too.
    /// </summary>
    public static void AuditReceived(HttpContext context, IAuditTrail audit, FileVersion version)
    {
        if (version.Origin is not { } origin)
        {
            return;
        }

        audit.Append(AuditActors.Event(context, "replication.received", AuditOutcome.Success, version.Path) with
        {
            Size = version.Size,
            Digest = version.Digest,
            CorrelationId = origin.CorrelationId ?? context.TraceIdentifier,
            Detail = $"version {version.VersionId} from origin {origin.Site}:{origin.Path}",
        });
    }
}
