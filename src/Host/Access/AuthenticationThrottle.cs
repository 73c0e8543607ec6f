using System.Collections.Concurrent;
using System.Net;

namespace TurboMft.Host.Access;

/// <summary>
/// Counts failed authentications and decides what a failure costs its sender (docs/security.md, "Throttling failed
/// authentication"). Failures are counted under three keys: the source address, the address with the identity the
/// request claimed (<see cref="ClaimedIdentity"/>), and that identity from every address. A key that has seen more than its
/// free failures inside the window delays the next failure's answer 250 ms × 2^(failures − free)
/// (<see cref="AuthenticationThrottleSettings.FirstDelayMilliseconds"/>), at most
/// <see cref="AuthenticationThrottleSettings.MaxDelaySeconds"/>.
/// <para>
/// Only failures pay. A credential is checked before any address-wide delay applies, so a valid credential is never slowed
/// by what others sent from the same address (a NAT, a load balancer). Only the claimed identity's own keys are consulted
/// before the check (<see cref="RetryAfter"/>): for a token or certificate that is the same credential failing again; for a
/// password, the user under attack, which is the point of throttling a password.
/// </para>
/// Memory is bounded (<see cref="AuthenticationThrottleSettings.MaxTrackedKeys"/> per key kind, stale entries dropped
/// first), and so are the answers held back at once (<see cref="AuthenticationThrottleSettings.MaxHeldRequests"/>): past
/// either bound a failure is answered 429 with Retry-After at once.
/// </summary>
public sealed class AuthenticationThrottle
{
    private readonly TimeProvider _time;
    private readonly AuthenticationThrottleSettings _settings;
    private readonly FailureTable<IPAddress> _addresses;
    private readonly FailureTable<(IPAddress Address, string Identity)> _addressIdentities;
    private readonly FailureTable<string> _identities;
    private int _held;

    /// <summary>Creates a throttle with <paramref name="settings"/> (validated) on <paramref name="time"/>.</summary>
    public AuthenticationThrottle(TimeProvider time, AuthenticationThrottleSettings settings)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        _time = time;
        _settings = settings;
        _addresses = new FailureTable<IPAddress>(settings.MaxTrackedKeys);
        _addressIdentities = new FailureTable<(IPAddress, string)>(settings.MaxTrackedKeys);
        _identities = new FailureTable<string>(settings.MaxTrackedKeys);
    }

    /// <summary>The settings in force.</summary>
    public AuthenticationThrottleSettings Settings => _settings;

    /// <summary>How long failures are remembered after the last one.</summary>
    public TimeSpan Window => TimeSpan.FromMinutes(_settings.WindowMinutes);

    /// <summary>The longest a failure's answer is held.</summary>
    public TimeSpan MaxHold => TimeSpan.FromSeconds(_settings.MaxHoldSeconds);

    /// <summary>Keys tracked now, over the three kinds.</summary>
    public int TrackedKeys => _addresses.Count + _addressIdentities.Count + _identities.Count;

    /// <summary>Failure answers held back right now.</summary>
    public int Held => Volatile.Read(ref _held);

    /// <summary>The most failure answers that were held back at once since start.</summary>
    public int PeakHeld { get; private set; }

    /// <summary>
    /// Zero when a credential claiming <paramref name="identity"/> from <paramref name="address"/> may be checked now;
    /// otherwise how long until it may: the identity's last failure earned a delay longer than an answer is held, and that
    /// delay has not passed. Consults only the identity's own keys, never the address as a whole.
    /// </summary>
    public TimeSpan RetryAfter(IPAddress? address, ClaimedIdentity identity)
    {
        var now = _time.GetUtcNow();
        var wait = _identities.Wait(identity.Key, now, _settings.IdentityFreeFailures, this);
        if (address is not null)
        {
            var own = _addressIdentities.Wait((address, identity.Key), now, _settings.FreeFailures, this);
            wait = own > wait ? own : wait;
        }

        return wait;
    }

    /// <summary>Counts a failure under all three keys and says what its answer costs.</summary>
    public ThrottleDecision RecordFailure(IPAddress? address, ClaimedIdentity identity)
    {
        var now = _time.GetUtcNow();
        var identityCount = _identities.Add(identity.Key, now, Window);
        var delay = DelayAfter(identityCount, _settings.IdentityFreeFailures);
        var addressCount = 0;
        if (address is not null)
        {
            addressCount = _addresses.Add(address, now, Window);
            var ownCount = _addressIdentities.Add((address, identity.Key), now, Window);
            delay = Max(delay, Max(DelayAfter(addressCount, _settings.FreeFailures), DelayAfter(ownCount, _settings.FreeFailures)));
        }

        var action = delay == TimeSpan.Zero ? ThrottleAction.None
            : delay <= MaxHold ? ThrottleAction.Hold
            : ThrottleAction.Reject;
        return new ThrottleDecision(action, delay, addressCount, identityCount);
    }

    /// <summary>Forgets the failures of <paramref name="identity"/> from <paramref name="address"/> after it succeeded; the address's and the identity's totals stay.</summary>
    public void RecordSuccess(IPAddress? address, ClaimedIdentity identity)
    {
        if (address is not null)
        {
            _addressIdentities.Remove((address, identity.Key));
        }
    }

    /// <summary>Takes one of the slots for a held answer; false when all are taken (answer 429 instead).</summary>
    public bool TryEnterHold()
    {
        while (true)
        {
            var held = Volatile.Read(ref _held);
            if (held >= _settings.MaxHeldRequests)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _held, held + 1, held) == held)
            {
                if (held + 1 > PeakHeld)
                {
                    PeakHeld = held + 1;
                }

                return true;
            }
        }
    }

    /// <summary>Gives back a slot taken by <see cref="TryEnterHold"/>.</summary>
    public void ExitHold() => Interlocked.Decrement(ref _held);

    private TimeSpan DelayAfter(int failures, int free)
    {
        if (failures < free)
        {
            return TimeSpan.Zero;
        }

        var delay = TimeSpan.FromMilliseconds(_settings.FirstDelayMilliseconds) * (1 << Math.Min(failures - free, 20));
        var max = TimeSpan.FromSeconds(_settings.MaxDelaySeconds);
        return delay < max ? delay : max;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>Failures per key, bounded: when full, stale keys are dropped, then the oldest half.</summary>
    private sealed class FailureTable<TKey>(int capacity)
        where TKey : notnull
    {
        private readonly ConcurrentDictionary<TKey, Failures> _entries = new();

        public int Count => _entries.Count;

        public int Add(TKey key, DateTimeOffset now, TimeSpan window)
        {
            if (_entries.Count >= capacity)
            {
                Prune(now, window);
            }

            var failures = _entries.GetOrAdd(key, _ => new Failures());
            lock (failures)
            {
                if (now - failures.Last > window)
                {
                    failures.Count = 0;
                }

                failures.Count++;
                failures.Last = now;
                return failures.Count;
            }
        }

        /// <summary>How long after <paramref name="now"/> the key's last failure still bars the next attempt.</summary>
        public TimeSpan Wait(TKey key, DateTimeOffset now, int free, AuthenticationThrottle throttle)
        {
            if (_entries.IsEmpty || !_entries.TryGetValue(key, out var failures))
            {
                return TimeSpan.Zero;
            }

            lock (failures)
            {
                if (now - failures.Last > throttle.Window)
                {
                    return TimeSpan.Zero;
                }

                // A delay that was held has been paid on the connection; only one answered 429 bars the next attempt.
                var delay = throttle.DelayAfter(failures.Count, free);
                if (delay <= throttle.MaxHold)
                {
                    return TimeSpan.Zero;
                }

                var until = failures.Last + delay;
                return until > now ? until - now : TimeSpan.Zero;
            }
        }

        public void Remove(TKey key)
        {
            if (!_entries.IsEmpty)
            {
                _entries.TryRemove(key, out _);
            }
        }

        private void Prune(DateTimeOffset now, TimeSpan window)
        {
            foreach (var (key, failures) in _entries)
            {
                if (now - failures.Last > window)
                {
                    _entries.TryRemove(key, out _);
                }
            }

            // Still full of fresh entries (a spread-out attack): drop the oldest half rather than grow without bound.
            if (_entries.Count >= capacity)
            {
                foreach (var (key, _) in _entries.OrderBy(p => p.Value.Last).Take(_entries.Count / 2).ToList())
                {
                    _entries.TryRemove(key, out _);
                }
            }
        }
    }

    private sealed class Failures
    {
        public int Count { get; set; }

        public DateTimeOffset Last { get; set; }
    }
}

