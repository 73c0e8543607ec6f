using TurboMft.Engine.Client;

namespace TurboMft.Engine.Tests.Client;

/// <summary>The token bucket of replication's bandwidth limit, on a clock the test moves.</summary>
public sealed class BandwidthLimiterTests
{
    [Fact]
    public async Task A_second_of_bytes_passes_at_once_and_more_waits_until_the_bucket_refills()
    {
        var clock = new SteppedClock();
        var limiter = new BandwidthLimiter(1024 * 1024, clock);
        await limiter.WaitAsync(1024 * 1024, TestContext.Current.CancellationToken);

        var next = limiter.WaitAsync(512 * 1024, TestContext.Current.CancellationToken).AsTask();
        await Task.Delay(50, TestContext.Current.CancellationToken);
        Assert.False(next.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(600));
        await next.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        Assert.True(next.IsCompletedSuccessfully);
    }

    [Fact]
    public void A_rate_below_one_KiB_per_second_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new BandwidthLimiter(1000));

    /// <summary>A clock whose time and timers move only when the test says so.</summary>
    private sealed class SteppedClock : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) => new Timer(this, callback, state, dueTime);

        public void Advance(TimeSpan by)
        {
            Interlocked.Add(ref _ticks, by.Ticks);
            List<Timer> due;
            lock (_pending)
            {
                due = [.. _pending.Where(t => t.Due <= GetTimestamp())];
                _pending.RemoveAll(due.Contains);
            }

            foreach (var timer in due)
            {
                timer.Fire();
            }
        }

        private readonly List<Timer> _pending = [];

        private sealed class Timer : ITimer
        {
            private readonly SteppedClock _clock;
            private readonly TimerCallback _callback;
            private readonly object? _state;

            public Timer(SteppedClock clock, TimerCallback callback, object? state, TimeSpan dueTime)
            {
                _clock = clock;
                _callback = callback;
                _state = state;
                Change(dueTime, Timeout.InfiniteTimeSpan);
            }

            public long Due { get; private set; }

            public void Fire() => _callback(_state);

            public bool Change(TimeSpan dueTime, TimeSpan period)
            {
                lock (_clock._pending)
                {
                    _clock._pending.Remove(this);
                    if (dueTime != Timeout.InfiniteTimeSpan)
                    {
                        Due = _clock.GetTimestamp() + dueTime.Ticks;
                        _clock._pending.Add(this);
                    }
                }

                return true;
            }

            public void Dispose()
            {
                lock (_clock._pending)
                {
                    _clock._pending.Remove(this);
                }
            }

            public ValueTask DisposeAsync()
            {
                Dispose();
                return ValueTask.CompletedTask;
            }
        }
    }
}
