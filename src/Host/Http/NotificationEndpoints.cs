using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TurboMft.Engine.Protocol;
using TurboMft.Host.Access;
using TurboMft.Host.Audit;
using TurboMft.Host.Notifications;

namespace TurboMft.Host.Http;

/// <summary><c>POST /v1/admin/notifications/test</c>: raise a <c>test</c> incident so an operator can check the receivers (docs/protocol.md, "Administration").</summary>
public static class NotificationEndpoints
{
    /// <summary>The incident kind of a test.</summary>
    public const string TestKind = "test";

    /// <summary>How long the endpoint waits for the channels' outcomes before it answers (still-running ones are <c>pending</c>).</summary>
    public static TimeSpan TestWait { get; } = TimeSpan.FromSeconds(15);

    /// <summary>Maps the endpoint (admin on "/").</summary>
    public static IEndpointRouteBuilder MapNotificationEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/v1/admin/notifications/test", TestAsync)
            .RequirePermission(Permission.Admin)
            .WithSummary("Raise a 'test' incident on every notification channel and report, per channel, whether it was delivered (waits up to 15 s).");
        return routes;
    }

    private static async Task<IResult> TestAsync(HttpContext context, IIncidentNotifier notifier, IAuditTrail audit, TimeProvider time, CancellationToken cancellationToken)
    {
        var actor = AuditActors.For(context);
        var who = actor.User ?? actor.Peer ?? actor.Address ?? "unknown";
        audit.Append(AuditActors.Event(context, "notify.test", AuditOutcome.Success));
        var incident = new Incident(
            TestKind,
            "info",
            time.GetUtcNow(),
            $"Test incident requested by {who}: the notification channels work",
            Actor: who,
            CorrelationId: context.TraceIdentifier,
            Details: new Dictionary<string, string> { ["test"] = "true" });
        if (notifier is not IncidentNotifier tracked)
        {
            notifier.Raise(incident);
            return Results.Json(new NotificationTestResult(null, context.TraceIdentifier, []));
        }

        var receipt = tracked.RaiseTracked(incident);
        var outcomes = await receipt.WaitAsync(TestWait, cancellationToken).ConfigureAwait(false);
        return Results.Json(new NotificationTestResult(receipt.Id, context.TraceIdentifier, [.. outcomes.Select(o => new NotificationChannelOutcome(o.Channel, o.Status, o.Detail))]));
    }
}
