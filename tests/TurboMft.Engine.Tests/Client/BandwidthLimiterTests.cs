using Microsoft.Extensions.Time.Testing;
using TurboMft.Engine.Client;

namespace TurboMft.Engine.Tests.Client;

/// <summary>The token bucket of replication's bandwidth limit, on a clock the test moves.</summary>
public sealed class BandwidthLimiterTests
{
    [Fact]
    public async Task A_second_of_bytes_passes_at_once_and_more_waits_until_the_bucket_refills()
    {
        var clock = new FakeTimeProvider();
        var limiter = new BandwidthLimiter(1024 * 1024, clock);
        await limiter.WaitAsync(1024 * 1024, TestContext.Current.CancellationToken);

        // Only the clock can complete the wait: its timers fire when the test advances it, never on their own.
        var next = limiter.WaitAsync(512 * 1024, TestContext.Current.CancellationToken).AsTask();
        Assert.False(next.IsCompleted);

        // Half a MiB at 1 MiB/s needs half a second of refill: not yet after 0.4 s, done by 0.6 s.
        clock.Advance(TimeSpan.FromMilliseconds(400));
        Assert.False(next.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(200));
        await next.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        Assert.True(next.IsCompletedSuccessfully);
    }

    [Fact]
    public void A_rate_below_one_KiB_per_second_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new BandwidthLimiter(1000));
}
