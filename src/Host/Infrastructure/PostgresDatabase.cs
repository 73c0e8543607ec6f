using System.Data;
using System.Globalization;
using Npgsql;
using Polly;
using Polly.Retry;
using TurboMft.Engine.Retries;

namespace TurboMft.Host.Infrastructure;

/// <summary>
/// The PostgreSQL database that several nodes share (docs/cluster.md): one pooled <see cref="NpgsqlDataSource"/> per
/// process, schema versions migrated by one node at a time under an advisory lock, and the classification of errors into
/// those worth running again (a serialization failure or deadlock, whose transaction PostgreSQL rolled back) and those
/// that mean the database is away (<see cref="StoreUnavailableException"/>, answered 503 with Retry-After).
/// </summary>
/// <remarks>
/// The connection string's password is never part of <see cref="Description"/>, of a log line or of an error this type
/// raises: a refused connection string is named by the setting and the keyword at fault, not echoed.
/// </remarks>
public sealed class PostgresDatabase : IAsyncDisposable
{
    /// <summary>Where the connection string comes from, in the order a setting wins: the flag, the variable, the file.</summary>
    public const string SettingNames = "--postgres, TURBOMFT_POSTGRES or \"Postgres\" in the config file";

    /// <summary>SQLSTATE of a serialization failure: the transaction was rolled back and may run again.</summary>
    public const string SerializationFailure = "40001";

    /// <summary>SQLSTATE of a detected deadlock: this transaction was chosen, rolled back, and may run again.</summary>
    public const string DeadlockDetected = "40P01";

    /// <summary>SQLSTATE of a unique violation.</summary>
    public const string UniqueViolation = "23505";

    /// <summary>SQLSTATE of a lock wait that ran past <c>lock_timeout</c>.</summary>
    public const string LockNotAvailable = "55P03";

    // Runs of a transaction refused by a serialization failure or deadlock before the error stands.
    private const int MaxConflictRetries = 8;

    private static readonly Backoff ConflictBackoff = new(TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(500), jitter: Backoff.FullJitter);

    private readonly ResiliencePipeline _conflicts;

