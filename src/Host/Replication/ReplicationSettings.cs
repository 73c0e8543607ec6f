using Microsoft.Extensions.Options;
using TurboMft.Engine.Retries;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Replication;

/// <summary>The replication worker's settings, section <c>Replication</c> (docs/replication.md, "Settings").</summary>
public sealed class ReplicationSettings
{
    /// <summary>Whether this node runs its replication worker and pull poller (rules are kept either way).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Jobs read from the outbox per round: the worker never holds more than this many in memory.</summary>
    public int Batch { get; set; } = 32;

    /// <summary>Jobs running at once towards one peer.</summary>
    public int ConcurrencyPerPeer { get; set; } = 8;

    /// <summary>Jobs running at once over all peers.</summary>
    public int MaxConcurrentJobs { get; set; } = 16;

    /// <summary>Chunks in flight per file transfer (connections to the peer).</summary>
    public int Connections { get; set; } = 4;

    /// <summary>First retry delay in seconds; doubled per attempt, with full jitter.</summary>
    public double RetryBaseSeconds { get; set; } = 2;

    /// <summary>Longest retry delay in seconds.</summary>
    public double RetryMaxSeconds { get; set; } = 300;

    /// <summary>Seconds between two polls of a continuous pull rule's peer area.</summary>
    public double PollSeconds { get; set; } = 30;

    /// <summary>Seconds between two sweeps that enqueue released versions lacking a job (after a crash between release and enqueue).</summary>
    public double SweepSeconds { get; set; } = 60;

    /// <summary>Longest idle wait of the worker in seconds before it looks at the outbox again without being woken.</summary>
    public double IdleSeconds { get; set; } = 5;

    /// <summary>Per-request timeout towards a peer in seconds (one chunk), so a peer that stops answering fails the attempt.</summary>
    public double RequestTimeoutSeconds { get; set; } = 60;

    /// <summary>
    /// Seconds a claimed job stays leased to this node's worker without a renewal (renewed every third of it while the job
    /// runs); after that another worker on the same outbox may take it over. 15 s, so a killed node's jobs move within
    /// about 20 s (docs/cluster.md).
    /// </summary>
    public double LeaseSeconds { get; set; } = 15;

    /// <summary><see cref="LeaseSeconds"/> as a time span.</summary>
    public TimeSpan Lease => TimeSpan.FromSeconds(LeaseSeconds);

    /// <summary>The waits before a failed job's next attempt: doubling from <see cref="RetryBaseSeconds"/> up to <see cref="RetryMaxSeconds"/>, full jitter.</summary>
    public Backoff RetryBackoff() => new(TimeSpan.FromSeconds(RetryBaseSeconds), TimeSpan.FromSeconds(RetryMaxSeconds), jitter: Backoff.FullJitter);

    /// <summary>Throws <see cref="ArgumentException"/> naming every setting that cannot work.</summary>
    public void Validate() => new ReplicationSettingsValidation().ThrowIfInvalid(this);
}

/// <summary>Validates <see cref="ReplicationSettings"/> (the <c>Replication</c> section).</summary>
public sealed class ReplicationSettingsValidation : IValidateOptions<ReplicationSettings>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, ReplicationSettings options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var o = options;
        List<string> failures = [];
        Check(failures, o.Batch is >= 1 and <= 10_000, $"Replication:Batch is {o.Batch}; give 1 to 10000.");
        Check(failures, o.ConcurrencyPerPeer is >= 1 and <= 64, $"Replication:ConcurrencyPerPeer is {o.ConcurrencyPerPeer}; give 1 to 64.");
        Check(failures, o.MaxConcurrentJobs is >= 1 and <= 256, $"Replication:MaxConcurrentJobs is {o.MaxConcurrentJobs}; give 1 to 256.");
        Check(failures, o.Connections is >= 1 and <= 64, $"Replication:Connections is {o.Connections}; give 1 to 64.");
        Check(failures, o.RetryBaseSeconds > 0 && o.RetryMaxSeconds >= o.RetryBaseSeconds, $"Replication:RetryBaseSeconds ({o.RetryBaseSeconds}) must be positive and at most RetryMaxSeconds ({o.RetryMaxSeconds}).");
        Check(failures, o.PollSeconds > 0 && o.SweepSeconds > 0 && o.IdleSeconds > 0 && o.RequestTimeoutSeconds > 0, "Replication:PollSeconds, SweepSeconds, IdleSeconds and RequestTimeoutSeconds must be positive.");
        Check(failures, o.LeaseSeconds >= 3, $"Replication:LeaseSeconds is {o.LeaseSeconds}; give at least 3 (the lease is renewed every third of it).");
        return SettingsValidation.Result(failures);
    }

    private static void Check(List<string> failures, bool ok, string message)
    {
        if (!ok)
        {
            failures.Add(message);
        }
    }
}
