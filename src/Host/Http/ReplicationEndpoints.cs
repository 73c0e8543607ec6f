using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TurboMft.Engine.Protocol;
using TurboMft.Host.Access;
using TurboMft.Host.Replication;

namespace TurboMft.Host.Http;

/// <summary>
/// <c>/v1/admin/replication</c> (docs/protocol.md, "Administration"): rules and status. Every endpoint needs the
/// admin permission on "/" (it changes what leaves the node, and to whom).
/// </summary>
public static class ReplicationEndpoints
{
    /// <summary>Maps the endpoints.</summary>
    public static IEndpointRouteBuilder MapReplicationEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/admin/replication");
        group.RequirePermission(Permission.Admin);
        group.AddEndpointFilter(RefusalProblems.FilterAsync);
        group.MapGet("/rules", async (ReplicationAdministration replication, CancellationToken ct) => Results.Json(await replication.ListAsync(ct).ConfigureAwait(false)))
            .WithSummary("List replication rules.");
        group.MapPost("/rules", async (HttpContext context, ReplicationAdministration replication, CancellationToken ct) =>
        {
            var request = await ReadAsync(context, ct).ConfigureAwait(false);
            var rule = await replication.AddAsync(new AdminCaller(AuditActors.For(context), context.TraceIdentifier), request, ct).ConfigureAwait(false);
            return Results.Created($"/v1/admin/replication/rules/{rule.Name}", rule);
        }).WithSummary("Add a rule: replicate an area to (push) or from (pull) a peer.");
        group.MapDelete("/rules/{name}", async (string name, HttpContext context, ReplicationAdministration replication, CancellationToken ct) =>
        {
            await replication.RemoveAsync(new AdminCaller(AuditActors.For(context), context.TraceIdentifier), name, ct).ConfigureAwait(false);
            return Results.NoContent();
        }).WithSummary("Remove a rule and its pending jobs.");
        group.MapGet("/status", async (ReplicationAdministration replication, CancellationToken ct) => Results.Json(await replication.StatusAsync(ct).ConfigureAwait(false)))
            .WithSummary("Backlog, oldest pending age, last error and bytes per second per peer.");
        return routes;
    }

    private static Task<AddReplicationRuleRequest> ReadAsync(HttpContext context, CancellationToken cancellationToken) =>
        AdminEndpoints.ReadAsync<AddReplicationRuleRequest>(context, "{\"name\", \"area\", \"peer\", \"mode\"?, \"target\"?, \"propagateDeletes\"?, \"intervalSeconds\"?, \"bandwidthBytesPerSecond\"?, \"include\"?, \"exclude\"?}", cancellationToken);
}
