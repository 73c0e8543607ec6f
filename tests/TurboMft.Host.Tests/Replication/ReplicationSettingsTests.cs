using TurboMft.Engine.Retries;
using TurboMft.Host.Replication;

namespace TurboMft.Host.Tests.Replication;

public sealed class ReplicationSettingsTests
{
    [Fact]
    public void Failed_jobs_back_off_with_full_jitter_under_a_doubling_ceiling_from_the_settings()
    {
        // docs/replication.md, "Outbox semantics (push)": a delay drawn uniformly from 0 to min(RetryMaxSeconds, RetryBaseSeconds × 2^attempts).
        var backoff = new ReplicationSettings().RetryBackoff();

        Assert.Equal(new Backoff(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(300), factor: 2, jitter: Backoff.FullJitter), backoff);
        Assert.Equal([2, 4, 8, 16, 32, 64, 128, 256, 300, 300], Enumerable.Range(0, 10).Select(n => backoff.Ceiling(n).TotalSeconds));
        Assert.Equal(new Backoff(TimeSpan.FromSeconds(0.2), TimeSpan.FromSeconds(1), jitter: Backoff.FullJitter), new ReplicationSettings { RetryBaseSeconds = 0.2, RetryMaxSeconds = 1 }.RetryBackoff());
    }
}
