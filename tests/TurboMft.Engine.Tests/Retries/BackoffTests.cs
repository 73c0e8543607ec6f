using TurboMft.Engine.Retries;

namespace TurboMft.Engine.Tests.Retries;

public sealed class BackoffTests
{
    private static readonly TimeSpan Ms = TimeSpan.FromMilliseconds(1);

    [Fact]
    public void The_ceiling_doubles_from_the_first_wait_up_to_the_cap()
    {
        var backoff = new Backoff(100 * Ms, 1000 * Ms);

        TimeSpan[] expected = [100 * Ms, 200 * Ms, 400 * Ms, 800 * Ms, 1000 * Ms, 1000 * Ms];
        Assert.Equal(expected, Enumerable.Range(0, expected.Length).Select(backoff.Ceiling));
    }

    [Fact]
    public void Another_factor_grows_the_ceiling_by_it()
    {
        var backoff = new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(20), factor: 3);

        Assert.Equal(TimeSpan.FromSeconds(1), backoff.Ceiling(0));
        Assert.Equal(TimeSpan.FromSeconds(3), backoff.Ceiling(1));
        Assert.Equal(TimeSpan.FromSeconds(9), backoff.Ceiling(2));
        Assert.Equal(TimeSpan.FromSeconds(20), backoff.Ceiling(3));
        Assert.Equal(TimeSpan.FromSeconds(5), new Backoff(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(60), factor: 1).Ceiling(7));
    }

    [Theory]
    [InlineData(31)]
    [InlineData(64)]
    [InlineData(2000)]
    [InlineData(int.MaxValue)]
    public void A_late_retry_waits_the_cap_instead_of_overflowing(int retry)
    {
        Assert.Equal(TimeSpan.FromMinutes(5), new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5)).Ceiling(retry));
        Assert.Equal(TimeSpan.MaxValue, new Backoff(TimeSpan.FromDays(1), TimeSpan.MaxValue).Ceiling(retry));
    }

    [Fact]
    public void A_cap_below_the_first_wait_caps_the_first_too_and_a_zero_first_wait_stays_zero()
    {
        Assert.Equal(TimeSpan.FromSeconds(2), new Backoff(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(2)).Ceiling(0));
        Assert.Equal(TimeSpan.Zero, new Backoff(TimeSpan.Zero, TimeSpan.FromSeconds(2)).Ceiling(int.MaxValue));
        Assert.Equal(TimeSpan.Zero, new Backoff(TimeSpan.Zero, TimeSpan.FromSeconds(2), jitter: Backoff.FullJitter).Delay(3, new FixedRandom(0.5)));
    }

    [Fact]
    public void Without_jitter_every_wait_is_its_ceiling_whatever_the_random_source()
    {
        var backoff = new Backoff(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(300));

        Assert.Equal(Backoff.NoJitter, backoff.Jitter);
        foreach (var sample in new[] { 0, 0.5, 0.999 })
        {
            Assert.Equal(TimeSpan.FromSeconds(5), backoff.Delay(0, new FixedRandom(sample)));
            Assert.Equal(TimeSpan.FromSeconds(40), backoff.Delay(3, new FixedRandom(sample)));
            Assert.Equal(TimeSpan.FromSeconds(300), backoff.Delay(6, new FixedRandom(sample)));
        }

        Assert.Equal(TimeSpan.FromSeconds(160), backoff.Delay(5));
    }

    [Fact]
    public void Full_jitter_scales_the_ceiling_by_the_random_sample()
    {
        var backoff = new Backoff(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(300), jitter: Backoff.FullJitter);

        Assert.Equal(TimeSpan.Zero, backoff.Delay(2, new FixedRandom(0)));
        Assert.Equal(TimeSpan.FromSeconds(2), backoff.Delay(2, new FixedRandom(0.25)));
        Assert.Equal(TimeSpan.FromSeconds(150), backoff.Delay(9, new FixedRandom(0.5)));
        Assert.True(backoff.Delay(2, new FixedRandom(Math.BitDecrement(1.0))) < TimeSpan.FromSeconds(8));
    }

    [Fact]
    public void Partial_jitter_draws_only_its_share_of_the_ceiling()
    {
        var backoff = new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(300), jitter: 0.5);

        Assert.Equal(TimeSpan.FromSeconds(2), backoff.Delay(2, new FixedRandom(0)));
        Assert.Equal(TimeSpan.FromSeconds(3), backoff.Delay(2, new FixedRandom(0.5)));
        Assert.Equal(TimeSpan.FromSeconds(150), backoff.Delay(12, new FixedRandom(0)));
        Assert.InRange(backoff.Delay(12, new FixedRandom(Math.BitDecrement(1.0))), TimeSpan.FromSeconds(299.999), TimeSpan.FromSeconds(300));
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.5)]
    [InlineData(0.1)]
    public void Jittered_waits_stay_within_their_share_of_the_ceiling_and_spread_over_it(double jitter)
    {
        var backoff = new Backoff(TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(10), jitter: jitter);
        var random = new Random(20_261_126);

        for (var retry = 0; retry < 8; retry++)
        {
            var ceiling = backoff.Ceiling(retry);
            var floor = TimeSpan.FromTicks((long)(ceiling.Ticks * (1 - jitter)));
            var waits = Enumerable.Range(0, 2000).Select(_ => backoff.Delay(retry, random)).ToList();
            Assert.All(waits, wait => Assert.InRange(wait, floor, ceiling));

            // Uniform between floor and ceiling: both halves of the range are drawn, and the mean sits near the middle.
            var middle = (floor + ceiling) / 2;
            Assert.Contains(waits, wait => wait < middle);
            Assert.Contains(waits, wait => wait >= middle);
            Assert.InRange(waits.Average(wait => wait.Ticks), middle.Ticks - ((ceiling - floor).Ticks * 0.1), middle.Ticks + ((ceiling - floor).Ticks * 0.1));
        }
    }

    [Fact]
    public void Out_of_range_values_are_refused()
    {
        var second = TimeSpan.FromSeconds(1);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Backoff(-second, second));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Backoff(second, -second));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Backoff(second, second, factor: 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Backoff(second, second, factor: double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Backoff(second, second, factor: double.PositiveInfinity));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Backoff(second, second, jitter: -0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Backoff(second, second, jitter: 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Backoff(second, second, jitter: double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Backoff(second, second).Ceiling(-1));
        Assert.Throws<ArgumentNullException>(() => new Backoff(second, second).Delay(0, null!));
    }

    [Fact]
    public void Two_backoffs_with_the_same_values_are_equal()
    {
        Assert.Equal(new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5), 2, 0.5), new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5), jitter: 0.5));
        Assert.NotEqual(new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5)), new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5), jitter: 0.5));
    }

    /// <summary>A random source that always draws the same sample.</summary>
    private sealed class FixedRandom(double sample) : Random
    {
        public override double NextDouble() => sample;
    }
}
