using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TurboMft.Engine.Protocol;
using TurboMft.Engine.Storage;
using TurboMft.Host.Access;
using TurboMft.Host.Audit;

namespace TurboMft.Host.Http;

/// <summary><c>GET /v1/audit</c>: the audit records a principal may read (docs/audit.md, "Query endpoint").</summary>
public static class AuditEndpoints
{
    /// <summary>Records per page when <c>limit</c> is not given.</summary>
    public const int DefaultLimit = 1000;

    /// <summary>The largest <c>limit</c> accepted.</summary>
    public const int MaxLimit = 10000;

    /// <summary>Maps the endpoint.</summary>
    public static IEndpointRouteBuilder MapAuditEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/v1/audit", QueryAsync)
            .RequirePermission(Permission.Audit, PathSource.Deferred)
            .WithSummary("Audit records in seq order, filtered by since, actor, path, action and after; only those in areas where the caller holds audit.");
        return routes;
    }

    /// <summary>Reads the filter from the query string; null with <paramref name="error"/> when a value is not acceptable.</summary>
    internal static AuditQuery? ParseQuery(IQueryCollection query, out string? error)
    {
        error = null;
        var result = new AuditQuery { Limit = DefaultLimit };
        if (Single(query, "since") is { } since)
        {
            if (!DateTimeOffset.TryParse(since, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time))
            {
                error = $"since '{since}' is not an RFC 3339 time (e.g. 2026-11-26T00:00:00Z).";
                return null;
            }

            result = result with { Since = time };
        }

        if (Single(query, "after") is { } after)
        {
            if (!long.TryParse(after, NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
            {
                error = $"after '{after}' is not a seq (a whole number).";
                return null;
            }

            result = result with { After = seq };
        }

        if (Single(query, "limit") is { } limitText)
        {
            if (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out var limit) || limit < 1 || limit > MaxLimit)
            {
                error = $"limit '{limitText}' must be a whole number from 1 to {MaxLimit}.";
                return null;
            }

            result = result with { Limit = limit };
        }

        if (Single(query, "path") is { } pathText)
        {
            if (!RemotePath.TryParse(pathText, out var path, out var pathError, allowRoot: true))
            {
                error = $"path: {pathError}";
                return null;
            }

            result = result with { Path = path };
        }

        return result with { Actor = Single(query, "actor"), Action = Single(query, "action") };
    }

    /// <summary>
    /// The response body, an <see cref="AuditPage"/>: <c>{"records":[…stored objects…],"next":"…"}</c>, records copied byte
    /// for byte. Written with the client's strict escaping, as this answer always was (not Results.Json's relaxed one).
    /// </summary>
    internal static byte[] WritePage(IEnumerable<AuditRecord> records, string? next) =>
        JsonSerializer.SerializeToUtf8Bytes(new AuditPage([.. records.Select(r => new StoredAuditRecord(r.Line))], next), ProtocolJson.Options);

    private static async Task<IResult> QueryAsync(HttpContext context, IAuditReader reader, IAuditTrail audit, CancellationToken cancellationToken)
    {
        // The authorization middleware admits only principals holding audit somewhere; without a principal, refuse.
        if (context.TryGetPrincipal() is not { } principal)
        {
            return Problems.Forbidden();
        }

        if (ParseQuery(context.Request.Query, out var error) is not { } query)
        {
            return Problems.BadRequest("invalid-query", error!);
        }

        var limit = query.Limit ?? DefaultLimit;
        var visible = AuditQuery.VisibleTo(principal.Grants.AreasWith(Permission.Audit));
        var page = await Task.Run(() => (query with { Limit = limit + 1 }).Run(reader, visible).ToList(), cancellationToken).ConfigureAwait(false);
        string? next = null;
        if (page.Count > limit)
        {
            page.RemoveAt(limit);
            next = NextPage(context.Request.Query, page[^1].Seq);
        }

        audit.Append(AuditActors.Event(context, "audit.read", AuditOutcome.Success, query.Path?.Value) with
        {
            Detail = string.Create(CultureInfo.InvariantCulture, $"records={page.Count}{(query.Action is { } action ? " action=" + action : string.Empty)}{(query.Actor is { } actor ? " actor=" + actor : string.Empty)}"),
        });
        return Results.Bytes(WritePage(page, next), "application/json");
    }

    private static string NextPage(IQueryCollection query, long lastSeq)
    {
        var pairs = query
            .Where(p => p.Key != "after")
            .SelectMany(p => p.Value.Select(v => KeyValuePair.Create(p.Key, v)))
            .Append(KeyValuePair.Create("after", (string?)lastSeq.ToString(CultureInfo.InvariantCulture)));
        return "/v1/audit" + QueryString.Create(pairs).Value;
    }

    private static string? Single(IQueryCollection query, string name) =>
        query.TryGetValue(name, out var values) && values.Count > 0 && !string.IsNullOrEmpty(values[^1]) ? values[^1] : null;
}
