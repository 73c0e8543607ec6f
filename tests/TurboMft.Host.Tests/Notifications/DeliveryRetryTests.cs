using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Polly;
using TurboMft.Engine.Retries;
using TurboMft.Host.Notifications;

namespace TurboMft.Host.Tests.Notifications;

/// <summary>
/// The delivery pipeline on a clock the test moves: Polly runs the attempts, and the waits between them are the product's
/// <see cref="Backoff"/> (docs/architecture.md, "Backoff") or the receiver's Retry-After. No test here sleeps.
/// </summary>
public sealed class DeliveryRetryTests
{
    private static readonly TimeSpan Tick = TimeSpan.FromTicks(1);
    private readonly TimerClock _clock = new();
    private readonly Channel<DateTimeOffset> _attempts = Channel.CreateUnbounded<DateTimeOffset>();

    [Fact]
    public async Task Each_wait_is_the_backoff_of_its_retry_to_the_tick()
    {
        var schedule = new RetrySchedule(new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(4)), TimeSpan.FromHours(1));
        var run = Run(schedule, failures: 4, retryAfter: null);
        var started = await NextAttemptAsync();

        foreach (var seconds in new[] { 1, 2, 4, 4 })
        {
            await _clock.WaitForTimerAsync();
            _clock.Advance(TimeSpan.FromSeconds(seconds) - Tick);
            Assert.False(_attempts.Reader.TryRead(out _), $"an attempt came before its {seconds} s wait was over");
            _clock.Advance(Tick);
            await NextAttemptAsync();
        }

        var (outcome, attempts) = await run;
        Assert.True(outcome.Result);
        Assert.Equal(5, attempts);
        Assert.Equal(started + TimeSpan.FromSeconds(11), _clock.GetUtcNow());
    }

    [Fact]
    public async Task The_default_schedule_waits_between_half_its_ceiling_and_the_ceiling()
    {
        var schedule = RetrySchedule.For(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(4), TimeSpan.FromHours(1));
        Assert.Equal(new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(4), 2, RetrySchedule.DeliveryJitter), schedule.Backoff);
        var run = Run(schedule, failures: 4, retryAfter: null);
        await NextAttemptAsync();

        foreach (var seconds in new[] { 1, 2, 4, 4 })
        {
            var ceiling = TimeSpan.FromSeconds(seconds);
            await _clock.WaitForTimerAsync();
            _clock.Advance((ceiling / 2) - Tick);
            Assert.False(_attempts.Reader.TryRead(out _), $"an attempt came before half its {seconds} s ceiling");
            _clock.Advance((ceiling / 2) + Tick);
            await NextAttemptAsync();
        }

        Assert.Equal(5, (await run).Attempts);
    }

    [Fact]
    public async Task A_retry_after_wins_over_the_backoff_beyond_its_cap_up_to_an_hour()
    {
        var schedule = new RetrySchedule(new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(4)), TimeSpan.FromDays(1));
        TimeSpan[] asked = [TimeSpan.FromSeconds(10), TimeSpan.FromHours(3)];
        var run = Run(schedule, failures: 2, retryAfter: attempt => asked[attempt - 1]);
        await NextAttemptAsync();

        foreach (var wait in new[] { TimeSpan.FromSeconds(10), DeliveryRetry.MaxRetryAfter })
        {
            await _clock.WaitForTimerAsync();
            _clock.Advance(wait - Tick);
            Assert.False(_attempts.Reader.TryRead(out _), $"an attempt came before the {wait} the receiver asked for");
            _clock.Advance(Tick);
            await NextAttemptAsync();
        }

        Assert.Equal(3, (await run).Attempts);
    }

    // Fails the first `failures` attempts (each naming its number in the error, for `retryAfter`), then succeeds.
    private Task<(Outcome<bool> Outcome, int Attempts)> Run(RetrySchedule schedule, int failures, Func<int, TimeSpan>? retryAfter)
    {
        var pipeline = DeliveryRetry.Build<bool>(
            schedule,
            _clock,
            NullLogger.Instance,
            "test",
            o => o.Exception is not null,
            o => o.Exception?.Message ?? "sent",
            retryAfter is null ? null : o => o.Exception is IOException e ? retryAfter(int.Parse(e.Message, System.Globalization.CultureInfo.InvariantCulture)) : null);
        var item = new QueuedIncident("0194f3c2-7b1e-7c3a-9d2e-5f6a7b8c9d0e", new Incident("test", "info", _clock.GetUtcNow(), "retry test"), null);
        var made = 0;
        return DeliveryRetry.RunAsync(
            pipeline,
            _clock,
            item,
            _ =>
            {
                made++;
                Assert.True(_attempts.Writer.TryWrite(_clock.GetUtcNow()));
                return made <= failures ? throw new IOException(made.ToString(System.Globalization.CultureInfo.InvariantCulture)) : ValueTask.FromResult(true);
            },
            TestContext.Current.CancellationToken);
    }

    private async Task<DateTimeOffset> NextAttemptAsync() =>
        await _attempts.Reader.ReadAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

    /// <summary>A fake clock that tells when a timer has been set, so that the test moves time only once Polly waits.</summary>
    private sealed class TimerClock : FakeTimeProvider
    {
        private readonly SemaphoreSlim _timers = new(0);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            _timers.Release();
            return timer;
        }

        public async Task WaitForTimerAsync() =>
            Assert.True(await _timers.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken), "Polly set no timer for the next attempt");
    }
}
