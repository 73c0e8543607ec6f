using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Native;
using TurboMft.Host.Access;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Ingest;
using TurboMft.Host.Replication;

namespace TurboMft.Host.Http;

/// <summary><c>GET /healthz</c> (anonymous, no version) and <c>GET /v1/info</c> (any authenticated caller).</summary>
public static class InfoEndpoints
{
    /// <summary>Maps the endpoints.</summary>
    public static IEndpointRouteBuilder MapInfoEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/healthz", () => Results.Text("ok\n", "text/plain")).AllowAnonymousAccess();
        routes.MapGet("/v1/info", (UploadSettings settings, NodeIdentity node) =>
        {
            var cpu = CpuFeatures.Current;
            var quic = ProductInfo.QuicAvailable;
            return Results.Json(new
            {
                product = "TurboMft",
                version = ProductInfo.Version,
                tls = "1.3",
                site = node.Site,
                nodeCertificate = node.Fingerprint,
                protocols = quic ? new[] { "http/1.1", "h2", "h3" } : ["http/1.1", "h2"],
                quic = new
                {
                    supported = quic,
                    http3 = quic,
                    reason = quic ? null : "libmsquic is not installed on this host; HTTP/3 is off",
                },
                cpu = new { model = cpu.ProcessorName, logicalCores = cpu.LogicalCores, features = cpu.Names },
                limits = new
                {
                    minChunkSize = ChunkGeometry.MinChunkSize,
                    maxChunkSize = ChunkGeometry.MaxChunkSize,
                    defaultChunkSize = ChunkGeometry.DefaultChunkSize,
                    uploadExpiryHours = settings.UploadExpiryHours,
                    minRequestBodyBytesPerSecond = settings.MinRequestBodyBytesPerSecond,
                    minRequestBodyGraceSeconds = settings.MinRequestBodyGraceSeconds,
                    batchMaxFiles = settings.BatchMaxFiles,
                    batchMaxFileSize = settings.OneShotChunkSize,
                },
            });
        }).RequirePermission(Permission.None);
        return routes;
    }
}