    private PostgresDatabase(NpgsqlDataSource source, string description)
    {
        DataSource = source;
        Description = description;
        _conflicts = new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            MaxRetryAttempts = MaxConflictRetries,
            BackoffType = DelayBackoffType.Constant,
            Delay = TimeSpan.Zero,
            ShouldHandle = new PredicateBuilder().Handle<PostgresException>(IsConflict),
            DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(ConflictBackoff.Delay(args.AttemptNumber)),
        }).Build();
    }

    /// <summary>The pooled connections.</summary>
    public NpgsqlDataSource DataSource { get; }

    /// <summary>"database D on H:P as U": what an operator needs to find it, without the password.</summary>
    public string Description { get; }

    /// <summary>
    /// Checks <paramref name="connectionString"/> and builds the pool; connects to nothing yet (see <see cref="OpenAsync"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The string cannot be parsed, or names no host or database; the message names the setting, never the password.</exception>
    public static PostgresDatabase Create(string connectionString, string applicationName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(applicationName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new ArgumentException($"The PostgreSQL connection string ({SettingNames}) is empty.");
        }

        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            // Npgsql names the keyword at fault, not its value; the string itself is not repeated.
            throw new ArgumentException($"The PostgreSQL connection string ({SettingNames}) is invalid: {e.Message}");
        }

        if (string.IsNullOrWhiteSpace(builder.Host))
        {
            throw new ArgumentException($"The PostgreSQL connection string ({SettingNames}) names no Host.");
        }

        if (string.IsNullOrWhiteSpace(builder.Database))
        {
            throw new ArgumentException($"The PostgreSQL connection string ({SettingNames}) names no Database.");
        }

        builder.ApplicationName ??= applicationName;
        builder.Pooling = true;

        // Values of rows never reach an exception's text (they could be paths or names the log should not carry).
        builder.IncludeErrorDetail = false;
        var description = $"database {builder.Database} on {builder.Host}:{builder.Port} as {builder.Username ?? "(default user)"}";
        return new PostgresDatabase(new NpgsqlDataSourceBuilder(builder.ConnectionString).Build(), description);
    }

    /// <summary>A pooled connection, open.</summary>
    /// <exception cref="StoreUnavailableException">The database cannot be reached or refused the login.</exception>
    public async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NpgsqlException && !cancellationToken.IsCancellationRequested)
        {
            throw Unavailable(e);
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> in a transaction of <paramref name="isolation"/> on a connection of its own, and commits.
    /// A serialization failure or deadlock runs it again (a few times, with a short random backoff); a database that is
    /// away becomes <see cref="StoreUnavailableException"/>. <paramref name="work"/> must do nothing outside the transaction
    /// that a second run would repeat.
    /// </summary>
    public async Task<T> InTransactionAsync<T>(IsolationLevel isolation, Func<NpgsqlConnection, NpgsqlTransaction, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        try
        {
            return await _conflicts.ExecuteAsync(
                async token =>
                {
                    await using var connection = await OpenAsync(token).ConfigureAwait(false);
                    await using var transaction = await connection.BeginTransactionAsync(isolation, token).ConfigureAwait(false);
                    var result = await work(connection, transaction, token).ConfigureAwait(false);
                    await transaction.CommitAsync(token).ConfigureAwait(false);
                    return result;
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException e) when (IsAway(e) && !cancellationToken.IsCancellationRequested)
        {
            throw Unavailable(e);
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> on a pooled connection of its own without a transaction of its own: a read, or a
    /// statement (or batch) that is atomic by itself, one round trip. A deadlock, which rolled the statement back, runs it
    /// again as <see cref="InTransactionAsync{T}"/> does; a database that is away, before or during the work, becomes
    /// <see cref="StoreUnavailableException"/>.
    /// </summary>
    public async Task<T> WithConnectionAsync<T>(Func<NpgsqlConnection, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        try
        {
            return await _conflicts.ExecuteAsync(
                async token =>
                {
                    await using var connection = await OpenAsync(token).ConfigureAwait(false);
                    return await work(connection, token).ConfigureAwait(false);
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException e) when (IsAway(e) && !cancellationToken.IsCancellationRequested)
        {
            throw Unavailable(e);
        }
    }

    /// <summary>
    /// Takes the advisory lock <paramref name="key"/> (the one-bigint key space) in a transaction on a connection of its own
    /// and holds it until the returned handle is disposed, which ends the transaction. A node that dies releases it with its
    /// connection. Waits at most <paramref name="timeout"/> for another holder.
    /// </summary>
    /// <exception cref="StoreUnavailableException">The database is away, or the lock stayed taken longer than <paramref name="timeout"/>.</exception>
    public async Task<IAsyncDisposable> HoldAdvisoryLockAsync(long key, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken).ConfigureAwait(false);
            // Two statements in one round trip: numbers only, so written into the text (a batch of one command).
            var sql = string.Create(CultureInfo.InvariantCulture, $"SET LOCAL lock_timeout = {(long)timeout.TotalMilliseconds}; SELECT pg_advisory_xact_lock({key})");
            await ExecuteAsync(connection, transaction, sql, cancellationToken).ConfigureAwait(false);

            return new HeldAdvisoryLock(connection, transaction);
        }
        catch (PostgresException e) when (e.SqlState == LockNotAvailable)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw new StoreUnavailableException($"PostgreSQL ({Description}): a lock the request needs stayed taken for {timeout.TotalSeconds:0} s (another node holds it); try again.", e);
        }
        catch (Exception e) when (e is NpgsqlException && !cancellationToken.IsCancellationRequested)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw Unavailable(e);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>As <see cref="InTransactionAsync{T}"/> for work without a result.</summary>
    public Task InTransactionAsync(IsolationLevel isolation, Func<NpgsqlConnection, NpgsqlTransaction, CancellationToken, Task> work, CancellationToken cancellationToken) =>
        InTransactionAsync<bool>(
            isolation,
            async (connection, transaction, token) =>
            {
                await work(connection, transaction, token).ConfigureAwait(false);
                return true;
            },
            cancellationToken);

    /// <summary>
    /// Migrates the store whose version lives in <paramref name="versionTable"/> (a constant name, one per store) from its
    /// recorded version to <c>migrations.Length</c>, in one transaction under an advisory lock of that table, so that of
    /// several nodes starting at once exactly one migrates and the others find the schema current. A schema newer than
    /// this build is refused through <paramref name="tooNew"/>, before anything is changed.
    /// </summary>
    /// <returns>The version the database had (0: new).</returns>
    public Task<long> MigrateAsync(string versionTable, string[] migrations, Func<long, Exception> tooNew, CancellationToken cancellationToken) =>
        MigrateAsync(versionTable, migrations, tooNew, afterMigrations: null, cancellationToken);

    /// <summary>
    /// As the overload without <paramref name="afterMigrations"/>, which runs inside the migration's transaction (under its
    /// lock) with the version the database had (0: new) when there was something to migrate, after the migrations and before
    /// the new version is recorded: what a store seeds on creation commits with its schema or not at all.
    /// </summary>
    /// <returns>The version the database had (0: new).</returns>
    public Task<long> MigrateAsync(
        string versionTable,
        string[] migrations,
        Func<long, Exception> tooNew,
        Func<NpgsqlConnection, NpgsqlTransaction, long, CancellationToken, Task>? afterMigrations,
        CancellationToken cancellationToken) =>
        InTransactionAsync(
            IsolationLevel.ReadCommitted,
            async (connection, transaction, token) =>
            {
                await ExecuteAsync(connection, transaction, $"SELECT pg_advisory_xact_lock({MigrationLockKey(versionTable)})", token).ConfigureAwait(false);
                await ExecuteAsync(connection, transaction, $"CREATE TABLE IF NOT EXISTS {versionTable} (version bigint NOT NULL)", token).ConfigureAwait(false);
                long current;
                await using (var read = new NpgsqlCommand($"SELECT coalesce(max(version), 0) FROM {versionTable}", connection, transaction))
                {
                    current = (long)(await read.ExecuteScalarAsync(token).ConfigureAwait(false))!;
                }

                if (current > migrations.Length)
                {
                    throw tooNew(current);
                }

                for (var version = (int)current; version < migrations.Length; version++)
                {
                    await ExecuteAsync(connection, transaction, migrations[version], token).ConfigureAwait(false);
                }

                if (current < migrations.Length)
                {
                    if (afterMigrations is not null)
                    {
                        await afterMigrations(connection, transaction, current, token).ConfigureAwait(false);
                    }

                    await ExecuteAsync(connection, transaction, $"DELETE FROM {versionTable}", token).ConfigureAwait(false);
                    await using var record = new NpgsqlCommand($"INSERT INTO {versionTable} (version) VALUES ($1)", connection, transaction);
                    record.Parameters.Add(new NpgsqlParameter<long> { TypedValue = migrations.Length });
                    await record.ExecuteNonQueryAsync(token).ConfigureAwait(false);
                }

                return current;
            },
            cancellationToken);

    /// <summary>The recorded version of the store in <paramref name="versionTable"/>, 0 when it has none yet.</summary>
    public async Task<long> ReadVersionAsync(string versionTable, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var exists = new NpgsqlCommand("SELECT to_regclass($1) IS NOT NULL", connection);
        exists.Parameters.Add(new NpgsqlParameter<string> { TypedValue = versionTable });
        if (!(bool)(await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!)
        {
            return 0;
        }

        await using var read = new NpgsqlCommand($"SELECT coalesce(max(version), 0) FROM {versionTable}", connection);
        return (long)(await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>True for an error whose transaction PostgreSQL rolled back and that a second run may not meet.</summary>
    public static bool IsConflict(PostgresException e) => e.SqlState is SerializationFailure or DeadlockDetected;

    /// <summary>True when the error says the database is away (a broken connection, a server shutting down), not that the statement is wrong.</summary>
    public static bool IsAway(NpgsqlException e) => e is not PostgresException || e.IsTransient;

    /// <summary>Runs one statement without parameters.</summary>
    public static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => DataSource.DisposeAsync();

    /// <summary>The advisory lock key of a store's migrations: FNV-1a of its version table's name, stable across builds and nodes.</summary>
    internal static long MigrationLockKey(string versionTable)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in "turbomft.migrate." + versionTable)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return unchecked((long)hash);
    }

    private StoreUnavailableException Unavailable(Exception e) =>
        new($"PostgreSQL ({Description}) is unavailable: {e.Message}", e);

    // Ending the transaction releases the lock; a connection that broke meanwhile released it already.
    private sealed class HeldAdvisoryLock(NpgsqlConnection connection, NpgsqlTransaction transaction) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await transaction.RollbackAsync().ConfigureAwait(false);
            }
            catch (NpgsqlException)
            {
                // The connection is gone, and the lock with it.
            }
            finally
            {
                await transaction.DisposeAsync().ConfigureAwait(false);
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
