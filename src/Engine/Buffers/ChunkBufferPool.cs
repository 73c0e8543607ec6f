using Microsoft.Extensions.ObjectPool;

namespace TurboMft.Engine.Buffers;

/// <summary>
/// Pool of pinned chunk buffers with a memory budget: at most <see cref="MaxInFlight"/> buffers are rented at once,
/// so the memory a transfer uses depends on the budget, never on the file size.
/// </summary>
public sealed class ChunkBufferPool : IDisposable
{
    private readonly DefaultObjectPool<ChunkBuffer> _pool;
    private readonly SemaphoreSlim _budget;

    // One pair renter at a time holds a buffer while it waits for its second, so pair renters never hold the whole budget between them.
    private readonly SemaphoreSlim _pairs = new(1, 1);
    private int _inFlight;
    private long _created;

    /// <summary>Creates a pool of buffers of <paramref name="bufferSize"/> bytes, at most <paramref name="maxInFlight"/> rented at once.</summary>
    public ChunkBufferPool(int bufferSize, int maxInFlight)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bufferSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxInFlight);
        BufferSize = bufferSize;
        MaxInFlight = maxInFlight;
        _budget = new SemaphoreSlim(maxInFlight, maxInFlight);
        _pool = new DefaultObjectPool<ChunkBuffer>(new Policy(this), maxInFlight);
    }

    /// <summary>Capacity of every buffer in bytes.</summary>
    public int BufferSize { get; }

    /// <summary>The memory budget, in buffers.</summary>
    public int MaxInFlight { get; }

    /// <summary>Buffers rented and not yet returned.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Buffers allocated over the pool's life (stays at most <see cref="MaxInFlight"/> when every rent is returned).</summary>
    public long Created => Interlocked.Read(ref _created);

    /// <summary>The default budget: two chunks in flight per worker, so reads overlap with processing.</summary>
    public static int DefaultMaxInFlight(int workers) => 2 * Math.Max(1, workers);

    /// <summary>Rents a buffer, waiting while the budget is spent.</summary>
    public async ValueTask<ChunkBuffer> RentAsync(CancellationToken cancellationToken = default)
    {
        await _budget.WaitAsync(cancellationToken).ConfigureAwait(false);
        return TakeFromPool();
    }

    /// <summary>
    /// Rents two buffers for work that needs both at once (a record and its plaintext). Taking them one after the other
    /// with <see cref="RentAsync"/> could deadlock: when every buffer is held by a renter waiting for its second, none is
    /// ever returned. Here only one renter at a time may hold a first buffer while it waits for a second.
    /// </summary>
    public async ValueTask<(ChunkBuffer First, ChunkBuffer Second)> RentPairAsync(CancellationToken cancellationToken = default)
    {
        if (MaxInFlight < 2)
        {
            throw new InvalidOperationException("A pool with a budget of one buffer cannot rent two at once.");
        }

        await _pairs.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var first = await RentAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                return (first, await RentAsync(cancellationToken).ConfigureAwait(false));
            }
            catch
            {
                Return(first);
                throw;
            }
        }
        finally
        {
            _pairs.Release();
        }
    }

    /// <summary>Rents a buffer, blocking the calling thread while the budget is spent.</summary>
    public ChunkBuffer Rent(CancellationToken cancellationToken = default)
    {
        _budget.Wait(cancellationToken);
        return TakeFromPool();
    }

    /// <summary>Rents a buffer if the budget allows one now.</summary>
    public bool TryRent(out ChunkBuffer? buffer)
    {
        if (!_budget.Wait(0))
        {
            buffer = null;
            return false;
        }

        buffer = TakeFromPool();
        return true;
    }

    /// <summary>Returns a rented buffer to the pool and its slot to the budget.</summary>
    public void Return(ChunkBuffer buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        if (!buffer.MarkReturned())
        {
            throw new InvalidOperationException("The chunk buffer was returned twice.");
        }

        Interlocked.Decrement(ref _inFlight);
        _pool.Return(buffer);
        _budget.Release();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _budget.Dispose();
        _pairs.Dispose();
    }

    private ChunkBuffer TakeFromPool()
    {
        var buffer = _pool.Get();
        buffer.MarkRented();
        Interlocked.Increment(ref _inFlight);
        return buffer;
    }

    private sealed class Policy(ChunkBufferPool owner) : IPooledObjectPolicy<ChunkBuffer>
    {
        public ChunkBuffer Create()
        {
            Interlocked.Increment(ref owner._created);
            return new ChunkBuffer(owner.BufferSize);
        }

        public bool Return(ChunkBuffer obj) => obj.Capacity == owner.BufferSize;
    }
}
