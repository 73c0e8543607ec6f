using System.Collections.Concurrent;
using TurboMft.Engine.Buffers;
using TurboMft.Engine.Container;

namespace TurboMft.Host.Infrastructure;

/// <summary>
/// The server's chunk buffers: one pool per chunk size, each with a byte budget, so the memory held by requests in
/// flight is bounded whatever the number of clients or the file sizes; a request past the budget waits for a buffer.
/// </summary>
public sealed class ServerBuffers : IDisposable
{
    /// <summary>
    /// Bytes of chunk buffers one chunk size may hold at once: 30 buffers of 4 MiB chunks, several per core; 256 MiB held
    /// the server over 512 MiB of RSS under 256 clients without moving more bytes (docs/benchmarks.md, "Load").
    /// </summary>
    public const long BudgetBytesPerChunkSize = 128L << 20;

    /// <summary>
    /// Most buffers the scan streams of one chunk size hold at once: a bound never reached in practice (each open stream
    /// holds two; streams are ScanConcurrency × scanners), so a scan stream never waits on another.
    /// </summary>
    public const int ScanBuffersPerChunkSize = 1024;

    private readonly ConcurrentDictionary<int, ChunkBufferPool> _pools = new();
    private readonly ConcurrentDictionary<int, ChunkBufferPool> _scanPools = new();

    /// <summary>The request pools by chunk size, for the metrics of their use (the scan pools are not budgeted).</summary>
    public IEnumerable<KeyValuePair<int, ChunkBufferPool>> RequestPools => _pools;

    /// <summary>The pool for records of chunks of <paramref name="chunkSize"/> bytes.</summary>
    public ChunkBufferPool For(int chunkSize) => _pools.GetOrAdd(chunkSize, size =>
    {
        var bufferSize = ContainerFormat.BufferSizeFor(size);
        return new ChunkBufferPool(bufferSize, (int)Math.Clamp(BudgetBytesPerChunkSize / bufferSize, 4, 256));
    });

    /// <summary>
    /// The pool scan streams of <paramref name="chunkSize"/>-byte chunks take their two buffers from: apart from the
    /// requests' budget (a scan never waits on uploads), and reused, so that scanning every commit does not leave two
    /// pinned chunk buffers per stream for the garbage collector (they live on the pinned heap, which only a full
    /// collection reclaims). It keeps as many buffers as streams were ever open at once.
    /// </summary>
    public ChunkBufferPool ForScans(int chunkSize) =>
        _scanPools.GetOrAdd(chunkSize, size => new ChunkBufferPool(ContainerFormat.BufferSizeFor(size), ScanBuffersPerChunkSize));

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var pool in _pools.Values.Concat(_scanPools.Values))
        {
            pool.Dispose();
        }
    }
}
