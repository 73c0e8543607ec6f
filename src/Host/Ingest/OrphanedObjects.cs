using Microsoft.Extensions.Logging;
using TurboMft.Engine.Storage;
using TurboMft.Host.Audit;
using TurboMft.Host.Cluster;
using TurboMft.Host.Metadata;

namespace TurboMft.Host.Ingest;

/// <summary>
/// Containers in <c>objects/</c> that nothing names: a commit killed between its rename and its metadata transaction (a
/// one-shot PUT or a batch), or a delete killed between the two. Embedded they are found at start, before the server
/// listens, so that no commit can be in flight; on a shared store (several nodes) by <see cref="OrphanSweepService"/>
/// under a lease, sparing containers younger than a grace period, which another node may be committing. Moved to
/// <c>orphaned/</c>, never deleted (docs/operations.md, "Orphaned containers").
/// </summary>
internal static class OrphanedObjects
{
    /// <summary>How many are named one by one in the log; the rest are counted.</summary>
    private const int LoggedByName = 20;

    /// <summary>
    /// Moves every unreferenced container aside (with <paramref name="grace"/>, only those committed longer ago than that;
    /// with <paramref name="lease"/>, each move checks its fencing token first); logs and audits what it moved. Returns how many.
    /// </summary>
    /// <exception cref="LeaseLostException">The lease was lost part-way; what was moved before stays moved.</exception>
    public static async Task<int> SetAsideAsync(
        IObjectStore store, IMetadataStore metadata, IAuditTrail audit, ILogger logger, TimeSpan? grace, HeldLease? lease, CancellationToken cancellationToken)
    {
        // Listed before the references are read: a container committed after the read of the references is not listed.
        var now = DateTimeOffset.UtcNow;
        var listed = store.ListObjects().Where(k => grace is not { } g || store.CommittedAt(k) is { } at && now - at >= g).ToList();
        var referenced = await metadata.ListReferencedObjectKeysAsync(cancellationToken).ConfigureAwait(false);
        var moved = 0;
        var bytes = 0L;
        try
        {
            foreach (var key in listed.Where(k => !referenced.Contains(k)))
            {
                if (lease is not null)
                {
                    await lease.EnsureCurrentAsync(cancellationToken).ConfigureAwait(false);
                }

                var length = store.LengthOf(key) ?? 0;
                var destination = store.SetAside(key);
                if (moved < LoggedByName)
                {
                    logger.LogWarning("Container {Key} ({Bytes} bytes) belongs to no file version or open upload (a commit or delete cut short); moved to {Path}", key, length, destination);
                }

                moved++;
                bytes += length;
            }
        }
        finally
        {
            if (moved > 0)
            {
                var where = store.SetAsideLocation;
                logger.LogWarning("{Count} orphaned containers ({Bytes} bytes) moved to {Directory}; delete them once nothing is missing", moved, bytes, where);
                await audit.AppendDurableAsync(
                    new AuditEvent { Action = "storage.orphaned", Actor = AuditActor.System, Outcome = AuditOutcome.Success, Size = bytes, Detail = $"{moved} containers that no version or open upload names moved to {where}" },
                    CancellationToken.None).ConfigureAwait(false);
            }
        }

        return moved;
    }
}
