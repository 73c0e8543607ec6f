namespace TurboMft.Host.Ingest;

/// <summary>
/// <see cref="IUploadLocks"/> for one process (a node alone on its store): striped semaphores, so that two keys may share
/// a stripe and wait for each other briefly, but a key never waits for itself.
/// </summary>
public sealed class LocalUploadLocks : IUploadLocks, IDisposable
{
    private const int Stripes = 64;
    private readonly SemaphoreSlim[] _chunks = [.. Enumerable.Range(0, Stripes).Select(_ => new SemaphoreSlim(1, 1))];
    private readonly SemaphoreSlim[] _sessions = [.. Enumerable.Range(0, Stripes).Select(_ => new SemaphoreSlim(1, 1))];

    /// <inheritdoc />
    public Task<IAsyncDisposable> LockChunkAsync(Guid uploadId, long index, CancellationToken cancellationToken) =>
        EnterAsync(_chunks[(int)((uint)HashCode.Combine(uploadId, index) % Stripes)], cancellationToken);

    /// <inheritdoc />
    public Task<IAsyncDisposable> LockSessionAsync(Guid uploadId, CancellationToken cancellationToken) =>
        EnterAsync(_sessions[(int)((uint)uploadId.GetHashCode() % Stripes)], cancellationToken);

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var stripe in _chunks.Concat(_sessions))
        {
            stripe.Dispose();
        }
    }

    private static async Task<IAsyncDisposable> EnterAsync(SemaphoreSlim stripe, CancellationToken cancellationToken)
    {
        await stripe.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Held(stripe);
    }

    private sealed class Held(SemaphoreSlim stripe) : IAsyncDisposable
    {
        private int _released;

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                stripe.Release();
            }

            return ValueTask.CompletedTask;
        }
    }
}
