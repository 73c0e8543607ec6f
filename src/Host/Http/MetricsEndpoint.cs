using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Prometheus;
using TurboMft.Host.Access;
using TurboMft.Host.Metrics;

namespace TurboMft.Host.Http;

/// <summary>
/// <c>GET /metrics</c>: the server's <see cref="ServerMetrics.Registry"/> in the Prometheus text format (OpenMetrics when the
/// scraper asks for it), written by prometheus-net's exporter. It needs the <c>metrics</c> permission on "/" (role
/// <c>monitor</c> or <c>admin</c>) through the one access middleware like every other route (docs/operations.md, "Metrics").
/// </summary>
public static class MetricsEndpoint
{
    /// <summary>The route.</summary>
    public const string Path = "/metrics";

    /// <summary>Maps the endpoint.</summary>
    public static IEndpointRouteBuilder MapMetricsEndpoint(this IEndpointRouteBuilder routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        var registry = routes.ServiceProvider.GetRequiredService<ServerMetrics>().Registry;
        routes.MapMetrics(settings => settings.Registry = registry, Path)
            .WithMetadata(new HttpMethodMetadata([HttpMethods.Get]))
            .WithDisplayName("GET /metrics")
            .RequirePermission(Permission.Metrics);
        return routes;
    }
}
