namespace TurboMft.Host.Ingest;

/// <summary>
/// Exclusion between the steps of one upload session that several nodes may take at once when they share the object
/// store (docs/cluster.md, "An upload on several nodes"): writing one chunk's slot, and reopening or completing the
/// session. The locks of one upload never nest, so they cannot deadlock; a node that dies releases what it held.
/// </summary>
public interface IUploadLocks
{
    /// <summary>Holds chunk <paramref name="index"/> of upload <paramref name="uploadId"/> until disposed: one writer of its slot at a time.</summary>
    /// <exception cref="Infrastructure.StoreUnavailableException">The lock could not be taken (the database is away, or another holder kept it too long).</exception>
    Task<IAsyncDisposable> LockChunkAsync(Guid uploadId, long index, CancellationToken cancellationToken);

    /// <summary>Holds upload <paramref name="uploadId"/> until disposed: one node at a time reopens or completes it.</summary>
    /// <exception cref="Infrastructure.StoreUnavailableException">As <see cref="LockChunkAsync"/>.</exception>
    Task<IAsyncDisposable> LockSessionAsync(Guid uploadId, CancellationToken cancellationToken);
}
