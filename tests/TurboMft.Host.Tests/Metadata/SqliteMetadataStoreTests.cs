using Microsoft.Data.Sqlite;
using TurboMft.Host.Metadata;
using static TurboMft.Host.Tests.Metadata.MetadataStoreContract;

namespace TurboMft.Host.Tests.Metadata;

/// <summary>
/// What is SQLite's own in the metadata store: the database file, reopening it, the schema version and the migration of
/// databases older builds wrote (the port's behaviour: <see cref="SqliteMetadataStoreContractTests"/>).
/// </summary>
public sealed class SqliteMetadataStoreTests : IAsyncLifetime
{

    private readonly string _dir = Directory.CreateTempSubdirectory("tmf-meta-").FullName;
    private SqliteMetadataStore _store = null!;

    public async ValueTask InitializeAsync() => _store = await SqliteMetadataStore.OpenAsync(_dir);

    public async ValueTask DisposeAsync()
    {
        await _store.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Open_creates_a_private_wal_database_at_the_current_schema_version()
    {
        var path = Path.Combine(_dir, "metadata.db");

        Assert.Equal(path, _store.DatabasePath);
        Assert.True(File.Exists(path));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }

        Assert.Equal((long)SqliteMetadataStore.SchemaVersion, await ScalarAsync("SELECT version FROM schema_version"));
        Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM schema_version"));
        Assert.Equal("wal", await ScalarAsync("PRAGMA journal_mode"));
    }

    [Fact]
    public async Task Open_creates_a_missing_directory()
    {
        var nested = Path.Combine(_dir, "data", "meta");

        await using var store = await SqliteMetadataStore.OpenAsync(nested);

        Assert.True(File.Exists(Path.Combine(nested, SqliteMetadataStore.FileName)));
    }

    [Fact]
    public async Task Reopening_the_database_keeps_everything()
    {
        var upload = await CreateOpenUploadAsync("/open/upload");
        var chunk = Chunk(upload.Id, 0, crc: ulong.MaxValue - 7);
        await _store.RecordChunkAsync(chunk);
        var committedUpload = await CreateOpenUploadAsync("/done");
        var version = Version("/done");
        await _store.CommitVersionAsync(version, committedUpload.Id);
        await _store.CommitVersionAsync(Version("/gone"), null);
        await _store.DeleteCurrentVersionAsync("/gone");

        await _store.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => _store.GetUploadAsync(upload.Id));
        _store = await SqliteMetadataStore.OpenAsync(_dir);

