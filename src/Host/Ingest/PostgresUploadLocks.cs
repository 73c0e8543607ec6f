using System.Buffers.Binary;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Ingest;

/// <summary>
/// <see cref="IUploadLocks"/> for nodes on one PostgreSQL database: transaction-scoped advisory locks in the one-bigint key
/// space (the metadata's per-path locks use the two-integer space, so the two never meet), keyed by the upload and the
/// chunk. A holder that dies releases its lock with its connection; a wait longer than <see cref="Timeout"/> fails as
/// unavailable (503, the client retries).
/// </summary>
public sealed class PostgresUploadLocks(PostgresDatabase database) : IUploadLocks
{
    /// <summary>How long a request waits for another node's hold of the same chunk or session.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <inheritdoc />
    public Task<IAsyncDisposable> LockChunkAsync(Guid uploadId, long index, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        return database.HoldAdvisoryLockAsync(Key(uploadId, index), Timeout, cancellationToken);
    }

    /// <inheritdoc />
    public Task<IAsyncDisposable> LockSessionAsync(Guid uploadId, CancellationToken cancellationToken) =>
        database.HoldAdvisoryLockAsync(Key(uploadId, -1), Timeout, cancellationToken);

    /// <summary>The lock key of chunk <paramref name="index"/> of an upload (-1: the session): its id's halves mixed with the index.</summary>
    internal static long Key(Guid uploadId, long index)
    {
        Span<byte> bytes = stackalloc byte[16];
        uploadId.TryWriteBytes(bytes);
        var mixed = BinaryPrimitives.ReadUInt64LittleEndian(bytes) ^ BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]);
        return unchecked((long)(mixed ^ ((ulong)(index + 1) * 0x9E3779B97F4A7C15UL)));
    }
}
