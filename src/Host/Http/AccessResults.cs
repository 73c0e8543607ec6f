using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using TurboMft.Engine.Storage;
using TurboMft.Host.Access;
using TurboMft.Host.Audit;

namespace TurboMft.Host.Http;

/// <summary>The 403 answer, audited; used by <see cref="AccessMiddleware"/> and by handlers after a deferred check.</summary>
public static class AccessResults
{
    /// <summary>Audits an <c>access.denied</c> record and returns the 403 (the same body whether or not the path exists).</summary>
    public static IResult Deny(HttpContext context, RemotePath? path, Permission permission)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.RequestServices.GetService<SecurityMetrics>()?.AccessDenied();
        context.RequestServices.GetRequiredService<IAuditTrail>().Append(AuditActors.Event(context, "access.denied", AuditOutcome.Denied, path?.Value) with
        {
            Detail = $"{context.Request.Method} {context.GetEndpoint()?.DisplayName ?? context.Request.Path.ToString()} needs {Permissions.Format(permission)}",
        });
        return Problems.Forbidden();
    }

    /// <summary>
    /// The deferred check (<see cref="PathSource.Deferred"/>): null when the request's principal holds
    /// <paramref name="permission"/> on <paramref name="path"/>, else the audited 403 to return.
    /// </summary>
    public static IResult? Check(HttpContext context, Permission permission, RemotePath path) =>
        context.Allows(permission, path) ? null : Deny(context, path, permission);

    /// <inheritdoc cref="Check(HttpContext, Permission, RemotePath)"/>
    public static IResult? Check(HttpContext context, Permission permission, string canonicalPath) =>
        Check(context, permission, RemotePath.Parse(canonicalPath, allowRoot: true));
}
