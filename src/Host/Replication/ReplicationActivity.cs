using System.Collections.Concurrent;

namespace TurboMft.Host.Replication;

/// <summary>
/// What the worker did lately, per peer, in memory: bytes over the last minute (for bytes per second) and jobs running.
/// The durable figures (backlog, counts, last error) come from the outbox.
/// </summary>
public sealed class ReplicationActivity(TimeProvider time)
{
    /// <summary>The window over which bytes per second are averaged.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(60);

    private readonly ConcurrentDictionary<string, PeerActivity> _peers = new(StringComparer.Ordinal);

    /// <summary>Counts <paramref name="bytes"/> moved to or from <paramref name="peer"/> now.</summary>
    public void AddBytes(string peer, long bytes) => For(peer).Add(time.GetTimestamp(), bytes);

    /// <summary>Bytes per second to and from <paramref name="peer"/> over the last <see cref="Window"/> (over the time since the first byte when shorter).</summary>
    public double BytesPerSecond(string peer) => _peers.TryGetValue(peer, out var activity) ? activity.Rate(time) : 0;

    /// <summary>Jobs of <paramref name="peer"/> running now.</summary>
    public int Running(string peer) => _peers.TryGetValue(peer, out var activity) ? Volatile.Read(ref activity.RunningCount) : 0;

    /// <summary>Notes a job starting (true) or ending (false).</summary>
    public void Track(string peer, bool starting)
    {
        var activity = For(peer);
        if (starting)
        {
            Interlocked.Increment(ref activity.RunningCount);
        }
        else
        {
            Interlocked.Decrement(ref activity.RunningCount);
        }
    }

    private PeerActivity For(string peer) => _peers.GetOrAdd(peer, _ => new PeerActivity());

    private sealed class PeerActivity
    {
        private readonly Queue<(long At, long Bytes)> _samples = new();
        private readonly Lock _gate = new();
        private long _first = -1;

        public int RunningCount;

        public void Add(long at, long bytes)
        {
            lock (_gate)
            {
                if (_first < 0)
                {
                    _first = at;
                }

                _samples.Enqueue((at, bytes));
            }
        }

        public double Rate(TimeProvider time)
        {
            var now = time.GetTimestamp();
            lock (_gate)
            {
                while (_samples.Count > 0 && time.GetElapsedTime(_samples.Peek().At, now) > Window)
                {
                    _samples.Dequeue();
                }

                if (_samples.Count == 0)
                {
                    return 0;
                }

                var span = Math.Min(Window.TotalSeconds, time.GetElapsedTime(_first, now).TotalSeconds);
                return _samples.Sum(s => s.Bytes) / Math.Max(1, span);
            }
        }
    }
}
