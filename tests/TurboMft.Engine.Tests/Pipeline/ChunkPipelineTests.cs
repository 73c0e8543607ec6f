using TurboMft.Engine.Pipeline;

namespace TurboMft.Engine.Tests.Pipeline;

public class ChunkPipelineTests
{
    [Fact]
    public async Task An_early_failure_surfaces_as_itself_never_as_a_cancellation()
    {
        // Many workers and a failure on the first chunk: workers not yet started when it happens must not turn the
        // failure into an OperationCanceledException.
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var error = await Assert.ThrowsAsync<InvalidDataException>(() => ChunkPipeline.RunAsync(
                1000,
                64,
                () => new Worker(),
                (_, index, _) =>
                {
                    if (index == 0)
                    {
                        throw new InvalidDataException("chunk 0 is bad");
                    }

                    Thread.SpinWait(20_000); // some work per chunk, so that the failure overtakes workers still busy
                }));
            Assert.Equal("chunk 0 is bad", error.Message);
        }
    }

    [Fact]
    public async Task Every_chunk_is_processed_exactly_once_and_workers_are_disposed()
    {
        var seen = new int[5000];
        var disposed = 0;
        await ChunkPipeline.RunAsync(seen.Length, 8, () => new Worker(() => Interlocked.Increment(ref disposed)), (_, index, _) => Interlocked.Increment(ref seen[index]));
        Assert.All(seen, count => Assert.Equal(1, count));
        Assert.Equal(8, disposed);
    }

    [Fact]
    public async Task Caller_cancellation_surfaces_as_cancellation()
    {
        using var cts = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ChunkPipeline.RunAsync(
            1_000_000,
            4,
            () => new Worker(),
            (_, index, _) =>
            {
                if (index == 100)
                {
                    cts.Cancel();
                }
            },
            cts.Token));
    }

    private sealed class Worker(Action? onDispose = null) : IDisposable
    {
        public void Dispose() => onDispose?.Invoke();
    }
}
