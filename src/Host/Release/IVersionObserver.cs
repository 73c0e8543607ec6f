using TurboMft.Host.Metadata;

namespace TurboMft.Host.Release;

/// <summary>
/// Told when a version becomes released or a current version is deleted, after the change is durable (replication's
/// outbox enqueues its jobs here). An observer must not throw for its own failures: a sweep catches up on what it missed.
/// </summary>
public interface IVersionObserver
{
    /// <summary>The version was released (scanned clean, approved, or released from quarantine).</summary>
    Task ReleasedAsync(FileVersion version, CancellationToken cancellationToken);

    /// <summary>The version, current until now, was deleted.</summary>
    Task DeletedAsync(FileVersion version, CancellationToken cancellationToken);
}