/// <summary>What the answer to a failed authentication costs.</summary>
public enum ThrottleAction
{
    /// <summary>Answer 401 at once: the free failures are not used up.</summary>
    None,

    /// <summary>Hold the 401 for <see cref="ThrottleDecision.Delay"/>, if a hold slot is free; otherwise answer 429.</summary>
    Hold,

    /// <summary>Answer 429 with Retry-After at once: the delay is longer than an answer is ever held.</summary>
    Reject,
}

/// <summary>The throttle's verdict on one failure, with the counts inside the window that led to it.</summary>
public readonly record struct ThrottleDecision(ThrottleAction Action, TimeSpan Delay, int AddressFailures, int IdentityFailures);

/// <summary>
/// The identity a request claimed, as a throttle key: <c>user:NAME</c> for a password login, <c>token:</c> and the first 64
/// bits of the presented token's SHA-256 (never the token itself), <c>cert:</c> and the certificate's SHA-256 prefix, or
/// <c>none</c> for a request without a usable credential.
/// </summary>
public readonly record struct ClaimedIdentity(string Key)
{
    /// <summary>No credential, or one in an unsupported form.</summary>
    public static ClaimedIdentity None { get; } = new("none");

    /// <summary>A user name at the password login (case-insensitive, at most 128 characters kept).</summary>
    public static ClaimedIdentity User(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var folded = name.ToLowerInvariant();
        return new("user:" + (folded.Length > 128 ? folded[..128] : folded));
    }

    /// <summary>A presented bearer token.</summary>
    public static ClaimedIdentity Token(string token) => new("token:" + Convert.ToHexStringLower(ApiTokens.Hash(token).AsSpan(0, 8)));

    /// <summary>A presented TLS client certificate.</summary>
    public static ClaimedIdentity Certificate(byte[] rawData) =>
        new("cert:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(rawData).AsSpan(0, 8)));

    /// <summary>What the key names, for logs and incidents: the kind and, for a user, the name.</summary>
    public string Describe() => Key.StartsWith("user:", StringComparison.Ordinal) ? Key : Key.Split(':')[0];
}
