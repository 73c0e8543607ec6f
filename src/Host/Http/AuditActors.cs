using Microsoft.AspNetCore.Http;
using TurboMft.Host.Access;
using TurboMft.Host.Audit;

namespace TurboMft.Host.Http;

/// <summary>Builds the <see cref="AuditActor"/> of a request.</summary>
public static class AuditActors
{
    /// <summary>The request's principal (if authenticated yet) and its remote address.</summary>
    public static AuditActor For(HttpContext context, Principal? principal = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        principal ??= context.TryGetPrincipal();
        var address = context.Connection.RemoteIpAddress?.ToString();
        return principal switch
        {
            null => new AuditActor(null, null, null, address),
            { Kind: PrincipalKind.Peer } => new AuditActor(null, null, principal.Name, address),
            _ => new AuditActor(principal.Name, principal.TokenId, null, address),
        };
    }

    /// <summary>An event for this request, with the actor and correlation id filled in.</summary>
    public static AuditEvent Event(HttpContext context, string action, string outcome, string? path = null) => new()
    {
        Action = action,
        Actor = For(context),
        Outcome = outcome,
        Path = path,
        CorrelationId = context.TraceIdentifier,
    };
}
