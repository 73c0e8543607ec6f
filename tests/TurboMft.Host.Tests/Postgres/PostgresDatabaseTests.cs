using System.Data;
using Npgsql;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Tests.Postgres;

/// <summary>
/// What every PostgreSQL provider stands on, against a real server: migrations by one node at a time, a schema newer
/// than the build refused, serialization failures run again, a connection string checked without echoing its password,
/// and a database that goes away answered as unavailable (in a transaction or on a connection without one), then used again once it is back.
/// </summary>
public sealed class PostgresDatabaseTests(PostgresServer server)
{
    private static readonly string[] Migrations =
    [
        // Not idempotent on purpose: a second run of either would fail.
        "CREATE TABLE widgets (id bigint PRIMARY KEY, name text COLLATE \"C\" NOT NULL)",
        "ALTER TABLE widgets ADD COLUMN weight bigint NOT NULL DEFAULT 0",
    ];

    // FNV-1a of "turbomft.migrate.metadata_schema_version".
    private const long PinnedMetadataLockKey = 4009706657318029039;

    private readonly CancellationToken _cancel = TestContext.Current.CancellationToken;

    [Fact]
    public async Task Nodes_that_start_together_migrate_once_and_all_find_the_schema_current()
    {
        var connection = await server.CreateDatabaseAsync("migrate");
        var nodes = Enumerable.Range(0, 4).Select(_ => PostgresDatabase.Create(connection, "turbomft-test")).ToArray();
        try
        {
            var found = await Task.WhenAll(nodes.Select(node => node.MigrateAsync("widget_schema_version", Migrations, TooNew, _cancel)));

            // One node found an empty database and migrated it; the others waited on the lock and found it current.
            Assert.Equal(1, found.Count(version => version == 0));
            Assert.Equal(3, found.Count(version => version == Migrations.Length));
            Assert.Equal(Migrations.Length, await nodes[0].ReadVersionAsync("widget_schema_version", _cancel));
            Assert.Equal(0L, await nodes[1].MigrateAsync("widget_schema_version", Migrations, TooNew, _cancel) - Migrations.Length);
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_schema_newer_than_the_build_is_refused_and_left_as_it_is()
    {
        await using var database = PostgresDatabase.Create(await server.CreateDatabaseAsync("toonew"), "turbomft-test");
        await database.MigrateAsync("widget_schema_version", Migrations, TooNew, _cancel);

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => database.MigrateAsync("widget_schema_version", Migrations[..1], TooNew, _cancel));

        Assert.Equal("schema version 2 is newer than this build's 1", ex.Message);
        Assert.Equal(2, await database.ReadVersionAsync("widget_schema_version", _cancel));
        await database.InTransactionAsync(IsolationLevel.ReadCommitted, (c, t, token) => PostgresDatabase.ExecuteAsync(c, t, "INSERT INTO widgets (id, name, weight) VALUES (1, 'kept', 3)", token), _cancel);
        Assert.Equal(0, await database.ReadVersionAsync("other_schema_version", _cancel));

        InvalidOperationException TooNew(long version) => new($"schema version {version} is newer than this build's 1");
    }

    [Fact]
    public async Task Serializable_transactions_that_collide_are_run_again_until_every_increment_counts()
    {
        await using var database = PostgresDatabase.Create(await server.CreateDatabaseAsync("conflict"), "turbomft-test");
        await database.MigrateAsync("widget_schema_version", Migrations, TooNew, _cancel);
        await database.InTransactionAsync(IsolationLevel.ReadCommitted, (c, t, token) => PostgresDatabase.ExecuteAsync(c, t, "INSERT INTO widgets (id, name) VALUES (1, 'counter')", token), _cancel);
        var runs = 0;

        // Read, then write what was read plus one: under SERIALIZABLE two of these at once cannot both commit.
        async Task IncrementAsync()
        {
            for (var i = 0; i < 10; i++)
            {
                await database.InTransactionAsync(
                    IsolationLevel.Serializable,
                    async (connection, transaction, token) =>
                    {
                        Interlocked.Increment(ref runs);
                        await using var read = new NpgsqlCommand("SELECT weight FROM widgets WHERE id = 1", connection, transaction);
                        var weight = (long)(await read.ExecuteScalarAsync(token))!;
                        await Task.Yield();
                        await using var write = new NpgsqlCommand("UPDATE widgets SET weight = $1 WHERE id = 1", connection, transaction);
                        write.Parameters.Add(new NpgsqlParameter<long> { TypedValue = weight + 1 });
                        await write.ExecuteNonQueryAsync(token);
                    },
                    _cancel);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(IncrementAsync, _cancel)));

        await using var connection = await database.OpenAsync(_cancel);
        await using var total = new NpgsqlCommand("SELECT weight FROM widgets WHERE id = 1", connection);
        Assert.Equal(40L, (long)(await total.ExecuteScalarAsync(_cancel))!);
        Assert.True(runs >= 40, $"{runs} runs");
    }

    [Theory]
    [InlineData("", "is empty")]
    [InlineData("Host=127.0.0.1;Password=hunter2-secret;Bogus=1", "is invalid")]
    [InlineData("Password=hunter2-secret;Database=x", "names no Host")]
    [InlineData("Host=db;Password=hunter2-secret", "names no Database")]
    public void A_bad_connection_string_names_the_setting_and_never_the_password(string connectionString, string says)
    {
        var ex = Assert.Throws<ArgumentException>(() => PostgresDatabase.Create(connectionString, "turbomft-test"));

        Assert.Contains(says, ex.Message, StringComparison.Ordinal);
        Assert.Contains("TURBOMFT_POSTGRES", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2-secret", ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_password_is_unavailable_with_the_database_named_and_the_password_in_neither()
    {
        var good = await server.CreateDatabaseAsync("login");
        var wrong = new NpgsqlConnectionStringBuilder(good) { Password = "wrong-" + server.Password }.ConnectionString;
        await using var database = PostgresDatabase.Create(wrong, "turbomft-test");

        var ex = await Assert.ThrowsAsync<StoreUnavailableException>(() => database.OpenAsync(_cancel));

        Assert.Contains(database.Description, ex.Message, StringComparison.Ordinal);
        Assert.Contains("password authentication failed", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(server.Password, ex.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(server.Password, database.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_database_that_goes_away_is_unavailable_and_serves_again_once_it_is_back()
    {
        // A server of its own: stopping the shared one would fail the tests beside this one.
        await using var own = new PostgresServer();
        await using var database = PostgresDatabase.Create(await own.CreateDatabaseAsync("away"), "turbomft-test");
        await database.MigrateAsync("widget_schema_version", Migrations, TooNew, _cancel);

        await own.StopAsync();
        var ex = await Assert.ThrowsAsync<StoreUnavailableException>(() => database.InTransactionAsync(
            IsolationLevel.ReadCommitted, (c, t, token) => PostgresDatabase.ExecuteAsync(c, t, "INSERT INTO widgets (id, name) VALUES (7, 'lost')", token), _cancel));
        Assert.StartsWith($"PostgreSQL ({database.Description}) is unavailable: ", ex.Message, StringComparison.Ordinal);
        var single = await Assert.ThrowsAsync<StoreUnavailableException>(() => database.WithConnectionAsync(CountWidgetsAsync, _cancel));
        Assert.StartsWith($"PostgreSQL ({database.Description}) is unavailable: ", single.Message, StringComparison.Ordinal);

        await own.StartAsync();
        await database.InTransactionAsync(IsolationLevel.ReadCommitted, (c, t, token) => PostgresDatabase.ExecuteAsync(c, t, "INSERT INTO widgets (id, name) VALUES (7, 'after')", token), _cancel);
        await using var connection = await database.OpenAsync(_cancel);
        await using var read = new NpgsqlCommand("SELECT name FROM widgets WHERE id = 7", connection);
        Assert.Equal("after", (string)(await read.ExecuteScalarAsync(_cancel))!);
        Assert.Equal(1L, await database.WithConnectionAsync(CountWidgetsAsync, _cancel));

        static async Task<long> CountWidgetsAsync(NpgsqlConnection connection, CancellationToken token)
        {
            await using var count = new NpgsqlCommand("SELECT count(*) FROM widgets", connection);
            return (long)(await count.ExecuteScalarAsync(token))!;
        }
    }

    [Fact]
    public async Task What_runs_after_the_migrations_commits_with_them_once_or_not_at_all()
    {
        var connection = await server.CreateDatabaseAsync("seed");
        var nodes = Enumerable.Range(0, 3).Select(_ => PostgresDatabase.Create(connection, "turbomft-test")).ToArray();
        try
        {
            // A seed that fails rolls the schema back with it: the next node finds an empty database.
            await Assert.ThrowsAsync<InvalidOperationException>(() => nodes[0].MigrateAsync(
                "widget_schema_version", Migrations, TooNew, (_, _, _, _) => throw new InvalidOperationException("seed failed"), _cancel));
            Assert.Equal(0, await nodes[0].ReadVersionAsync("widget_schema_version", _cancel));

            var seenVersions = new System.Collections.Concurrent.ConcurrentBag<long>();
            await Task.WhenAll(nodes.Select(node => node.MigrateAsync(
                "widget_schema_version",
                Migrations,
                TooNew,
                async (c, t, version, token) =>
                {
                    seenVersions.Add(version);
                    await PostgresDatabase.ExecuteAsync(c, t, "INSERT INTO widgets (id, name) VALUES (1, 'seeded')", token);
                },
                _cancel)));

            Assert.Equal([0L], seenVersions);
            await using var read = await nodes[1].OpenAsync(_cancel);
            await using var count = new NpgsqlCommand("SELECT count(*) FROM widgets", read);
            Assert.Equal(1L, (long)(await count.ExecuteScalarAsync(_cancel))!);
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Work_on_a_connection_outside_a_transaction_is_unavailable_while_the_database_is_away()
    {
        await using var own = new PostgresServer();
        await using var database = PostgresDatabase.Create(await own.CreateDatabaseAsync("onconnection"), "turbomft-test");
        await database.MigrateAsync("widget_schema_version", Migrations, TooNew, _cancel);

        // A pooled connection idle across the stop fails on its first statement, not on open: that is mapped too.
        Assert.Equal(0L, await database.WithConnectionAsync((c, token) => CountAsync(c, token), _cancel));
        await own.StopAsync();
        var ex = await Assert.ThrowsAsync<StoreUnavailableException>(() => database.WithConnectionAsync((c, token) => CountAsync(c, token), _cancel));
        Assert.StartsWith($"PostgreSQL ({database.Description}) is unavailable: ", ex.Message, StringComparison.Ordinal);

        await own.StartAsync();
        Assert.Equal(0L, await database.WithConnectionAsync((c, token) => CountAsync(c, token), _cancel));

        static async Task<long> CountAsync(NpgsqlConnection connection, CancellationToken token)
        {
            await using var count = new NpgsqlCommand("SELECT count(*) FROM widgets", connection);
            return (long)(await count.ExecuteScalarAsync(token))!;
        }
    }

    [Fact]
    public void Migration_lock_keys_differ_per_store_and_never_change_between_builds()
    {
        string[] stores = ["metadata_schema_version", "access_schema_version", "replication_schema_version"];

        Assert.Equal(stores.Length, stores.Select(PostgresDatabase.MigrationLockKey).Distinct().Count());

        // Nodes of two builds must take the same lock, or both would migrate at once: the key is pinned.
        Assert.Equal(PinnedMetadataLockKey, PostgresDatabase.MigrationLockKey("metadata_schema_version"));
    }

    private static InvalidOperationException TooNew(long version) => new($"schema version {version} is too new");
}
