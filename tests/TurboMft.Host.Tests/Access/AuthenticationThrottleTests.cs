using System.Net;
using Microsoft.Extensions.Time.Testing;
using TurboMft.Host.Access;

namespace TurboMft.Host.Tests.Access;

public sealed class AuthenticationThrottleTests
{
    private static readonly IPAddress Attacker = IPAddress.Parse("192.0.2.7");
    private static readonly IPAddress Other = IPAddress.Parse("192.0.2.8");
    private static readonly ClaimedIdentity BadToken = ClaimedIdentity.Token("tmf_guess");
    private static readonly ClaimedIdentity ValidToken = ClaimedIdentity.Token("tmf_valid");

    [Fact]
    public void Free_failures_cost_nothing_then_answers_are_held_doubling_and_past_the_hold_rejected()
    {
        var throttle = new AuthenticationThrottle(new FakeTimeProvider(), new AuthenticationThrottleSettings());
        for (var i = 1; i < 5; i++)
        {
            Assert.Equal(new ThrottleDecision(ThrottleAction.None, TimeSpan.Zero, i, i), throttle.RecordFailure(Attacker, BadToken));
        }

        Assert.Equal((ThrottleAction.Hold, TimeSpan.FromMilliseconds(250)), Decide(throttle));
        Assert.Equal((ThrottleAction.Hold, TimeSpan.FromMilliseconds(500)), Decide(throttle));
        Assert.Equal((ThrottleAction.Hold, TimeSpan.FromSeconds(1)), Decide(throttle));
        Assert.Equal((ThrottleAction.Hold, TimeSpan.FromSeconds(2)), Decide(throttle));
        Assert.Equal((ThrottleAction.Reject, TimeSpan.FromSeconds(4)), Decide(throttle));
        for (var i = 0; i < 20; i++)
        {
            throttle.RecordFailure(Attacker, BadToken);
        }

        Assert.Equal((ThrottleAction.Reject, TimeSpan.FromSeconds(10)), Decide(throttle));
    }

    [Fact]
    public void A_flood_from_an_address_never_bars_another_credential_from_it_but_bars_the_flooding_one()
    {
        var time = new FakeTimeProvider();
        var throttle = new AuthenticationThrottle(time, new AuthenticationThrottleSettings());
        for (var i = 0; i < 1000; i++)
        {
            throttle.RecordFailure(Attacker, BadToken);
        }

        Assert.Equal(TimeSpan.Zero, throttle.RetryAfter(Attacker, ValidToken));
        Assert.Equal(TimeSpan.FromSeconds(10), throttle.RetryAfter(Attacker, BadToken));
        time.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(TimeSpan.FromSeconds(6), throttle.RetryAfter(Attacker, BadToken));

        // Another credential's failure from the flooded address pays the address's delay; its own slate was clean.
        Assert.Equal((ThrottleAction.Reject, TimeSpan.FromSeconds(10)), Decide(throttle, Attacker, ClaimedIdentity.Token("tmf_other")));
        Assert.Equal(TimeSpan.Zero, throttle.RetryAfter(Attacker, ClaimedIdentity.Token("tmf_other")));
        time.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(TimeSpan.Zero, throttle.RetryAfter(Attacker, BadToken));
    }

    [Fact]
    public void Held_delays_do_not_bar_the_next_attempt_only_rejected_ones_do()
    {
        var time = new FakeTimeProvider();
        var throttle = new AuthenticationThrottle(time, new AuthenticationThrottleSettings());
        for (var i = 0; i < 8; i++)
        {
            throttle.RecordFailure(Attacker, BadToken);
        }

        // The eighth failure earned a 2 s hold, paid on the connection: the next attempt is checked at once.
        Assert.Equal(TimeSpan.Zero, throttle.RetryAfter(Attacker, BadToken));
        throttle.RecordFailure(Attacker, BadToken);
        Assert.Equal(TimeSpan.FromSeconds(4), throttle.RetryAfter(Attacker, BadToken));
    }

    [Fact]
    public void One_user_attacked_from_many_addresses_is_barred_everywhere_others_are_not()
    {
        var time = new FakeTimeProvider();
        var throttle = new AuthenticationThrottle(time, new AuthenticationThrottleSettings { IdentityFreeFailures = 20 });
        var dora = ClaimedIdentity.User("Dora");
        ThrottleDecision last = default;
        for (var i = 0; i < 24; i++)
        {
            // Two failures per address: no address and no (address, user) pair reaches its five free failures.
            last = throttle.RecordFailure(new IPAddress([198, 51, 100, (byte)(i / 2)]), dora);
        }

        Assert.Equal((24, 2, ThrottleAction.Reject), (last.IdentityFailures, last.AddressFailures, last.Action));
        Assert.Equal(ClaimedIdentity.User("dora"), dora);
        Assert.True(throttle.RetryAfter(Other, dora) > TimeSpan.FromSeconds(2));
        Assert.Equal(TimeSpan.Zero, throttle.RetryAfter(Other, ClaimedIdentity.User("erin")));
    }

