using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using TurboMft.Host.Cluster;

namespace TurboMft.Host.Tests.Cluster;

/// <summary>
/// What every <see cref="ILeaseStore"/> provider does (docs/cluster.md, "Background work under leases"): claim, renew,
/// expiry and takeover with a larger token, fencing refusal of a stale holder, release on a clean stop, and of stores
/// racing for one lease exactly one winner. Time is a fake clock given to the provider.
/// </summary>
public abstract class LeaseStoreContract
{
    private static readonly TimeSpan Term = ClusterLease.Term;
    private static readonly Guid A = Guid.NewGuid();
    private static readonly Guid B = Guid.NewGuid();

    /// <summary>The clock of every store the test opens.</summary>
    protected FakeTimeProvider Time { get; } = new(DateTimeOffset.FromUnixTimeMilliseconds(1_760_000_000_000));

    /// <summary>Opens a store on the provider's one lease table (called more than once: several nodes on one database).</summary>
    protected abstract Task<ILeaseStore> OpenAsync();

    [Fact]
    public async Task A_free_lease_is_claimed_with_token_one_renewed_by_its_holder_and_refused_to_another()
    {
        var ct = TestContext.Current.CancellationToken;
        var store = await OpenAsync();
        var claimed = await store.ClaimAsync("scan-sweep", "a:1", A, Term, ct);
        Assert.Equal(("a:1", 1L, Time.GetUtcNow() + Term), (claimed!.Holder, claimed.Token, claimed.ExpiresAt));
        Assert.Null(await store.ClaimAsync("scan-sweep", "b:1", B, Term, ct));

        Time.Advance(TimeSpan.FromSeconds(5));
        var renewed = await store.ClaimAsync("scan-sweep", "a:1", A, Term, ct);
        Assert.Equal((1L, claimed.AcquiredAt, Time.GetUtcNow() + Term), (renewed!.Token, renewed.AcquiredAt, renewed.ExpiresAt));
        Assert.True(await store.IsCurrentAsync("scan-sweep", 1, ct));

        var listed = Assert.Single(await store.ListAsync(ct));
        Assert.Equal(("scan-sweep", "a:1", 1L), (listed.Name, listed.Holder, listed.Token));

        // Tokens are per name.
        Assert.Equal(1L, (await store.ClaimAsync("upload-expiry", "b:1", B, Term, ct))!.Token);
    }

    [Fact]
    public async Task A_lapsed_lease_is_taken_over_with_a_larger_token_and_the_stale_holder_is_fenced_off()
    {
        var ct = TestContext.Current.CancellationToken;
        var store = await OpenAsync();
        var second = await OpenAsync();
        await store.ClaimAsync("orphan-sweep", "a:1", A, Term, ct);

        Time.Advance(Term - TimeSpan.FromMilliseconds(1));
        Assert.Null(await second.ClaimAsync("orphan-sweep", "b:1", B, Term, ct));
        Time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(await store.IsCurrentAsync("orphan-sweep", 1, ct));

        var taken = await second.ClaimAsync("orphan-sweep", "b:1", B, Term, ct);
        Assert.Equal(("b:1", 2L, Time.GetUtcNow()), (taken!.Holder, taken.Token, taken.AcquiredAt));

        // The old holder wakes up: its token is refused, its renewal too, and its release changes nothing.
        Assert.False(await store.IsCurrentAsync("orphan-sweep", 1, ct));
        Assert.Null(await store.ClaimAsync("orphan-sweep", "a:1", A, Term, ct));
        Assert.False(await store.ReleaseAsync("orphan-sweep", 1, ct));
        Assert.True(await second.IsCurrentAsync("orphan-sweep", 2, ct));
    }

