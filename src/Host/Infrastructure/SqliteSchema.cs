using Microsoft.Data.Sqlite;

namespace TurboMft.Host.Infrastructure;

/// <summary>
/// What every TurboMft SQLite database shares (metadata.db, access.db): an owner-only file, WAL mode, pooled connections
/// opened with a synchronous level and busy timeout, and a version table (<c>schema_version</c>, or one per store sharing
/// the file) migrated forward by an append-only list of scripts in one transaction.
/// </summary>
internal static class SqliteSchema
{
    /// <summary>How long a connection waits on another writer's lock.</summary>
    public const int BusyTimeoutMilliseconds = 30_000;

    /// <summary>The connection string every store uses for <paramref name="databasePath"/>: read-write, pooled, foreign keys on.</summary>
    public static string ConnectionString(string databasePath) => new SqliteConnectionStringBuilder
    {
        DataSource = databasePath,
        Mode = SqliteOpenMode.ReadWrite,
        Cache = SqliteCacheMode.Private,
        Pooling = true,
        ForeignKeys = true,
        DefaultTimeout = BusyTimeoutMilliseconds / 1000,
    }.ToString();

    /// <summary>Creates <paramref name="path"/> empty and owner-only (0600) if it is missing; SQLite's WAL and shared-memory files copy its mode.</summary>
    public static void CreatePrivateFile(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        try
        {
            // An empty file is an empty SQLite database.
            using var file = new FileStream(path, options);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Already there: an existing database.
        }
    }

    /// <summary>
    /// Opens a pooled connection and sets its <c>synchronous</c> level (FULL or NORMAL) and busy timeout, on every open
    /// because a pooled connection may come back with another level.
    /// </summary>
    public static async Task<SqliteConnection> OpenAsync(string connectionString, string synchronous, CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var pragma = connection.CreateCommand();
            pragma.CommandText = $"PRAGMA synchronous = {synchronous}; PRAGMA busy_timeout = {BusyTimeoutMilliseconds}";
            await pragma.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Switches the file to WAL and migrates it from its recorded version to <c>migrations.Length</c> in one transaction.
    /// <paramref name="afterMigrations"/> runs inside that transaction with the version the file had (0 = new), before
    /// the new version is recorded. A file newer than this build is refused through <paramref name="tooNew"/>.
    /// </summary>
    public static Task MigrateAsync(
        SqliteConnection connection,
        string description,
        string[] migrations,
        Func<long, Exception> tooNew,
        Func<SqliteTransaction, long, Task>? afterMigrations,
        CancellationToken cancellationToken) =>
        MigrateAsync(connection, description, "schema_version", migrations, tooNew, afterMigrations, cancellationToken);

    /// <summary>
    /// As the overload without <paramref name="versionTable"/>, recording the version in <paramref name="versionTable"/>
    /// (a constant name): a second store in the same file (the replication store in <c>metadata.db</c>) keeps its own
    /// version and migrations beside the first's.
    /// </summary>
    public static async Task MigrateAsync(
        SqliteConnection connection,
        string description,
        string versionTable,
        string[] migrations,
        Func<long, Exception> tooNew,
        Func<SqliteTransaction, long, Task>? afterMigrations,
        CancellationToken cancellationToken)
    {
        // WAL is a property of the file and persists; it cannot be switched inside a transaction.
        await using (var wal = connection.CreateCommand())
        {
            wal.CommandText = "PRAGMA journal_mode = WAL";
            var mode = (string?)await wal.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
            {
                throw new IOException($"The {description} could not be switched to WAL mode (it is in '{mode}' mode); check that its file system supports shared memory.");
            }
        }

        await using var transaction = connection.BeginTransaction(deferred: false);
        await using (var create = connection.CreateCommand())
        {
            create.Transaction = transaction;
            create.CommandText = $"CREATE TABLE IF NOT EXISTS {versionTable} (version INTEGER NOT NULL) STRICT";
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        long current;
        await using (var read = connection.CreateCommand())
        {
            read.Transaction = transaction;
            read.CommandText = $"SELECT coalesce(max(version), 0) FROM {versionTable}";
            current = (long)(await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }

        if (current > migrations.Length)
        {
            throw tooNew(current);
        }

        if (current == migrations.Length)
        {
            return;
        }

        for (var version = (int)current; version < migrations.Length; version++)
        {
            await using var migrate = connection.CreateCommand();
            migrate.Transaction = transaction;
            migrate.CommandText = migrations[version];
            await migrate.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        if (afterMigrations is not null)
        {
            await afterMigrations(transaction, current).ConfigureAwait(false);
        }

        await using (var record = connection.CreateCommand())
        {
            record.Transaction = transaction;
            record.CommandText = $"DELETE FROM {versionTable}; INSERT INTO {versionTable} (version) VALUES ($version)";
            record.Parameters.AddWithValue("$version", migrations.Length);
            await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }
}