    [Fact]
    public void Failures_expire_after_the_window_and_a_success_clears_only_its_own_pair()
    {
        var time = new FakeTimeProvider();
        var throttle = new AuthenticationThrottle(time, new AuthenticationThrottleSettings());
        for (var i = 0; i < 9; i++)
        {
            throttle.RecordFailure(Attacker, BadToken);
        }

        Assert.True(throttle.RetryAfter(Attacker, BadToken) > TimeSpan.Zero);
        time.Advance(throttle.Window + TimeSpan.FromSeconds(1));
        Assert.Equal(TimeSpan.Zero, throttle.RetryAfter(Attacker, BadToken));
        Assert.Equal(1, throttle.RecordFailure(Attacker, BadToken).AddressFailures);

        var user = ClaimedIdentity.User("finn");
        for (var i = 0; i < 9; i++)
        {
            throttle.RecordFailure(Other, user);
        }

        // A success as finn forgets finn's failures from this address, not the address's total.
        throttle.RecordSuccess(Other, user);
        Assert.Equal(TimeSpan.Zero, throttle.RetryAfter(Other, user));
        Assert.Equal(10, throttle.RecordFailure(Other, ClaimedIdentity.None).AddressFailures);
    }

    [Fact]
    public void Memory_stays_bounded_under_a_spread_out_attack()
    {
        var settings = new AuthenticationThrottleSettings { MaxTrackedKeys = 1000 };
        var time = new FakeTimeProvider();
        var throttle = new AuthenticationThrottle(time, settings);
        for (var i = 0; i < settings.MaxTrackedKeys * 3; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(1));
            throttle.RecordFailure(new IPAddress(BitConverter.GetBytes(0x0A000000 + i)), ClaimedIdentity.Token("tmf_" + i));
        }

        // The newest address is still remembered; no kind of key ever passed the cap.
        var newest = new IPAddress(BitConverter.GetBytes(0x0A000000 + (settings.MaxTrackedKeys * 3) - 1));
        Assert.Equal(2, throttle.RecordFailure(newest, BadToken).AddressFailures);
        Assert.True(throttle.TrackedKeys <= 3 * settings.MaxTrackedKeys, $"{throttle.TrackedKeys} keys tracked");
    }

    [Fact]
    public void Hold_slots_are_bounded_and_given_back()
    {
        var throttle = new AuthenticationThrottle(new FakeTimeProvider(), new AuthenticationThrottleSettings { MaxHeldRequests = 3 });
        Assert.True(throttle.TryEnterHold());
        Assert.True(throttle.TryEnterHold());
        Assert.True(throttle.TryEnterHold());
        Assert.False(throttle.TryEnterHold());
        Assert.Equal((3, 3), (throttle.Held, throttle.PeakHeld));
        throttle.ExitHold();
        Assert.True(throttle.TryEnterHold());
        Assert.Equal(3, throttle.PeakHeld);
    }

    [Theory]
    [InlineData("FreeFailures", "Throttle:FreeFailures is 0")]
    [InlineData("MaxHoldSeconds", "Throttle:MaxHoldSeconds is -1")]
    [InlineData("MaxTrackedKeys", "Throttle:MaxTrackedKeys is 0")]
    public void A_setting_out_of_range_is_named(string setting, string message)
    {
        var settings = new AuthenticationThrottleSettings();
        typeof(AuthenticationThrottleSettings).GetProperty(setting)!.SetValue(settings, setting == "MaxHoldSeconds" ? -1.0 : (object)0);
        var error = Assert.Throws<ArgumentException>(() => new AuthenticationThrottle(TimeProvider.System, settings));
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Claimed_identities_never_hold_the_secret()
    {
        var token = "tmf_" + new string('x', 43);
        var identity = ClaimedIdentity.Token(token);
        Assert.DoesNotContain("xxxx", identity.Key, StringComparison.Ordinal);
        Assert.Equal("token", identity.Describe());
        Assert.Equal(identity, ClaimedIdentity.Token(token));
        Assert.NotEqual(identity, ClaimedIdentity.Token(token + "y"));
    }

    private static (ThrottleAction, TimeSpan) Decide(AuthenticationThrottle throttle) => Decide(throttle, Attacker, BadToken);

    private static (ThrottleAction, TimeSpan) Decide(AuthenticationThrottle throttle, IPAddress address, ClaimedIdentity identity)
    {
        var decision = throttle.RecordFailure(address, identity);
        return (decision.Action, decision.Delay);
    }
}