    [Fact]
    public async Task A_released_lease_is_free_at_once_and_its_next_holder_gets_a_larger_token()
    {
        var ct = TestContext.Current.CancellationToken;
        var store = await OpenAsync();
        await store.ClaimAsync("upload-expiry", "a:1", A, Term, ct);
        Assert.True(await store.ReleaseAsync("upload-expiry", 1, ct));
        Assert.Empty(await store.ListAsync(ct));
        Assert.False(await store.IsCurrentAsync("upload-expiry", 1, ct));

        var next = await store.ClaimAsync("upload-expiry", "b:1", B, Term, ct);
        Assert.Equal(2L, next!.Token);

        // Even its old holder, claiming again, is a new holding.
        Assert.True(await store.ReleaseAsync("upload-expiry", 2, ct));
        Assert.Equal(3L, (await store.ClaimAsync("upload-expiry", "b:1", B, Term, ct))!.Token);
    }

    [Fact]
    public async Task Of_stores_racing_for_one_lease_exactly_one_wins_each_round()
    {
        var ct = TestContext.Current.CancellationToken;
        var stores = new ILeaseStore[6];
        for (var i = 0; i < stores.Length; i++)
        {
            stores[i] = await OpenAsync();
        }

        var instances = stores.Select(_ => Guid.NewGuid()).ToArray();
        ClusterLease? last = null;
        for (var round = 1; round <= 10; round++)
        {
            var outcomes = await Task.WhenAll(stores.Select((store, i) => Task.Run(() => store.ClaimAsync("race", $"n{i}", instances[i], Term, ct), ct)));
            var winner = Assert.Single(outcomes, o => o is not null);

            // The last holder may win again: that is a renewal, which keeps its token; anyone else's win is token + 1.
            Assert.Equal(last is null ? 1 : last.Holder == winner!.Holder ? last.Token : last.Token + 1, winner!.Token);
            last = winner;
            Assert.Equal(winner.Holder, Assert.Single(await stores[0].ListAsync(ct)).Holder);
            Time.Advance(Term);
        }
    }

    [Fact]
    public async Task A_killed_nodes_work_moves_to_the_other_within_30_seconds_and_the_first_is_told_it_lost_it()
    {
        var ct = TestContext.Current.CancellationToken;
        using var a = new ClusterLeases(await OpenAsync(), Time, NullLogger<ClusterLeases>.Instance);
        using var b = new ClusterLeases(await OpenAsync(), Time, NullLogger<ClusterLeases>.Instance);
        a.Joined("a:8443");
        b.Joined("b:8443");
        var held = await a.HoldAsync("scan-sweep", ct);
        Assert.NotNull(held);
        Assert.Null(await b.HoldAsync("scan-sweep", ct));
        var killedAt = Time.GetUtcNow();

        // a is killed: no more renewals. b's rounds every 5 s take the lease once the term has run out.
        var movedAfter = TimeSpan.Zero;
        while (b.Held.Count == 0)
        {
            Time.Advance(ClusterLease.RenewInterval);
            await b.RenewAsync(ct);
            movedAfter = Time.GetUtcNow() - killedAt;
            Assert.True(movedAfter <= TimeSpan.FromSeconds(30), "the lease did not move within 30 s");
        }

        Assert.Equal(2L, Assert.Single(b.Held).Token);
        Assert.InRange(movedAfter, ClusterLease.Term, ClusterLease.Term + ClusterLease.RenewInterval);

        // a comes back: its next round learns it lost the lease, and writes under its token are refused.
        await a.RenewAsync(ct);
        Assert.True(held!.IsLost);
        Assert.Empty(a.Held);
        await Assert.ThrowsAsync<LeaseLostException>(() => held.EnsureCurrentAsync(ct));
        await Assert.Single(b.Held).EnsureCurrentAsync(ct);
    }
}

/// <summary>The lease contract on the embedded provider: in memory, one store for the process.</summary>
public sealed class LocalLeaseStoreContractTests : LeaseStoreContract
{
    private LocalLeaseStore? _store;

    protected override Task<ILeaseStore> OpenAsync() => Task.FromResult<ILeaseStore>(_store ??= new LocalLeaseStore(Time));
}
