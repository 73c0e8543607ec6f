namespace TurboMft.Engine.Pipeline;

/// <summary>
/// Bounded parallel chunk pipeline: N workers each pull the next chunk index when free, so there is no queue to grow;
/// memory is bounded by the workers' buffer budget, never by the file size. The first failure cancels every worker and
/// is rethrown as is; cancellation surfaces as <see cref="OperationCanceledException"/>.
/// </summary>
public static class ChunkPipeline
{
    /// <summary>
    /// Runs <paramref name="processChunk"/> for every index in [0, <paramref name="chunkCount"/>) on
    /// <paramref name="workers"/> threads. Each worker owns a state from <paramref name="createWorker"/> (for example its
    /// AES-GCM instance), disposed when the worker ends on any path.
    /// </summary>
    public static async Task RunAsync<TWorker>(
        long chunkCount,
        int workers,
        Func<TWorker> createWorker,
        Action<TWorker, long, CancellationToken> processChunk,
        CancellationToken cancellationToken = default)
        where TWorker : IDisposable
    {
        ArgumentNullException.ThrowIfNull(createWorker);
        ArgumentNullException.ThrowIfNull(processChunk);
        ArgumentOutOfRangeException.ThrowIfNegative(chunkCount);
        if (chunkCount == 0)
        {
            return;
        }

        var count = (int)Math.Clamp(chunkCount, 1, Math.Max(1, workers));
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var token = failed.Token;
        var next = -1L;
        Exception? firstError = null;
        var tasks = new Task[count];
        for (var w = 0; w < count; w++)
        {
            tasks[w] = Task.Factory.StartNew(
                () =>
                {
                    try
                    {
                        using var worker = createWorker();
                        long index;
                        while ((index = Interlocked.Increment(ref next)) < chunkCount)
                        {
                            token.ThrowIfCancellationRequested();
                            processChunk(worker, index, token);
                        }
                    }
                    catch (OperationCanceledException) when (token.IsCancellationRequested)
                    {
                        // Another worker failed or the caller cancelled; the cause is reported below.
                    }
                    catch (Exception e)
                    {
                        Interlocked.CompareExchange(ref firstError, e, null);
                        failed.Cancel();
                    }
                },
                CancellationToken.None, // every worker starts and sees the token itself, so an early failure is never masked as a cancellation
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default);
        }

        await Task.WhenAll(tasks).ConfigureAwait(false);

        if (firstError is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(firstError);
        }

        cancellationToken.ThrowIfCancellationRequested();
    }
}

/// <summary>Progress of a chunk pipeline, reported after each chunk.</summary>
/// <param name="ChunksDone">Chunks finished.</param>
/// <param name="ChunkCount">Chunks in all.</param>
/// <param name="BytesDone">Plaintext bytes finished.</param>
/// <param name="TotalBytes">Plaintext bytes in all.</param>
public readonly record struct PipelineProgress(long ChunksDone, long ChunkCount, long BytesDone, long TotalBytes);

/// <summary>Thread-safe progress counter that reports to an optional sink.</summary>
internal sealed class ProgressCounter(long chunkCount, long totalBytes, IProgress<PipelineProgress>? sink)
{
    private long _chunks;
    private long _bytes;

    public void Add(int bytes)
    {
        var chunks = Interlocked.Increment(ref _chunks);
        var done = Interlocked.Add(ref _bytes, bytes);
        sink?.Report(new PipelineProgress(chunks, chunkCount, done, totalBytes));
    }
}
