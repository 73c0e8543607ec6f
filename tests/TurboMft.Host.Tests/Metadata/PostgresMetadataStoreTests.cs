using Npgsql;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Metadata;
using TurboMft.Host.Tests.Postgres;
using static TurboMft.Host.Tests.Metadata.MetadataStoreContract;

namespace TurboMft.Host.Tests.Metadata;

/// <summary>
/// What the PostgreSQL metadata store adds for several nodes on one database (the port's behaviour:
/// <see cref="PostgresMetadataStoreContractTests"/>): two instances are two nodes, each with a pool of its own, and
/// what the port promises as atomic or compare-and-set holds between them; migrations, a newer schema, and a database
/// that goes away and comes back.
/// </summary>
public sealed class PostgresMetadataStoreTests(PostgresServer server) : IAsyncLifetime
{
    private const int Iterations = 25;

    private readonly List<IAsyncDisposable> _opened = [];
    private string _connectionString = null!;
    private IMetadataStore _a = null!;
    private IMetadataStore _b = null!;

    public async ValueTask InitializeAsync()
    {
        _connectionString = await server.CreateDatabaseAsync("metanodes");
        _a = await OpenNodeAsync(_connectionString);
        _b = await OpenNodeAsync(_connectionString);
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _opened.Count - 1; i >= 0; i--)
        {
            await _opened[i].DisposeAsync();
        }
    }

    [Fact]
    public async Task Two_nodes_see_each_others_writes_at_once()
    {
        var upload = Upload("/shared/a.bin");
        await _a.CreateUploadAsync(upload);
        Assert.Equal(upload, await _b.GetUploadAsync(upload.Id));

        var chunk = Chunk(upload.Id, 0, crc: ulong.MaxValue);
        await _b.RecordChunkAsync(chunk);
        AssertSameChunk(chunk, Assert.Single(await _a.ListChunksAsync(upload.Id)));

        var version = Version("/shared/a.bin");
        Assert.Null(await _a.CommitVersionAsync(version, upload.Id));
        Assert.Equal(version, await _b.GetCurrentVersionAsync("/shared/a.bin"));
        Assert.Equal(UploadState.Completed, (await _b.GetUploadAsync(upload.Id))!.State);
        Assert.Equal(MetadataError.UploadNotOpen, (await Assert.ThrowsAsync<MetadataException>(() => _b.RecordChunkAsync(Chunk(upload.Id, 1)))).Error);

        Assert.True(await _b.SetReleaseStateAsync(version.VersionId, ReleaseState.PendingScan, new ReleaseStateChange(ReleaseState.Released, T0)));
        Assert.Equal(ReleaseState.Released, (await _a.GetVersionAsync(version.VersionId))!.State);

        Assert.Equal(version.VersionId, (await _a.DeleteCurrentVersionAsync("/shared/a.bin"))!.VersionId);
        Assert.Null(await _b.GetCurrentVersionAsync("/shared/a.bin"));
    }

    [Fact]
    public async Task Concurrent_commits_of_the_same_paths_from_two_nodes_leave_one_current_version_and_return_each_replaced_one_once()
    {
        string[] paths = ["/race/a", "/race/b", "/race/c", "/race/d"];
        var committed = new System.Collections.Concurrent.ConcurrentBag<Guid>();
        var replaced = new System.Collections.Concurrent.ConcurrentBag<Guid>();
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // Node A commits one version at a time; node B whole batches of every path, in an order of its own each time
        // (so the two lock paths in different orders as well).
        var singles = Task.Run(async () =>
        {
            await start.Task;
            for (var i = 0; i < Iterations; i++)
            {
                foreach (var path in paths)
                {
                    var version = Version(path);
                    var previous = await _a.CommitVersionAsync(version, null);
                    committed.Add(version.VersionId);
                    if (previous is not null)
                    {
                        replaced.Add(previous.VersionId);
                    }
                }
            }
        });
        var batches = Task.Run(async () =>
        {
            await start.Task;
            for (var i = 0; i < Iterations; i++)
            {
                var batch = paths.Select(Version).OrderBy(_ => Random.Shared.Next()).ToArray();
                var previous = await _b.CommitVersionsAsync(batch);
                foreach (var version in batch)
                {
                    committed.Add(version.VersionId);
                }

                foreach (var version in previous.OfType<FileVersion>())
                {
                    replaced.Add(version.VersionId);
                }
            }
        });
        start.SetResult();
        await Task.WhenAll(singles, batches);

        var current = await _a.ListCurrentVersionsAsync("/race", 100);
        Assert.Equal(paths, current.Select(v => v.Path));
        Assert.All(current, v => Assert.Contains(v.VersionId, committed));

        // Every version but the current ones was replaced, and each was returned by exactly one commit.
        Assert.Equal(committed.Count - paths.Length, replaced.Count);
        Assert.Equal(
            committed.Except(current.Select(v => v.VersionId)).Order(),
            replaced.Order());
    }

    [Fact]
    public async Task A_batch_of_4096_versions_commits_at_once_and_replaces_each_earlier_one()
    {
        var first = Enumerable.Range(0, 4096).Select(i => Version($"/bulk/{i:D4}.csv")).ToArray();
        var second = first.Select(v => Version(v.Path)).Reverse().ToArray();

        Assert.All(await _a.CommitVersionsAsync(first), Assert.Null);
        var replaced = await _b.CommitVersionsAsync(second);

        Assert.Equal(second.Select(v => first.Single(f => f.Path == v.Path).VersionId), replaced.Select(r => r!.VersionId));
        var current = await _a.ListCurrentVersionsAsync("/bulk", 5000);
        Assert.Equal(second.Select(v => v.VersionId).Order(), current.Select(v => v.VersionId).Order());
        Assert.Equal(first.Select(v => v.Path), current.Select(v => v.Path));
    }

    [Fact]
    public async Task A_commit_and_a_delete_of_one_path_on_two_nodes_at_once_hand_the_old_version_to_exactly_one()
    {
        for (var i = 0; i < Iterations; i++)
        {
            var path = $"/replace-or-delete/{i}.bin";
            var old = Version(path);
            var replacement = Version(path);
            await _a.CommitVersionAsync(old, null);
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var commit = Task.Run(async () =>
            {
                await start.Task;
                return await _a.CommitVersionAsync(replacement, null);
            });
            var delete = Task.Run(async () =>
            {
                await start.Task;
                return await _b.DeleteCurrentVersionAsync(path);
            });
            start.SetResult();
            var (replaced, deleted) = (await commit, await delete);

            // Either the delete came first (it removed the old version; the commit replaced nothing) or the commit did
            // (it replaced the old version; the delete removed the replacement). Never both with the old one.
            if (replaced is null)
            {
                Assert.Equal(old, deleted);
                Assert.Equal(replacement, await _b.GetCurrentVersionAsync(path));
            }
            else
            {
                Assert.Equal(old, replaced);
                Assert.Equal(replacement, deleted);
                Assert.Null(await _b.GetCurrentVersionAsync(path));
            }
        }
    }

    [Fact]
    public async Task Of_two_nodes_completing_one_upload_at_once_one_commits_and_the_other_finds_it_no_longer_open()
    {
        for (var i = 0; i < Iterations; i++)
        {
            var path = $"/complete/{i}.bin";
            var upload = Upload(path);
            await _a.CreateUploadAsync(upload);
            var fromA = Version(path);
            var fromB = Version(path);
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var commits = new[] { (_a, fromA), (_b, fromB) }.Select(node => Task.Run(async () =>
            {
                await start.Task;
                try
                {
                    await node.Item1.CommitVersionAsync(node.Item2, upload.Id);
                    return (Version: node.Item2, Error: (MetadataException?)null);
                }
                catch (MetadataException e)
                {
                    return (Version: node.Item2, Error: e);
                }
            })).ToArray();
            start.SetResult();
            var outcomes = await Task.WhenAll(commits);

            var winner = Assert.Single(outcomes, o => o.Error is null);
            var loser = Assert.Single(outcomes, o => o.Error is not null);
            Assert.Equal(MetadataError.UploadNotOpen, loser.Error!.Error);
            Assert.Contains("Completed", loser.Error.Message, StringComparison.Ordinal);
            Assert.Equal(winner.Version, await _b.GetCurrentVersionAsync(path));
            Assert.Null(await _a.GetVersionAsync(loser.Version.VersionId));
        }
    }

    [Fact]
    public async Task Of_two_nodes_changing_one_release_state_at_once_exactly_one_wins()
    {
        for (var i = 0; i < Iterations; i++)
        {
            var version = Version($"/decide/{i}.bin");
            await _a.CommitVersionAsync(version, null);
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var changes = new[] { (_a, ReleaseState.Released, "node-a"), (_b, ReleaseState.Quarantined, "node-b") }.Select(node => Task.Run(async () =>
            {
                await start.Task;
                return await node.Item1.SetReleaseStateAsync(
                    version.VersionId,
                    ReleaseState.PendingScan,
                    new ReleaseStateChange(node.Item2, T0) { Decision = new ReleaseDecision(ReleaseDecision.Approved, node.Item3, null, T0) });
            })).ToArray();
            start.SetResult();
            var won = await Task.WhenAll(changes);

            Assert.Single(won, w => w);
            var decided = (await _b.GetVersionAsync(version.VersionId))!;
            Assert.Equal(won[0] ? (ReleaseState.Released, "node-a") : (ReleaseState.Quarantined, "node-b"), (decided.State, decided.Decision!.By));
        }
    }

    [Fact]
    public async Task Of_two_nodes_deleting_one_version_at_once_one_gets_it_back()
    {
        for (var i = 0; i < Iterations; i++)
        {
            var version = Version($"/delete/{i}.bin");
            await _a.CommitVersionAsync(version, null);
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var deletes = new[] { _a, _b }.Select(node => Task.Run(async () =>
            {
                await start.Task;
                return await node.DeleteVersionAsync(version.VersionId, ReleaseState.PendingScan);
            })).ToArray();
            start.SetResult();
            var deleted = await Task.WhenAll(deletes);

            Assert.Equal(version, Assert.Single(deleted, d => d is not null));
            Assert.Null(await _b.GetCurrentVersionAsync(version.Path));
        }
    }

    [Fact]
    public async Task Nodes_that_open_an_empty_database_together_migrate_it_once()
    {
        var connection = await server.CreateDatabaseAsync("metamigrate");

        var stores = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => OpenNodeAsync(connection))));

        var database = Track(PostgresDatabase.Create(connection, "turbomft-test"));
        Assert.Equal(PostgresMetadataStore.SchemaVersion, await database.ReadVersionAsync(PostgresMetadataStore.VersionTable, TestContext.Current.CancellationToken));
        Assert.Equal(1L, await ScalarAsync(connection, $"SELECT count(*) FROM {PostgresMetadataStore.VersionTable}"));
        var version = Version("/migrated");
        await stores[0].CommitVersionAsync(version, null);
        Assert.Equal(version, await stores[3].GetCurrentVersionAsync("/migrated"));
    }

    [Fact]
    public async Task A_schema_newer_than_the_build_is_refused_with_both_versions_named_and_left_as_it_is()
    {
        var newer = PostgresMetadataStore.SchemaVersion + 1;
        await ScalarAsync(_connectionString, $"UPDATE {PostgresMetadataStore.VersionTable} SET version = {newer} RETURNING version");

        var ex = await Assert.ThrowsAsync<MetadataException>(() => OpenNodeAsync(_connectionString));

        Assert.Equal(MetadataError.SchemaTooNew, ex.Error);
        Assert.Contains($"schema version {newer}", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"this build's {PostgresMetadataStore.SchemaVersion}", ex.Message, StringComparison.Ordinal);
        Assert.Equal((long)newer, await ScalarAsync(_connectionString, $"SELECT version FROM {PostgresMetadataStore.VersionTable}"));
    }

    [Fact]
    public async Task A_database_that_goes_away_is_unavailable_and_the_store_serves_again_once_it_is_back()
    {
        // A server of its own: stopping the shared one would fail the tests beside this one.
        await using var own = new PostgresServer();
        var store = await OpenNodeAsync(await own.CreateDatabaseAsync("metaaway"));
        var upload = Upload("/away/a.bin");
        await store.CreateUploadAsync(upload);
        var kept = Version("/away/kept.bin");
        await store.CommitVersionAsync(kept, null);

        await own.StopAsync();
        await Assert.ThrowsAsync<StoreUnavailableException>(() => store.GetCurrentVersionAsync("/away/kept.bin"));
        await Assert.ThrowsAsync<StoreUnavailableException>(() => store.RecordChunkAsync(Chunk(upload.Id, 0)));
        await Assert.ThrowsAsync<StoreUnavailableException>(() => store.CommitVersionAsync(Version("/away/a.bin"), upload.Id));
        await Assert.ThrowsAsync<StoreUnavailableException>(() => store.CommitVersionsAsync([Version("/away/b.bin")]));

        await own.StartAsync();
        Assert.Equal(kept, await store.GetCurrentVersionAsync("/away/kept.bin"));
        await store.RecordChunkAsync(Chunk(upload.Id, 0));
        var version = Version("/away/a.bin");
        Assert.Null(await store.CommitVersionAsync(version, upload.Id));
        Assert.Equal(version, await store.GetCurrentVersionAsync("/away/a.bin"));
        Assert.Single(await store.ListChunksAsync(upload.Id));
    }

    private async Task<IMetadataStore> OpenNodeAsync(string connectionString)
    {
        var database = Track(PostgresDatabase.Create(connectionString, "turbomft-test"));
        return Track(await PostgresMetadataStore.OpenAsync(database));
    }

    private T Track<T>(T disposable)
        where T : IAsyncDisposable
    {
        lock (_opened)
        {
            _opened.Add(disposable);
        }

        return disposable;
    }

    private static async Task<object?> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
