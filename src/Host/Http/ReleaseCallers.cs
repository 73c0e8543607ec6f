using Microsoft.AspNetCore.Http;
using TurboMft.Host.Release;

namespace TurboMft.Host.Http;

/// <summary>The <see cref="ReleaseCaller"/> of a request.</summary>
public static class ReleaseCallers
{
    /// <summary>The caller of a request (after authentication).</summary>
    public static ReleaseCaller For(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new ReleaseCaller(ReleaseCaller.IdentityOf(context.GetPrincipal()), AuditActors.For(context), context.TraceIdentifier);
    }
}
