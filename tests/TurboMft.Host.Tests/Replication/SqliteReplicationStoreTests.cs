using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using TurboMft.Host.Metadata;
using TurboMft.Host.Replication;

namespace TurboMft.Host.Tests.Replication;

/// <summary>What is SQLite's own in the replication store: its version table and the databases older builds wrote.</summary>
public sealed class SqliteReplicationStoreTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_750_000_000_000);

    private readonly string _dir = Directory.CreateTempSubdirectory("tmf-repl-sqlite-").FullName;
    private readonly FakeTimeProvider _time = new(T0);

    private string DatabasePath => Path.Combine(_dir, SqliteMetadataStore.FileName);

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task A_database_whose_replication_tables_came_from_the_metadata_store_keeps_its_rules_and_jobs()
    {
        var ct = TestContext.Current.CancellationToken;
        await using (await SqliteMetadataStore.OpenAsync(_dir, ct))
        {
            // What metadata schema 3 of the builds before this store had its own version left in the file.
            await ExecuteAsync(OldTables + $"""
                INSERT INTO replication_rules VALUES ('r', '/plant', 'site-b', 'push', '/plant', 0, 0, 0, '*.csv', NULL, 1, {T0.ToUnixTimeMilliseconds()});
                INSERT INTO replication_jobs (id, rule, peer, direction, subject, source_path, target_path, state, attempts, next_attempt_at, remote_upload_id,
                                              correlation_id, created_at, updated_at)
                VALUES (1, 'r', 'site-b', 'push', 'v1', '/plant/a.csv', '/plant/a.csv', 'done', 1, 0, NULL, 'c1', 0, 0),
                       (2, 'r', 'site-b', 'push', 'v2', '/plant/b.csv', '/plant/b.csv', 'running', 2, 0, 'session-2', 'c2', 0, 0),
                       (3, 'r', 'site-b', 'push', 'v3', '/plant/c.csv', '/plant/c.csv', 'pending', 0, 0, NULL, 'c3', 0, 0);
                """, ct);
        }

        using var store = await SqliteReplicationStore.OpenAsync(DatabasePath, _time, ct);

        var rule = Assert.Single(await store.ListRulesAsync(ct));
        Assert.Equal(("r", "/plant", "site-b"), (rule.Name, rule.Area.Value, rule.Peer));
        Assert.Equal(["*.csv"], rule.Include);
        var jobs = await store.ListJobsAsync(null, 10, ct);
        Assert.Equal([3L, 2L, 1L], jobs.Select(j => j.Id));
        Assert.Equal([ReplicationJobState.Pending, ReplicationJobState.Pending, ReplicationJobState.Done], jobs.Select(j => j.State));
        Assert.Equal(("session-2", 2), (jobs[1].RemoteUploadId, jobs[1].Attempts));
        Assert.False(await store.EnqueueAsync(jobs[0], ct));

        // The job left running by the old build is due at once: no lease of it is waited for.
        var claimed = await store.ClaimDueAsync("site-b", "node-a@host", 10, TimeSpan.FromMinutes(1), ct);
        Assert.Equal([2L, 3L], claimed.Select(j => j.Id).Order());
        Assert.Equal((long)SqliteReplicationStore.SchemaVersion, await ScalarAsync("SELECT version FROM replication_schema_version", ct));
        Assert.Equal((long)SqliteMetadataStore.SchemaVersion, await ScalarAsync("SELECT version FROM schema_version", ct));
    }

    [Fact]
    public async Task A_new_database_gets_the_tables_from_either_store_in_either_order_and_reopening_changes_nothing()
    {
        var ct = TestContext.Current.CancellationToken;
        using (var first = await SqliteReplicationStore.OpenAsync(DatabasePath, _time, ct))
        {
            Assert.True(await first.EnqueueAsync(new ReplicationJob(0, "r", "site-b", ReplicationDirection.Push, "v1", null, "/a", "/a", null, 0,
                ReplicationJobState.Pending, 0, T0, null, null, 0, "c1", null, null, null, T0), ct));
        }

        await using var metadata = await SqliteMetadataStore.OpenAsync(_dir, ct);
        using var again = await SqliteReplicationStore.OpenAsync(DatabasePath, _time, ct);

        Assert.Single(await again.ListJobsAsync(null, 10, ct));
        Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM replication_schema_version", ct));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(DatabasePath));
        }
    }

    [Fact]
    public async Task Replication_tables_from_a_newer_build_are_refused()
    {
        var ct = TestContext.Current.CancellationToken;
        using (await SqliteReplicationStore.OpenAsync(DatabasePath, _time, ct))
        {
            await ExecuteAsync($"UPDATE replication_schema_version SET version = {SqliteReplicationStore.SchemaVersion + 1}", ct);
        }

        var ex = await Assert.ThrowsAsync<MetadataException>(() => SqliteReplicationStore.OpenAsync(DatabasePath, _time, ct));

        Assert.Equal(MetadataError.SchemaTooNew, ex.Error);
        Assert.Contains($"schema version {SqliteReplicationStore.SchemaVersion + 1}", ex.Message, StringComparison.Ordinal);
    }

    private async Task ExecuteAsync(string sql, CancellationToken ct)
    {
        await using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        await connection.OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(ct);
    }

    private async Task<object?> ScalarAsync(string sql, CancellationToken ct)
    {
        await using var connection = new SqliteConnection($"Data Source={DatabasePath};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync(ct);
    }

    // The replication tables as the metadata store's migration 3 created them before they became this store's (verbatim).
    private const string OldTables = """
        CREATE TABLE replication_rules (
            name              TEXT    NOT NULL PRIMARY KEY,
            area              TEXT    NOT NULL,
            peer              TEXT    NOT NULL,
            mode              TEXT    NOT NULL CHECK (mode IN ('push', 'pull')),
            target            TEXT    NOT NULL,
            propagate_deletes INTEGER NOT NULL CHECK (propagate_deletes IN (0, 1)),
            interval_seconds  INTEGER NOT NULL CHECK (interval_seconds >= 0),
            bandwidth_bps     INTEGER NOT NULL CHECK (bandwidth_bps >= 0),
            include_globs     TEXT,
            exclude_globs     TEXT,
            enabled           INTEGER NOT NULL CHECK (enabled IN (0, 1)),
            created_at        INTEGER NOT NULL
        ) STRICT;

        CREATE TABLE replication_jobs (
            id               INTEGER NOT NULL PRIMARY KEY,
            rule             TEXT    NOT NULL,
            peer             TEXT    NOT NULL,
            direction        TEXT    NOT NULL CHECK (direction IN ('push', 'pull', 'delete')),
            subject          TEXT    NOT NULL,
            version_id       TEXT,
            source_path      TEXT    NOT NULL,
            target_path      TEXT    NOT NULL,
            digest           TEXT,
            size             INTEGER NOT NULL DEFAULT 0,
            state            TEXT    NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed-permanent', 'skipped')),
            attempts         INTEGER NOT NULL DEFAULT 0,
            next_attempt_at  INTEGER NOT NULL,
            last_error       TEXT,
            remote_upload_id TEXT,
            bytes_sent       INTEGER NOT NULL DEFAULT 0,
            correlation_id   TEXT    NOT NULL,
            origin_site      TEXT,
            origin_path      TEXT,
            origin_time      INTEGER,
            created_at       INTEGER NOT NULL,
            updated_at       INTEGER NOT NULL,
            completed_at     INTEGER,
            UNIQUE (subject, peer, direction)
        ) STRICT;
        CREATE INDEX replication_jobs_due ON replication_jobs (next_attempt_at, id) WHERE state = 'pending';
        CREATE INDEX replication_jobs_by_peer ON replication_jobs (peer, state, next_attempt_at, id);

        """;
}
