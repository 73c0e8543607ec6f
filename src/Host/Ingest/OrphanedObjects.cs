using Microsoft.Extensions.Logging;
using TurboMft.Engine.Storage;
using TurboMft.Host.Audit;
using TurboMft.Host.Metadata;

namespace TurboMft.Host.Ingest;

/// <summary>
/// Containers in <c>objects/</c> that nothing names: a commit killed between its rename and its metadata transaction (a
/// one-shot PUT or a batch), or a delete killed between the two. Found at start, before the server listens, so that no
/// commit can be in flight; moved to <c>orphaned/</c>, never deleted (docs/operations.md, "Orphaned containers").
/// </summary>
internal static class OrphanedObjects
{
    /// <summary>How many are named one by one in the log; the rest are counted.</summary>
    private const int LoggedByName = 20;

    /// <summary>Moves every unreferenced container aside; logs and audits what it moved. Returns how many.</summary>
    public static async Task<int> SetAsideAsync(IObjectStore store, IMetadataStore metadata, IAuditTrail audit, ILogger logger, CancellationToken cancellationToken)
    {
        var referenced = await metadata.ListReferencedObjectKeysAsync(cancellationToken).ConfigureAwait(false);
        var moved = 0;
        var bytes = 0L;
        foreach (var key in store.ListObjects().Where(k => !referenced.Contains(k)).ToList())
        {
            var length = store.LengthOf(key) ?? 0;
            var destination = store.SetAside(key);
            if (moved < LoggedByName)
            {
                logger.LogWarning("Container {Key} ({Bytes} bytes) belongs to no file version or open upload (a commit or delete cut short); moved to {Path}", key, length, destination);
            }

            moved++;
            bytes += length;
        }

        if (moved > 0)
        {
            var where = store.SetAsideLocation;
            logger.LogWarning("{Count} orphaned containers ({Bytes} bytes) moved to {Directory}; delete them once nothing is missing", moved, bytes, where);
            await audit.AppendDurableAsync(
                new AuditEvent { Action = "storage.orphaned", Actor = AuditActor.System, Outcome = AuditOutcome.Success, Size = bytes, Detail = $"{moved} containers that no version or open upload names moved to {where}" },
                cancellationToken).ConfigureAwait(false);
        }

        return moved;
    }
}
