namespace TurboMft.Engine.Client;

/// <summary>
/// A token bucket on bytes sent: callers wait before sending so that the average rate stays at most
/// <see cref="BytesPerSecond"/>, with bursts of up to one second's worth. Thread-safe; one per transfer or per rule.
/// </summary>
public sealed class BandwidthLimiter
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private double _available;
    private long _last;

    /// <summary>Creates a limiter of <paramref name="bytesPerSecond"/> (at least 1024).</summary>
    public BandwidthLimiter(long bytesPerSecond, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bytesPerSecond, 1024);
        BytesPerSecond = bytesPerSecond;
        _time = time ?? TimeProvider.System;
        _last = _time.GetTimestamp();
        _available = bytesPerSecond;
    }

    /// <summary>The rate limit.</summary>
    public long BytesPerSecond { get; }

    /// <summary>Takes <paramref name="bytes"/> from the bucket, waiting while it is in debt.</summary>
    public async ValueTask WaitAsync(long bytes, CancellationToken cancellationToken)
    {
        TimeSpan wait;
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            _available = Math.Min(BytesPerSecond, _available + (_time.GetElapsedTime(_last, now).TotalSeconds * BytesPerSecond));
            _last = now;
            _available -= bytes;
            wait = _available < 0 ? TimeSpan.FromSeconds(-_available / BytesPerSecond) : TimeSpan.Zero;
        }

        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
        }
    }
}
