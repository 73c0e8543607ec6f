using System.Net;
using Microsoft.Extensions.Time.Testing;
using TurboMft.Host.Access;

namespace TurboMft.Host.Tests.Access;

public sealed class AuthenticationThrottleTests
{
    private static readonly IPAddress Attacker = IPAddress.Parse("192.0.2.7");
    private static readonly IPAddress Other = IPAddress.Parse("192.0.2.8");

    [Fact]
    public void Free_failures_are_not_delayed_then_delays_double_up_to_the_cap()
    {
        var time = new FakeTimeProvider();
        var throttle = new AuthenticationThrottle(time);
        for (var i = 1; i < AuthenticationThrottle.FreeFailures; i++)
        {
            throttle.RecordFailure(Attacker);
            Assert.Equal(TimeSpan.Zero, throttle.DelayFor(Attacker));
        }

        throttle.RecordFailure(Attacker);
        Assert.Equal(TimeSpan.FromMilliseconds(250), throttle.DelayFor(Attacker));
        throttle.RecordFailure(Attacker);
        Assert.Equal(TimeSpan.FromMilliseconds(500), throttle.DelayFor(Attacker));
        for (var i = 0; i < 20; i++)
        {
            throttle.RecordFailure(Attacker);
        }

        Assert.Equal(AuthenticationThrottle.MaxDelay, throttle.DelayFor(Attacker));
        Assert.Equal(TimeSpan.Zero, throttle.DelayFor(Other));
    }

    [Fact]
    public void Failures_expire_after_the_window_and_a_success_clears_the_address()
    {
        var time = new FakeTimeProvider();
        var throttle = new AuthenticationThrottle(time);
        for (var i = 0; i < 8; i++)
        {
            throttle.RecordFailure(Attacker);
        }

        Assert.True(throttle.DelayFor(Attacker) > TimeSpan.Zero);
        time.Advance(AuthenticationThrottle.Window + TimeSpan.FromSeconds(1));
        Assert.Equal(TimeSpan.Zero, throttle.DelayFor(Attacker));
        Assert.Equal(1, throttle.RecordFailure(Attacker));

        for (var i = 0; i < 8; i++)
        {
            throttle.RecordFailure(Other);
        }

        throttle.RecordSuccess(Other);
        Assert.Equal(TimeSpan.Zero, throttle.DelayFor(Other));
    }

    [Fact]
    public void Memory_stays_bounded_under_a_spread_out_attack()
    {
        var time = new FakeTimeProvider();
        var throttle = new AuthenticationThrottle(time);
        for (var i = 0; i < AuthenticationThrottle.MaxTrackedAddresses * 2; i++)
        {
            throttle.RecordFailure(new IPAddress(BitConverter.GetBytes(0x0A000000 + i)));
        }

        // The newest addresses are still remembered; the count never passed the cap.
        var newest = new IPAddress(BitConverter.GetBytes(0x0A000000 + (AuthenticationThrottle.MaxTrackedAddresses * 2) - 1));
        for (var i = 0; i < AuthenticationThrottle.FreeFailures; i++)
        {
            throttle.RecordFailure(newest);
        }

        Assert.True(throttle.DelayFor(newest) > TimeSpan.Zero);
        Assert.True(throttle.TrackedAddresses <= AuthenticationThrottle.MaxTrackedAddresses);
    }
}
