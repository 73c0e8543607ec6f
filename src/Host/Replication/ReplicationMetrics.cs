using Prometheus;
using TurboMft.Host.Metrics;

namespace TurboMft.Host.Replication;

/// <summary>
/// Replication instruments in the server's registry (docs/replication.md, "Metrics"). Label values are configured peer
/// names, so the series stay bounded.
/// </summary>
public sealed class ReplicationMetrics
{
    /// <summary>Creates the instruments in <paramref name="metrics"/>' registry.</summary>
    public ReplicationMetrics(ServerMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var factory = metrics.Factory;
        Backlog = factory.CreateGauge("turbomft_replication_backlog", "Replication jobs pending or running, per peer.", ["peer"]);
        OldestPendingSeconds = factory.CreateGauge("turbomft_replication_oldest_pending_seconds", "Age of the oldest replication job still open, per peer.", ["peer"]);
        Bytes = factory.CreateCounter("turbomft_replication_bytes_total", "Body bytes replicated, per peer and direction (push: sent; pull: received).", ["peer", "direction"]);
        Jobs = factory.CreateCounter("turbomft_replication_jobs_total", "Replication job attempts by outcome (done, skipped, failed, failed-permanent), per peer.", ["peer", "outcome"]);
    }

    /// <summary><c>turbomft_replication_backlog{peer}</c>.</summary>
    public Gauge Backlog { get; }

    /// <summary><c>turbomft_replication_oldest_pending_seconds{peer}</c>.</summary>
    public Gauge OldestPendingSeconds { get; }

    /// <summary><c>turbomft_replication_bytes_total{peer,direction}</c>.</summary>
    public Counter Bytes { get; }

    /// <summary><c>turbomft_replication_jobs_total{peer,outcome}</c>.</summary>
    public Counter Jobs { get; }

    /// <summary>Sets the backlog gauges from the outbox's figures (peers no longer listed go to zero).</summary>
    public void Observe(IReadOnlyList<PeerBacklog> backlog, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(backlog);
        var listed = backlog.Select(b => b.Peer).ToHashSet(StringComparer.Ordinal);
        foreach (var labels in Backlog.GetAllLabelValues().Where(l => !listed.Contains(l[0])))
        {
            Backlog.WithLabels(labels).Set(0);
            OldestPendingSeconds.WithLabels(labels).Set(0);
        }

        foreach (var peer in backlog)
        {
            Backlog.WithLabels(peer.Peer).Set(peer.Backlog);
            OldestPendingSeconds.WithLabels(peer.Peer).Set(peer.OldestPendingAt is { } at ? Math.Max(0, (now - at).TotalSeconds) : 0);
        }
    }
}
