using Prometheus;
using TurboMft.Host.Audit;
using TurboMft.Host.Metrics;

namespace TurboMft.Host.Access;

/// <summary>The credential a refused authentication presented.</summary>
public enum CredentialKind
{
    /// <summary>None, or one in an unsupported form (another scheme, two Authorization headers).</summary>
    None,

    /// <summary>A bearer API token.</summary>
    Token,

    /// <summary>A TLS client certificate.</summary>
    Certificate,

    /// <summary>A user's password at the login.</summary>
    Password,
}

/// <summary>
/// Access and audit instruments (docs/operations.md, "Metrics"): refused authentications by credential, denied
/// requests, and records appended to the audit log.
/// </summary>
public sealed class SecurityMetrics
{
    private readonly Counter.Child[] _authFailures;
    private readonly Counter _denied;
    private readonly Counter.Child _held;
    private readonly Counter.Child _rejected;

    /// <summary>Creates the instruments in <paramref name="metrics"/>; the audit count is read from <paramref name="audit"/> at each scrape.</summary>
    public SecurityMetrics(ServerMetrics metrics, AuditLog audit, AuthenticationThrottle throttle)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(audit);
        ArgumentNullException.ThrowIfNull(throttle);
        var factory = metrics.Factory;
        var failures = factory.CreateCounter("turbomft_auth_failures_total", "Refused authentications (401), by the credential presented: none, token, certificate, password.", ["credential"]);
        _authFailures = [failures.WithLabels("none"), failures.WithLabels("token"), failures.WithLabels("certificate"), failures.WithLabels("password")];
        _denied = factory.CreateCounter("turbomft_access_denied_total", "Authenticated requests refused for lack of a permission (403).");
        var appended = factory.CreateCounter("turbomft_audit_records_total", "Records this server process appended to the audit log.");
        var throttled = factory.CreateCounter(
            "turbomft_auth_throttled_total", "Failed authentications whose answer the throttle held back (held) or answered 429 at once (rejected).", ["action"]);
        _held = throttled.WithLabels("held");
        _rejected = throttled.WithLabels("rejected");
        var holding = factory.CreateGauge("turbomft_auth_held_requests", "Failure answers the throttle holds back now.");
        var tracked = factory.CreateGauge("turbomft_auth_throttle_keys", "Addresses and claimed identities the throttle tracks now.");
        metrics.BeforeScrape(() =>
        {
            appended.IncTo(audit.Appended);
            holding.Set(throttle.Held);
            tracked.Set(throttle.TrackedKeys);
        });
    }

    /// <summary>Counts a failure's answer held back or refused with 429.</summary>
    public void AuthenticationThrottled(ThrottleAction action)
    {
        if (action == ThrottleAction.Hold)
        {
            _held.Inc();
        }
        else if (action == ThrottleAction.Reject)
        {
            _rejected.Inc();
        }
    }

    /// <summary>Counts a refused authentication.</summary>
    public void AuthenticationFailed(CredentialKind credential) => _authFailures[(int)credential].Inc();

    /// <summary>Counts a 403.</summary>
    public void AccessDenied() => _denied.Inc();
}
