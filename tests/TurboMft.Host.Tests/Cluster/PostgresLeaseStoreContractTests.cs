using TurboMft.Host.Cluster;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Tests.Postgres;

namespace TurboMft.Host.Tests.Cluster;

/// <summary>The lease contract on PostgreSQL: an empty database per test, each store on a pool of its own, as nodes open them.</summary>
public sealed class PostgresLeaseStoreContractTests(PostgresServer server) : LeaseStoreContract, IAsyncLifetime
{
    private readonly List<PostgresDatabase> _databases = [];
    private string? _connectionString;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        foreach (var database in _databases)
        {
            await database.DisposeAsync();
        }
    }

    protected override async Task<ILeaseStore> OpenAsync()
    {
        _connectionString ??= await server.CreateDatabaseAsync("leases");
        var database = PostgresDatabase.Create(_connectionString, "turbomft-test");
        _databases.Add(database);
        return await PostgresLeaseStore.OpenAsync(database, Time);
    }
}

/// <summary>Leases on PostgreSQL by the database's own clock: a holder that stops renewing loses its lease to a second store.</summary>
public sealed class PostgresLeaseStoreTests(PostgresServer server)
{
    [Fact]
    public async Task By_the_database_clock_a_holder_that_stops_renewing_loses_the_lease_to_a_second_store_once_the_term_is_over()
    {
        var ct = TestContext.Current.CancellationToken;
        var connection = await server.CreateDatabaseAsync("leaseclock");
        await using var one = PostgresDatabase.Create(connection, "turbomft-test");
        await using var two = PostgresDatabase.Create(connection, "turbomft-test");
        var first = await PostgresLeaseStore.OpenAsync(one, cancellationToken: ct);
        var second = await PostgresLeaseStore.OpenAsync(two, cancellationToken: ct);
        var term = TimeSpan.FromSeconds(2);

        var held = await first.ClaimAsync("scan-sweep", "a:1", Guid.NewGuid(), term, ct);
        var started = System.Diagnostics.Stopwatch.StartNew();
        Assert.Null(await second.ClaimAsync("scan-sweep", "b:1", Guid.NewGuid(), term, ct));

        // The first holder is silent from here; the second asks every 100 ms, as a node's renewal round would (more often).
        ClusterLease? taken = null;
        var b = Guid.NewGuid();
        while (taken is null)
        {
            Assert.True(started.Elapsed < TimeSpan.FromSeconds(20), "the lease was never taken over");
            await Task.Delay(100, ct);
            taken = await second.ClaimAsync("scan-sweep", "b:1", b, term, ct);
        }

        Assert.True(started.Elapsed >= term - TimeSpan.FromMilliseconds(200), $"taken over after {started.Elapsed}, before the term of {term}");
        Assert.Equal(held!.Token + 1, taken.Token);
        Assert.Equal(held.AcquiredAt + term, held.ExpiresAt);
        Assert.False(await first.IsCurrentAsync("scan-sweep", held.Token, ct));
        Assert.Equal("b:1", Assert.Single(await first.ListAsync(ct)).Holder);
    }
}
