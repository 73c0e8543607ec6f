using Microsoft.Extensions.Options;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Access;

/// <summary>
/// Settings of the failed-authentication throttle, section <c>Throttle</c> (docs/security.md, "Throttling failed
/// authentication"; e.g. <c>TURBOMFT_THROTTLE__MAXHELDREQUESTS=32</c>).
/// </summary>
public sealed class AuthenticationThrottleSettings
{
    /// <summary>Failures per address, and per address and claimed identity, inside the window before answers are delayed.</summary>
    public int FreeFailures { get; set; } = 5;

    /// <summary>Failures of one claimed identity from all addresses together before its answers are delayed.</summary>
    public int IdentityFreeFailures { get; set; } = 20;

    /// <summary>Minutes failures are remembered after the last one.</summary>
    public double WindowMinutes { get; set; } = 15;

    /// <summary>The delay the first failure past the free ones earns, in milliseconds; each further failure doubles it.</summary>
    public double FirstDelayMilliseconds { get; set; } = 250;

    /// <summary>The longest delay one failure earns, in seconds.</summary>
    public double MaxDelaySeconds { get; set; } = 10;

    /// <summary>The longest a failure's answer is held back on its connection, in seconds; a longer delay is answered 429 with Retry-After at once.</summary>
    public double MaxHoldSeconds { get; set; } = 2;

    /// <summary>Failure answers held back at once, server-wide; past it, 429 with Retry-After at once.</summary>
    public int MaxHeldRequests { get; set; } = 64;

    /// <summary>Keys tracked at most per kind (addresses, address and identity, identities).</summary>
    public int MaxTrackedKeys { get; set; } = 10_000;

    /// <summary>Throws <see cref="ArgumentException"/> naming every setting out of range.</summary>
    public void Validate() => new AuthenticationThrottleSettingsValidation().ThrowIfInvalid(this);
}

/// <summary>Validates <see cref="AuthenticationThrottleSettings"/> (the <c>Throttle</c> section).</summary>
public sealed class AuthenticationThrottleSettingsValidation : IValidateOptions<AuthenticationThrottleSettings>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, AuthenticationThrottleSettings options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var o = options;
        List<string> failures = [];
        Check(failures, o.FreeFailures is >= 1 and <= 1000, $"Throttle:FreeFailures is {o.FreeFailures}; give 1 to 1000.");
        Check(failures, o.IdentityFreeFailures is >= 1 and <= 100_000, $"Throttle:IdentityFreeFailures is {o.IdentityFreeFailures}; give 1 to 100000.");
        Check(failures, o.WindowMinutes is > 0 and <= 24 * 60, $"Throttle:WindowMinutes is {o.WindowMinutes}; give minutes, more than 0 and at most 1440.");
        Check(failures, o.FirstDelayMilliseconds is >= 1 and <= 3_600_000, $"Throttle:FirstDelayMilliseconds is {o.FirstDelayMilliseconds}; give 1 to 3600000.");
        Check(failures, o.MaxDelaySeconds * 1000 >= o.FirstDelayMilliseconds && o.MaxDelaySeconds <= 3600, $"Throttle:MaxDelaySeconds is {o.MaxDelaySeconds}; give at least FirstDelayMilliseconds ({o.FirstDelayMilliseconds} ms) and at most 3600.");
        Check(failures, o.MaxHoldSeconds is >= 0 and <= 60, $"Throttle:MaxHoldSeconds is {o.MaxHoldSeconds}; give 0 to 60.");
        Check(failures, o.MaxHeldRequests is >= 0 and <= 100_000, $"Throttle:MaxHeldRequests is {o.MaxHeldRequests}; give 0 to 100000.");
        Check(failures, o.MaxTrackedKeys is >= 16 and <= 10_000_000, $"Throttle:MaxTrackedKeys is {o.MaxTrackedKeys}; give 16 to 10000000.");
        return SettingsValidation.Result(failures);
    }

    private static void Check(List<string> failures, bool ok, string message)
    {
        if (!ok)
        {
            failures.Add(message);
        }
    }
}
