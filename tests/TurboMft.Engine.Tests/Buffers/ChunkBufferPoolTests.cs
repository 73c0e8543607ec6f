using TurboMft.Engine.Buffers;

namespace TurboMft.Engine.Tests.Buffers;

public class ChunkBufferPoolTests
{
    [Fact]
    public async Task Budget_bounds_buffers_in_flight_and_releases_on_return()
    {
        using var pool = new ChunkBufferPool(4096, 2);
        var a = await pool.RentAsync();
        var b = await pool.RentAsync();
        Assert.Equal(2, pool.InFlight);
        Assert.False(pool.TryRent(out _));

        // Only a return can complete the wait.
        var waiting = pool.RentAsync().AsTask();
        Assert.False(waiting.IsCompleted);

        pool.Return(a);
        var c = await waiting.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Same(a, c);
        pool.Return(b);
        pool.Return(c);
        Assert.Equal(0, pool.InFlight);
        Assert.True(pool.Created <= 2);
    }

    [Fact]
    public async Task Waiting_rent_honours_cancellation_and_takes_nothing()
    {
        using var pool = new ChunkBufferPool(4096, 1);
        var held = pool.Rent();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await pool.RentAsync(cts.Token));
        Assert.Equal(1, pool.InFlight);
        pool.Return(held);
        Assert.Equal(0, pool.InFlight);
    }

    [Fact]
    public void Returning_a_buffer_twice_is_refused()
    {
        using var pool = new ChunkBufferPool(4096, 2);
        var buffer = pool.Rent();
        pool.Return(buffer);
        Assert.Throws<InvalidOperationException>(() => pool.Return(buffer));
        Assert.Equal(0, pool.InFlight);
    }

    [Fact]
    public void Buffers_are_reused_not_reallocated()
    {
        using var pool = new ChunkBufferPool(1 << 16, 4);
        for (var i = 0; i < 1000; i++)
        {
            var x = pool.Rent();
            var y = pool.Rent();
            pool.Return(y);
            pool.Return(x);
        }

        Assert.True(pool.Created <= 2, $"created {pool.Created} buffers for 2 in flight");
        Assert.Equal(1 << 16, pool.Rent().Capacity);
    }

    [Fact]
    public async Task Pair_renters_beyond_the_budget_all_finish_where_one_at_a_time_renters_deadlock()
    {
        using var pool = new ChunkBufferPool(4096, 4);

        // Four renters each holding one buffer and waiting for a second: the budget is spent and nothing comes back.
        var firsts = new List<ChunkBuffer>();
        for (var i = 0; i < 4; i++)
        {
            firsts.Add(await pool.RentAsync());
        }

        Assert.False(pool.TryRent(out _));
        foreach (var first in firsts)
        {
            pool.Return(first);
        }

        // Sixteen pair renters on the same budget: only one at a time holds a buffer while it waits, so all get through.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
        {
            for (var round = 0; round < 50; round++)
            {
                var (a, b) = await pool.RentPairAsync(timeout.Token);
                Assert.NotSame(a, b);
                await Task.Yield();
                pool.Return(b);
                pool.Return(a);
            }
        })));
        Assert.Equal(0, pool.InFlight);
        Assert.True(pool.Created <= 4, $"created {pool.Created} buffers on a budget of 4");
    }

    [Fact]
    public async Task A_cancelled_pair_rent_gives_back_the_first_buffer()
    {
        using var pool = new ChunkBufferPool(4096, 2);
        var held = await pool.RentAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await pool.RentPairAsync(cts.Token));
        Assert.Equal(1, pool.InFlight);
        pool.Return(held);
        var (a, b) = await pool.RentPairAsync();
        pool.Return(a);
        pool.Return(b);
        Assert.Equal(0, pool.InFlight);
    }
}
