using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Metadata;
using TurboMft.Host.Replication;
using TurboMft.Host.Tests.Postgres;

namespace TurboMft.Host.Tests.Replication;

/// <summary>
/// What the PostgreSQL replication store adds for several nodes working one outbox (the port's behaviour:
/// <see cref="PostgresReplicationStoreContractTests"/>): two instances on one database, each with a pool of its own,
/// claim concurrently without ever sharing a job, a newer schema is refused, and a lease that expired goes to the other node, after which the
/// first can no longer close the job.
/// </summary>
public sealed class PostgresReplicationStoreTests(PostgresServer server) : IAsyncLifetime
{
    private const string A = "node-a@host1";
    private const string B = "node-b@host2";
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_750_000_000_000);
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(60);

    private readonly FakeTimeProvider _time = new(T0);
    private readonly List<PostgresDatabase> _databases = [];
    private readonly CancellationToken _cancel = TestContext.Current.CancellationToken;
    private string _connectionString = null!;
    private IReplicationStore _a = null!;
    private IReplicationStore _b = null!;

    public async ValueTask InitializeAsync()
    {
        _connectionString = await server.CreateDatabaseAsync("replnodes");
        await using (await PostgresMetadataStore.OpenAsync(Database(_connectionString)))
        {
        }

        // Two nodes starting together: one migrates, the other finds the tables current.
        var opened = await Task.WhenAll(
            PostgresReplicationStore.OpenAsync(Database(_connectionString), _time),
            PostgresReplicationStore.OpenAsync(Database(_connectionString), _time));
        (_a, _b) = (opened[0], opened[1]);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var database in _databases)
        {
            await database.DisposeAsync();
        }
    }

    [Fact]
    public async Task Two_nodes_claiming_one_outbox_at_once_never_claim_the_same_job()
    {
        const int Rounds = 10;
        const int JobsPerRound = 40;
        for (var round = 0; round < Rounds; round++)
        {
            var enqueued = await _a.EnqueueAsync([.. Enumerable.Range(0, JobsPerRound).Select(i => Job($"r{round}-j{i}"))], _cancel);
            Assert.Equal(JobsPerRound, enqueued);
            var claims = new ConcurrentBag<(string Owner, long Id)>();
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

            // Two claimers per node, each claiming small batches until nothing is due.
            var claimers = new[] { (_a, A), (_a, A), (_b, B), (_b, B) }.Select(node => Task.Run(async () =>
            {
                await start.Task;
                while (true)
                {
                    var claimed = await node.Item1.ClaimDueAsync("site-b", node.Item2, 3, Lease, _cancel);
                    if (claimed.Count == 0)
                    {
                        return;
                    }

                    foreach (var job in claimed)
                    {
                        Assert.Equal(node.Item2, job.LeaseOwner);
                        claims.Add((node.Item2, job.Id));
                    }
                }
            })).ToArray();
            start.SetResult();
            await Task.WhenAll(claimers);

            var jobs = (await _a.ListJobsAsync("site-b", JobsPerRound, _cancel)).Select(j => j.Id).ToHashSet();
            Assert.Equal(JobsPerRound, claims.Count);
            Assert.Equal(jobs.Order(), claims.Select(c => c.Id).Order());
            foreach (var (owner, id) in claims)
            {
                // Each job is held by the node that claimed it, and only that node closes it.
                Assert.False(await (owner == A ? _b : _a).FinishAsync(id, owner == A ? B : A, ReplicationJobState.Done, 0, null, _cancel));
                Assert.True(await (owner == A ? _a : _b).FinishAsync(id, owner, ReplicationJobState.Done, 1, null, _cancel));
            }
        }

        var backlog = Assert.Single(await _b.BacklogAsync(_cancel));
        Assert.Equal((0L, (long)Rounds * JobsPerRound), (backlog.Backlog, backlog.Done));
    }

    [Fact]
    public async Task An_expired_lease_is_taken_over_by_the_other_node_and_the_first_can_no_longer_close_the_job()
    {
        await _a.EnqueueAsync([.. Enumerable.Range(0, 10).Select(i => Job($"v{i}"))], _cancel);
        var held = await _a.ClaimDueAsync("site-b", A, 10, Lease, _cancel);
        Assert.Equal(10, held.Count);
        Assert.Empty(await _b.ClaimDueAsync("site-b", B, 10, Lease, _cancel));

        _time.Advance(Lease);
        var taken = await _b.ClaimDueAsync("site-b", B, 10, Lease, _cancel);

        Assert.Equal(held.Select(j => j.Id), taken.Select(j => j.Id));
        Assert.All(taken, j => Assert.Equal((B, (DateTimeOffset?)(T0 + Lease + Lease)), (j.LeaseOwner, j.LeaseExpiresAt)));
        Assert.Equal(0, await _a.RenewLeasesAsync(A, Lease, _cancel));
        Assert.Equal(0, await _a.ReleaseLeasesAsync(A, _cancel));
        foreach (var job in held)
        {
            Assert.False(await _a.FinishAsync(job.Id, A, ReplicationJobState.Done, 100, null, _cancel));
            Assert.False(await _a.FailAsync(job.Id, A, "late", 0, T0, permanent: false, _cancel));
            Assert.True(await _b.FinishAsync(job.Id, B, ReplicationJobState.Done, 7, null, _cancel));
        }

        Assert.All(await _a.ListJobsAsync("site-b", 100, _cancel), j => Assert.Equal((ReplicationJobState.Done, 1, 7L, (string?)null), (j.State, j.Attempts, j.BytesSent, j.LeaseOwner)));
    }

    [Fact]
    public async Task A_late_finish_and_a_takeover_of_the_expired_lease_at_once_have_exactly_one_winner()
    {
        for (var i = 0; i < 25; i++)
        {
            await _a.EnqueueAsync(Job($"late{i}"), _cancel);
            var held = Assert.Single(await _a.ClaimDueAsync("site-b", A, 10, Lease, _cancel));
            _time.Advance(Lease);
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var finish = Task.Run(async () =>
            {
                await start.Task;
                return await _a.FinishAsync(held.Id, A, ReplicationJobState.Done, 1, null, _cancel);
            });
            var takeover = Task.Run(async () =>
            {
                await start.Task;
                return await _b.ClaimDueAsync("site-b", B, 10, Lease, _cancel);
            });
            start.SetResult();
            var (finished, claimed) = (await finish, await takeover);

            Assert.NotEqual(finished, claimed.Count == 1);
            if (claimed.Count == 1)
            {
                Assert.Equal(held.Id, claimed[0].Id);
                Assert.True(await _b.FinishAsync(held.Id, B, ReplicationJobState.Done, 1, null, _cancel));
            }

            var job = (await _b.ListJobsAsync("site-b", 1, _cancel))[0];
            Assert.Equal((held.Id, ReplicationJobState.Done, 1), (job.Id, job.State, job.Attempts));
        }
    }

    [Fact]
    public async Task Replication_tables_newer_than_the_build_are_refused_with_both_versions_named()
    {
        var database = Database(_connectionString);
        await database.InTransactionAsync(
            System.Data.IsolationLevel.ReadCommitted,
            (c, t, token) => PostgresDatabase.ExecuteAsync(c, t, $"UPDATE {PostgresReplicationStore.VersionTable} SET version = {PostgresReplicationStore.SchemaVersion + 1}", token),
            _cancel);

        var ex = await Assert.ThrowsAsync<MetadataException>(() => PostgresReplicationStore.OpenAsync(database, _time, _cancel));

        Assert.Equal(MetadataError.SchemaTooNew, ex.Error);
        Assert.Contains($"schema version {PostgresReplicationStore.SchemaVersion + 1}, newer than this build's {PostgresReplicationStore.SchemaVersion}", ex.Message, StringComparison.Ordinal);
        Assert.Equal(PostgresReplicationStore.SchemaVersion + 1, await database.ReadVersionAsync(PostgresReplicationStore.VersionTable, _cancel));
        Assert.Equal(PostgresMetadataStore.SchemaVersion, await database.ReadVersionAsync(PostgresMetadataStore.VersionTable, _cancel));
    }

    private PostgresDatabase Database(string connectionString)
    {
        var database = PostgresDatabase.Create(connectionString, "turbomft-test");
        _databases.Add(database);
        return database;
    }

    private static ReplicationJob Job(string subject) => new(
        0, "r", "site-b", ReplicationDirection.Push, subject, null, "/a/" + subject, "/a/" + subject, null, 0, ReplicationJobState.Pending, 0,
        DateTimeOffset.MinValue, null, null, 0, "corr-" + subject, null, null, null, DateTimeOffset.MinValue);
}
