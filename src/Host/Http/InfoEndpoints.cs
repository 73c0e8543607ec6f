using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Native;
using TurboMft.Engine.Protocol;
using TurboMft.Host.Access;
using TurboMft.Host.Cluster;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Ingest;
using TurboMft.Host.Replication;

namespace TurboMft.Host.Http;

/// <summary><c>GET /healthz</c> (anonymous, no version) and <c>GET /v1/info</c> (any authenticated caller; docs/protocol.md, "Other").</summary>
public static class InfoEndpoints
{
    /// <summary>Maps the endpoints.</summary>
    public static IEndpointRouteBuilder MapInfoEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/healthz", () => Results.Text("ok\n", "text/plain")).AllowAnonymousAccess();

        // Ready: the shared stores answer (docs/cluster.md, "Nodes"); a load balancer's health check. No detail for anonymous callers.
        routes.MapGet("/readyz", async (INodeRegistry registry, CancellationToken ct) =>
        {
            try
            {
                await registry.CheckReachableAsync(ct).ConfigureAwait(false);
                return Results.Text("ready\n", "text/plain");
            }
            catch (StoreUnavailableException)
            {
                return Results.Text("not ready: the database cannot be reached\n", "text/plain", statusCode: StatusCodes.Status503ServiceUnavailable);
            }
        }).AllowAnonymousAccess();
        routes.MapGet("/v1/info", (UploadSettings settings, NodeIdentity node) =>
        {
            var cpu = CpuFeatures.Current;
            var quic = ProductInfo.QuicAvailable;
            return Results.Json(new ServerInfo(
                "TurboMft",
                ProductInfo.Version,
                "1.3",
                node.Site,
                node.Fingerprint,
                quic ? ["http/1.1", "h2", "h3"] : ["http/1.1", "h2"],
                new QuicSupport(quic, quic, quic ? null : "libmsquic is not installed on this host; HTTP/3 is off"),
                new CpuDescription(cpu.ProcessorName, cpu.LogicalCores, cpu.Names),
                new ServerLimits(
                    ChunkGeometry.MinChunkSize,
                    ChunkGeometry.MaxChunkSize,
                    ChunkGeometry.DefaultChunkSize,
                    settings.UploadExpiryHours,
                    settings.MinRequestBodyBytesPerSecond,
                    settings.MinRequestBodyGraceSeconds,
                    settings.BatchMaxFiles,
                    settings.OneShotChunkSize)));
        }).RequirePermission(Permission.None);
        return routes;
    }
}
