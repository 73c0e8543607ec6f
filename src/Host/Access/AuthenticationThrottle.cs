using System.Collections.Concurrent;
using System.Net;

namespace TurboMft.Host.Access;

/// <summary>
/// Slows down repeated failed authentications from one address (docs/security.md, "Throttling"): after
/// <see cref="FreeFailures"/> failures inside <see cref="Window"/>, every further attempt from that address waits
/// 250 ms × 2^(failures − free), capped at <see cref="MaxDelay"/>, before its credential is even looked at. A success
/// clears the address. Bounded memory: at most <see cref="MaxTrackedAddresses"/> addresses, stale ones dropped first.
/// </summary>
public sealed class AuthenticationThrottle(TimeProvider time)
{
    /// <summary>Failures allowed inside the window before attempts are delayed.</summary>
    public const int FreeFailures = 5;

    /// <summary>Addresses tracked at most.</summary>
    public const int MaxTrackedAddresses = 10_000;

    private static readonly TimeSpan BaseDelay = TimeSpan.FromMilliseconds(250);
    private readonly ConcurrentDictionary<IPAddress, Failures> _failures = new();

    /// <summary>How long failures are remembered.</summary>
    public static TimeSpan Window { get; } = TimeSpan.FromMinutes(15);

    /// <summary>The longest delay imposed on one attempt.</summary>
    public static TimeSpan MaxDelay { get; } = TimeSpan.FromSeconds(10);

    /// <summary>How many addresses are tracked now.</summary>
    public int TrackedAddresses => _failures.Count;

    /// <summary>The delay the next attempt from <paramref name="address"/> must wait; zero when it is not throttled.</summary>
    public TimeSpan DelayFor(IPAddress? address)
    {
        if (address is null || !_failures.TryGetValue(address, out var failures))
        {
            return TimeSpan.Zero;
        }

        lock (failures)
        {
            if (time.GetUtcNow() - failures.Last > Window || failures.Count < FreeFailures)
            {
                return TimeSpan.Zero;
            }

            var exponent = Math.Min(failures.Count - FreeFailures, 10);
            var delay = BaseDelay * (1 << exponent);
            return delay < MaxDelay ? delay : MaxDelay;
        }
    }

    /// <summary>Counts a failure from <paramref name="address"/>; returns the address's failure count inside the window.</summary>
    public int RecordFailure(IPAddress? address)
    {
        if (address is null)
        {
            return 0;
        }

        if (_failures.Count >= MaxTrackedAddresses)
        {
            Prune();
        }

        var now = time.GetUtcNow();
        var failures = _failures.GetOrAdd(address, _ => new Failures());
        lock (failures)
        {
            if (now - failures.Last > Window)
            {
                failures.Count = 0;
            }

            failures.Count++;
            failures.Last = now;
            return failures.Count;
        }
    }

    /// <summary>Forgets the failures of <paramref name="address"/> after a success.</summary>
    public void RecordSuccess(IPAddress? address)
    {
        if (address is not null && !_failures.IsEmpty)
        {
            _failures.TryRemove(address, out _);
        }
    }

    private void Prune()
    {
        var now = time.GetUtcNow();
        foreach (var (address, failures) in _failures)
        {
            if (now - failures.Last > Window)
            {
                _failures.TryRemove(address, out _);
            }
        }

        // Still full of fresh entries (a spread-out attack): drop the oldest half rather than grow without bound.
        if (_failures.Count >= MaxTrackedAddresses)
        {
            foreach (var (address, _) in _failures.OrderBy(p => p.Value.Last).Take(_failures.Count / 2))
            {
                _failures.TryRemove(address, out _);
            }
        }
    }

    private sealed class Failures
    {
        public int Count { get; set; }

        public DateTimeOffset Last { get; set; }
    }
}
