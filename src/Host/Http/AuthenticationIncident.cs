using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using TurboMft.Host.Access;
using TurboMft.Host.Audit;
using TurboMft.Host.Notifications;

namespace TurboMft.Host.Http;

/// <summary>
/// The <c>auth-failures</c> incident: an address crossed <see cref="AuthenticationThrottleSettings.FreeFailures"/> failed
/// authentications inside the window, or one claimed identity crossed <see cref="AuthenticationThrottleSettings.IdentityFreeFailures"/>
/// from all addresses together.
/// </summary>
public static class AuthenticationIncident
{
    /// <summary>The incident kind.</summary>
    public const string Kind = "auth-failures";

    /// <summary>
    /// The incident for the request whose failure crossed a threshold; <paramref name="failure"/> is its audit event and
    /// <paramref name="identity"/> the identity whose count crossed it, or null when the address's count did.
    /// </summary>
    public static Incident For(HttpContext context, int failures, TimeSpan window, AuditEvent failure, ClaimedIdentity? identity = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(failure);
        var address = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        var minutes = window.TotalMinutes.ToString("0", CultureInfo.InvariantCulture);
        var details = new Dictionary<string, string>
        {
            ["failures"] = failures.ToString(CultureInfo.InvariantCulture),
            ["windowMinutes"] = minutes,
            ["action"] = failure.Action,
            ["scope"] = identity is null ? "address" : "identity",
        };
        if (failure.Detail is { } reason)
        {
            details["reason"] = reason;
        }

        if (failure.Actor.User is { } user)
        {
            details["user"] = user;
        }

        var summary = identity is { } claimed
            ? $"{failures} failed authentications as {claimed.Describe()} from all addresses within {minutes} min (the last from {address}); further attempts as it are slowed down"
            : $"{failures} failed authentications from {address} within {minutes} min; its further failures are slowed down";
        return new Incident(
            Kind,
            "warning",
            (context.RequestServices?.GetService<TimeProvider>() ?? TimeProvider.System).GetUtcNow(),
            summary,
            Actor: address,
            CorrelationId: context.TraceIdentifier,
            Details: details);
    }
}