        Assert.Equal(upload, await _store.GetUploadAsync(upload.Id));
        AssertSameChunk(chunk, Assert.Single(await _store.ListChunksAsync(upload.Id)));
        Assert.Equal(version, await _store.GetCurrentVersionAsync("/done"));
        Assert.Equal(UploadState.Completed, (await _store.GetUploadAsync(committedUpload.Id))!.State);
        Assert.Null(await _store.GetCurrentVersionAsync("/gone"));
        Assert.Equal([upload.Id], (await _store.ListOpenUploadsAsync()).Select(u => u.Id));
        Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM schema_version"));
    }

    [Fact]
    public async Task A_database_from_a_newer_build_is_refused()
    {
        await using (var connection = new SqliteConnection($"Data Source={_store.DatabasePath};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = $"UPDATE schema_version SET version = {SqliteMetadataStore.SchemaVersion + 1}";
            await command.ExecuteNonQueryAsync();
        }

        var ex = await Assert.ThrowsAsync<MetadataException>(() => SqliteMetadataStore.OpenAsync(_dir));

        Assert.Equal(MetadataError.SchemaTooNew, ex.Error);
        Assert.Contains($"schema version {SqliteMetadataStore.SchemaVersion + 1}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_schema_1_database_migrates_with_its_versions_released_and_new_commits_pending()
    {
        var dir = Path.Combine(_dir, "old");
        Directory.CreateDirectory(dir);
        var versionId = Guid.NewGuid();
        await using (var connection = new SqliteConnection($"Data Source={Path.Combine(dir, SqliteMetadataStore.FileName)};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = SchemaOne + $"""
                CREATE TABLE schema_version (version INTEGER NOT NULL) STRICT;
                INSERT INTO schema_version (version) VALUES (1);
                INSERT INTO uploads VALUES ('{Guid.NewGuid()}', '/old/open.bin', 10, 4194304, 'fast', NULL, '/s/x.part', 1, 2, 0);
                INSERT INTO versions (seq, version_id, path, size, chunk_size, digest, sha256, object_key, committed_at, upload_id, is_current, deleted_at)
                VALUES (1, '{versionId}', '/old/file.csv', 5, 4194304, 'sha256-tree:{new string('a', 64)}', NULL, 'objectkey1', {T0.ToUnixTimeMilliseconds()}, NULL, 1, NULL);
                """;
            await command.ExecuteNonQueryAsync();
        }

        await using var store = await SqliteMetadataStore.OpenAsync(dir);

        var migrated = await store.GetVersionAsync(versionId);
        Assert.NotNull(migrated);
        Assert.Equal(ReleaseState.Released, migrated.State);
        Assert.Equal(T0, migrated.ReleasedAt);
        Assert.Null(migrated.UploadedBy);
        Assert.Null(Assert.Single(await store.ListOpenUploadsAsync()).OpenedBy);
        var fresh = Version("/old/new.csv");
        await store.CommitVersionAsync(fresh, null);
        Assert.Equal(ReleaseState.PendingScan, (await store.GetCurrentVersionAsync("/old/new.csv"))!.State);
    }

    private async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={_store.DatabasePath};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }

    private async Task<UploadSession> CreateOpenUploadAsync(string path, DateTimeOffset? expiresAt = null)
    {
        var upload = Upload(path) with { ExpiresAt = expiresAt ?? T0.AddDays(1) };
        await _store.CreateUploadAsync(upload);
        return upload;
    }

    // The schema a build before release states created (migration 1, verbatim).
    private const string SchemaOne = """
        CREATE TABLE uploads (
            id              TEXT    NOT NULL PRIMARY KEY,
            path            TEXT    NOT NULL,
            size            INTEGER NOT NULL CHECK (size >= 0),
            chunk_size      INTEGER NOT NULL CHECK (chunk_size > 0),
            verify_mode     TEXT    NOT NULL CHECK (verify_mode IN ('fast', 'sha256')),
            expected_digest TEXT,
            staging_path    TEXT    NOT NULL,
            created_at      INTEGER NOT NULL,
            expires_at      INTEGER NOT NULL,
            state           INTEGER NOT NULL CHECK (state BETWEEN 0 AND 3)
        ) STRICT;
        CREATE INDEX uploads_by_state_expiry ON uploads (state, expires_at);

        CREATE TABLE chunks (
            upload_id     TEXT    NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
            chunk_index   INTEGER NOT NULL CHECK (chunk_index >= 0),
            byte_offset   INTEGER NOT NULL CHECK (byte_offset >= 0),
            stored_length INTEGER NOT NULL CHECK (stored_length >= 0),
            plain_length  INTEGER NOT NULL CHECK (plain_length >= 0),
            encoding      INTEGER NOT NULL,
            crc64         INTEGER NOT NULL,
            sha256        BLOB    NOT NULL CHECK (length(sha256) = 32),
            received_at   INTEGER NOT NULL,
            PRIMARY KEY (upload_id, chunk_index)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE versions (
            seq          INTEGER NOT NULL PRIMARY KEY,
            version_id   TEXT    NOT NULL UNIQUE,
            path         TEXT    NOT NULL,
            size         INTEGER NOT NULL CHECK (size >= 0),
            chunk_size   INTEGER NOT NULL CHECK (chunk_size > 0),
            digest       TEXT    NOT NULL,
            sha256       TEXT,
            object_key   TEXT    NOT NULL,
            committed_at INTEGER NOT NULL,
            upload_id    TEXT    REFERENCES uploads (id) ON DELETE SET NULL,
            is_current   INTEGER NOT NULL CHECK (is_current IN (0, 1)),
            deleted_at   INTEGER
        ) STRICT;
        CREATE UNIQUE INDEX versions_current_by_path ON versions (path) WHERE is_current = 1;
        CREATE INDEX versions_current_by_digest ON versions (digest) WHERE is_current = 1;

        """;
}
