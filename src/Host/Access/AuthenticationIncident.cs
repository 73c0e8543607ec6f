using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using TurboMft.Host.Audit;
using TurboMft.Host.Notifications;

namespace TurboMft.Host.Access;

/// <summary>The <c>auth-failures</c> incident: an address crossed <see cref="AuthenticationThrottle.FreeFailures"/> failed authentications inside the window.</summary>
public static class AuthenticationIncident
{
    /// <summary>The incident kind.</summary>
    public const string Kind = "auth-failures";

    /// <summary>The incident for the request whose failure crossed the threshold; <paramref name="failure"/> is its audit event.</summary>
    public static Incident For(HttpContext context, int failures, AuditEvent failure)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(failure);
        var address = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        var window = AuthenticationThrottle.Window.TotalMinutes.ToString("0", CultureInfo.InvariantCulture);
        var details = new Dictionary<string, string>
        {
            ["failures"] = failures.ToString(CultureInfo.InvariantCulture),
            ["windowMinutes"] = window,
            ["action"] = failure.Action,
        };
        if (failure.Detail is { } reason)
        {
            details["reason"] = reason;
        }

        if (failure.Actor.User is { } user)
        {
            details["user"] = user;
        }

        return new Incident(
            Kind,
            "warning",
            (context.RequestServices?.GetService<TimeProvider>() ?? TimeProvider.System).GetUtcNow(),
            $"{failures} failed authentications from {address} within {window} min; further attempts from it are slowed down",
            Actor: address,
            CorrelationId: context.TraceIdentifier,
            Details: details);
    }
}
