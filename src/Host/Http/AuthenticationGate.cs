using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TurboMft.Engine.Client;
using TurboMft.Host.Access;
using TurboMft.Host.Audit;
using TurboMft.Host.Notifications;

namespace TurboMft.Host.Http;

/// <summary>
/// Puts the <see cref="AuthenticationThrottle"/> on a request (docs/security.md, "Throttling failed authentication"):
/// before a credential is checked, refuses one whose claimed identity is barred; after a refusal, audits and counts it,
/// raises the incident when a threshold is crossed, and holds the 401 or answers 429 with Retry-After at once.
/// </summary>
public sealed class AuthenticationGate(
    AuthenticationThrottle throttle, IAuditTrail audit, SecurityMetrics metrics, TimeProvider time, ILogger<AuthenticationGate> logger)
{
    /// <summary>The problem type of a throttled answer.</summary>
    public const string ThrottledType = ServerProblemException.TooManyFailuresType;

    /// <summary>Null when a credential claiming <paramref name="identity"/> may be checked now; otherwise the 429 to answer.</summary>
    public IResult? BeforeCheck(HttpContext context, ClaimedIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(context);
        var wait = throttle.RetryAfter(context.Connection.RemoteIpAddress, identity);
        if (wait == TimeSpan.Zero)
        {
            return null;
        }

        metrics.AuthenticationThrottled(ThrottleAction.Reject);
        return TooManyFailures(context, wait);
    }

    /// <summary>A credential claiming <paramref name="identity"/> was accepted: forgets its failures from this address.</summary>
    public void Succeeded(HttpContext context, ClaimedIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(context);
        throttle.RecordSuccess(context.Connection.RemoteIpAddress, identity);
    }

    /// <summary>
    /// A credential was refused: audits <paramref name="failure"/>, counts it, notes a crossed threshold (log, audit
    /// <c>auth.throttled</c>, incident), then returns <paramref name="unauthorized"/> at once, after the hold the throttle
    /// asks for, or a 429 when the delay is longer than an answer is held or every hold slot is taken.
    /// </summary>
    public async ValueTask<IResult> FailedAsync(HttpContext context, ClaimedIdentity identity, AuditEvent failure, CredentialKind credential, IResult unauthorized)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(failure);
        var decision = throttle.RecordFailure(context.Connection.RemoteIpAddress, identity);
        audit.Append(failure);
        metrics.AuthenticationFailed(credential);
        var settings = throttle.Settings;
        if (decision.AddressFailures == settings.FreeFailures)
        {
            ThresholdCrossed(context, decision.AddressFailures, failure, null);
        }

        if (decision.IdentityFailures == settings.IdentityFreeFailures)
        {
            ThresholdCrossed(context, decision.IdentityFailures, failure, identity);
        }

        if (decision.Action == ThrottleAction.None)
        {
            return unauthorized;
        }

        if (decision.Action == ThrottleAction.Hold && throttle.TryEnterHold())
        {
            try
            {
                await Task.Delay(decision.Delay, time, context.RequestAborted).ConfigureAwait(false);
            }
            finally
            {
                throttle.ExitHold();
            }

            metrics.AuthenticationThrottled(ThrottleAction.Hold);
            return unauthorized;
        }

        metrics.AuthenticationThrottled(ThrottleAction.Reject);
        return TooManyFailures(context, decision.Delay);
    }

    private static IResult TooManyFailures(HttpContext context, TimeSpan wait)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        return Problems.Result(
            StatusCodes.Status429TooManyRequests,
            ThrottledType,
            "Too many failed authentications",
            $"Too many failed authentications from this client; retry after {seconds} s.");
    }

    private void ThresholdCrossed(HttpContext context, int failures, AuditEvent failure, ClaimedIdentity? identity)
    {
        var address = context.Connection.RemoteIpAddress;
        var minutes = throttle.Window.TotalMinutes;
        if (identity is { } claimed)
        {
            logger.LogWarning("{Failures} failed authentications as {Identity} from all addresses; its further attempts are slowed down", failures, claimed.Describe());
        }
        else
        {
            logger.LogWarning("{Failures} failed authentications from {Address}; its further failures are slowed down", failures, address);
        }

        audit.Append(AuditActors.Event(context, "auth.throttled", AuditOutcome.Denied) with
        {
            Actor = failure.Actor,
            Detail = identity is { } id
                ? $"{failures} failures as {id.Describe()} from all addresses within {minutes:0} min"
                : $"{failures} failures within {minutes:0} min",
        });
        context.RequestServices?.GetService<IIncidentNotifier>()?.Raise(AuthenticationIncident.For(context, failures, throttle.Window, failure, identity));
    }
}
