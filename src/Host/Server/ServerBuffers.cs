using System.Collections.Concurrent;
using TurboMft.Engine.Buffers;
using TurboMft.Engine.Container;
using TurboMft.Host.Metrics;

namespace TurboMft.Host.Server;

/// <summary>
/// The server's chunk buffers: one pool per chunk size, each with a byte budget, so the memory held by requests in
/// flight is bounded whatever the number of clients or the file sizes; a request past the budget waits for a buffer.
/// </summary>
public sealed class ServerBuffers : IDisposable
{
    /// <summary>Bytes of chunk buffers one chunk size may hold at once.</summary>
    public const long BudgetBytesPerChunkSize = 256L << 20;

    private readonly ConcurrentDictionary<int, ChunkBufferPool> _pools = new();

    /// <summary>Creates the pools' owner; their use is reported through <paramref name="metrics"/>.</summary>
    public ServerBuffers(TransferMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        metrics.ObservePools(() => _pools);
    }

    /// <summary>The pool for records of chunks of <paramref name="chunkSize"/> bytes.</summary>
    public ChunkBufferPool For(int chunkSize) => _pools.GetOrAdd(chunkSize, size =>
    {
        var bufferSize = ContainerFormat.BufferSizeFor(size);
        return new ChunkBufferPool(bufferSize, (int)Math.Clamp(BudgetBytesPerChunkSize / bufferSize, 4, 256));
    });

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var pool in _pools.Values)
        {
            pool.Dispose();
        }
    }
}
