using TurboMft.Host.Cluster;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Tests.Postgres;

namespace TurboMft.Host.Tests.Cluster;

/// <summary>
/// The node registry on a real PostgreSQL: nodes join, beat and leave; a live node's name is never taken, a silent one's is;
/// of several registries claiming one name at once exactly one gets it; a stopped database is unavailable.
/// </summary>
public sealed class PostgresNodeRegistryTests(PostgresServer server)
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_760_000_000_000);
    private readonly CancellationToken _cancel = TestContext.Current.CancellationToken;

    [Fact]
    public async Task Nodes_join_beat_and_leave_and_every_registry_on_the_database_sees_them()
    {
        await using var database = PostgresDatabase.Create(await server.CreateDatabaseAsync("nodes"), "turbomft-test");
        var a = await PostgresNodeRegistry.OpenAsync(database, _cancel);
        var b = await PostgresNodeRegistry.OpenAsync(database, _cancel);

        await a.JoinAsync(Node("a:8443", T0), _cancel);
        await b.JoinAsync(Node("b:8443", T0.AddSeconds(1)), _cancel);
        Assert.True(await a.HeartbeatAsync("a:8443", T0.AddSeconds(5), _cancel));

        var listed = await b.ListAsync(_cancel);
        Assert.Equal(["a:8443", "b:8443"], listed.Select(n => n.Name));
        Assert.Equal(T0.AddSeconds(5), listed[0].HeartbeatAt);
        Assert.Equal(T0, listed[0].StartedAt);
        Assert.True(listed[0].IsLive(T0.AddSeconds(34)));
        Assert.False(listed[0].IsLive(T0.AddSeconds(35)));
        Assert.Equal("a:8443", a.Self!.Name);

        await a.LeaveAsync("a:8443", _cancel);
        Assert.Equal(["b:8443"], (await b.ListAsync(_cancel)).Select(n => n.Name));
        Assert.False(await a.HeartbeatAsync("a:8443", T0.AddSeconds(10), _cancel));
    }

    [Fact]
    public async Task A_live_nodes_name_is_refused_and_a_silent_ones_is_taken_over()
    {
        await using var database = PostgresDatabase.Create(await server.CreateDatabaseAsync("names"), "turbomft-test");
        var first = await PostgresNodeRegistry.OpenAsync(database, _cancel);
        var second = await PostgresNodeRegistry.OpenAsync(database, _cancel);
        await first.JoinAsync(Node("mft01:8443", T0), _cancel);

        var refused = await Assert.ThrowsAsync<NodeNameTakenException>(() => second.JoinAsync(Node("mft01:8443", T0.AddSeconds(29)), _cancel));
        Assert.Contains("'mft01:8443' is held by a live node", refused.Message, StringComparison.Ordinal);
        Assert.Contains("last heartbeat 29 s ago", refused.Message, StringComparison.Ordinal);
        Assert.Null(second.Self);

        await second.JoinAsync(Node("mft01:8443", T0.AddSeconds(31), version: "2.0"), _cancel);
        var taken = Assert.Single(await first.ListAsync(_cancel));
        Assert.Equal("2.0", taken.Version);
        Assert.Equal(T0.AddSeconds(31), taken.StartedAt);

        // The first holder's late beat finds its name taken: it is told, and nothing of the new holder changes.
        Assert.False(await first.HeartbeatAsync("mft01:8443", T0.AddSeconds(30), _cancel));
        Assert.Equal(T0.AddSeconds(31), Assert.Single(await first.ListAsync(_cancel)).HeartbeatAt);
    }

    [Fact]
    public async Task Of_registries_claiming_one_silent_name_at_once_exactly_one_gets_it()
    {
        await using var database = PostgresDatabase.Create(await server.CreateDatabaseAsync("race"), "turbomft-test");
        var registries = new PostgresNodeRegistry[6];
        for (var i = 0; i < registries.Length; i++)
        {
            registries[i] = await PostgresNodeRegistry.OpenAsync(database, _cancel);
        }

        for (var round = 0; round < 20; round++)
        {
            var at = T0.AddMinutes(round);
            var outcomes = await Task.WhenAll(registries.Select((registry, i) => Task.Run(async () =>
            {
                try
                {
                    await registry.JoinAsync(Node("shared", at, version: $"r{round}n{i}"), _cancel);
                    return $"r{round}n{i}";
                }
                catch (NodeNameTakenException)
                {
                    return null;
                }
            }, _cancel)));

            var winner = Assert.Single(outcomes, o => o is not null);
            Assert.Equal(winner, Assert.Single(await registries[0].ListAsync(_cancel)).Version);
        }
    }

    [Fact]
    public async Task A_stopped_database_is_unavailable_and_the_registry_works_again_once_it_is_back()
    {
        await using var own = new PostgresServer();
        await using var database = PostgresDatabase.Create(await own.CreateDatabaseAsync("away"), "turbomft-test");
        var registry = await PostgresNodeRegistry.OpenAsync(database, _cancel);
        await registry.JoinAsync(Node("n1", T0), _cancel);

        await own.StopAsync();
        await Assert.ThrowsAsync<StoreUnavailableException>(() => registry.CheckReachableAsync(_cancel));
        await Assert.ThrowsAsync<StoreUnavailableException>(() => registry.HeartbeatAsync("n1", T0.AddSeconds(5), _cancel));

        await own.StartAsync();
        await registry.CheckReachableAsync(_cancel);
        Assert.True(await registry.HeartbeatAsync("n1", T0.AddSeconds(10), _cancel));
    }

    private static ClusterNode Node(string name, DateTimeOffset at, string version = "1.0") => new(name, "plant", version, at, at);
}
