using Microsoft.Data.Sqlite;
using TurboMft.Engine.Protocol;
using TurboMft.Engine.Storage;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Metadata;

namespace TurboMft.Host.Replication;

/// <summary>
/// The embedded replication store: rules and the durable outbox as tables of <c>metadata.db</c>, beside the metadata
/// store's, with their own schema version (<c>replication_schema_version</c>) migrated on open.
/// </summary>
/// <remarks>
/// Rule changes are written with <c>synchronous=FULL</c>; job bookkeeping with NORMAL, because a job update lost to a
/// power cut only repeats work that is safe to repeat: a job run again finds the peer holding the digest and is skipped,
/// and a lost enqueue is found again by the sweep. A claim is one <c>UPDATE … RETURNING</c>, so two claimers (two
/// workers, or two processes on the file) serialise on SQLite's write lock and never both get a job. Times are INTEGER
/// Unix milliseconds from the <see cref="TimeProvider"/>; leases are compared with it too.
/// </remarks>
public sealed class SqliteReplicationStore : IReplicationStore, IDisposable
{
    /// <summary>The schema version of the replication tables this build creates and reads.</summary>
    public const int SchemaVersion = 2;

    private const string VersionTable = "replication_schema_version";

    private const string JobColumns =
        "id, rule, peer, direction, subject, version_id, source_path, target_path, digest, size, state, attempts, next_attempt_at, last_error, "
        + "remote_upload_id, bytes_sent, correlation_id, origin_site, origin_path, origin_time, created_at, lease_owner, lease_expires_at";

    private const string RuleColumns =
        "name, area, peer, mode, target, propagate_deletes, interval_seconds, bandwidth_bps, include_globs, exclude_globs, enabled, created_at";

    // What the sweep reads of a released version (the metadata store's versions table, same file).
    private const string VersionColumns =
        "v.version_id, v.path, v.size, v.chunk_size, v.digest, v.sha256, v.object_key, v.committed_at, v.uploaded_by, v.released_at, "
        + "v.decision, v.decided_by, v.decision_reason, v.decided_at, v.origin_site, v.origin_path, v.origin_time, v.origin_digest, v.correlation_id, v.seq";

    // Index i migrates from version i to i + 1; append, never edit a shipped entry. Databases written before this store
    // had its own version got these tables from the metadata store's migration 3, so entry 0 creates them only if missing.
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE IF NOT EXISTS replication_rules (
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

        CREATE TABLE IF NOT EXISTS replication_jobs (
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
        CREATE INDEX IF NOT EXISTS replication_jobs_due ON replication_jobs (next_attempt_at, id) WHERE state = 'pending';
        CREATE INDEX IF NOT EXISTS replication_jobs_by_peer ON replication_jobs (peer, state, next_attempt_at, id);
        """,

        // 2: leases. A job left running by a build without them has no holder to wait for: it is pending again (what
        // that build did at every start).
        """
        ALTER TABLE replication_jobs ADD COLUMN lease_owner TEXT;
        ALTER TABLE replication_jobs ADD COLUMN lease_expires_at INTEGER;
        UPDATE replication_jobs SET state = 'pending' WHERE state = 'running';
        CREATE INDEX replication_jobs_leases ON replication_jobs (peer, lease_expires_at) WHERE state = 'running';
        CREATE INDEX replication_jobs_by_owner ON replication_jobs (lease_owner) WHERE state = 'running';
        """,
    ];

    private readonly string _connectionString;
    private readonly TimeProvider _time;

    private SqliteReplicationStore(string databasePath, TimeProvider time)
    {
        DatabasePath = databasePath;
        _time = time;
        _connectionString = SqliteSchema.ConnectionString(databasePath);
    }

    /// <summary>The database file (absolute).</summary>
    public string DatabasePath { get; }

    /// <summary>
    /// Opens the replication tables in the database at <paramref name="databasePath"/> (the data directory's
    /// <c>metadata.db</c>), creating the file (0600) when missing and creating or migrating the tables; rows of older
    /// databases are kept.
    /// </summary>
    /// <exception cref="MetadataException">With <see cref="MetadataError.SchemaTooNew"/> when a newer build wrote the tables.</exception>
    public static async Task<SqliteReplicationStore> OpenAsync(string databasePath, TimeProvider time, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(databasePath);
        ArgumentNullException.ThrowIfNull(time);
        var path = Path.GetFullPath(databasePath);
        SqliteSchema.CreatePrivateFile(path);
        var store = new SqliteReplicationStore(path, time);
        await using var connection = await store.OpenAsync("FULL", cancellationToken).ConfigureAwait(false);
        await SqliteSchema.MigrateAsync(
            connection,
            $"replication tables of '{path}'",
            VersionTable,
            Migrations,
            current => new MetadataException(MetadataError.SchemaTooNew, $"The replication tables of '{path}' have schema version {current}, newer than this build's {SchemaVersion}; run a newer TurboMft."),
            null,
            cancellationToken).ConfigureAwait(false);
        return store;
    }

    /// <inheritdoc />
    public async Task<bool> AddRuleAsync(ReplicationRule rule, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rule);
        await using var connection = await OpenAsync("FULL", cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            INSERT INTO replication_rules ({RuleColumns})
            VALUES ($name, $area, $peer, $mode, $target, $deletes, $interval, $bandwidth, $include, $exclude, $enabled, $created)
            ON CONFLICT (name) DO NOTHING
            """;
        command.Parameters.AddWithValue("$name", rule.Name);
        command.Parameters.AddWithValue("$area", rule.Area.Value);
        command.Parameters.AddWithValue("$peer", rule.Peer);
        command.Parameters.AddWithValue("$mode", rule.ModeName);
        command.Parameters.AddWithValue("$target", rule.Target.Value);
        command.Parameters.AddWithValue("$deletes", rule.PropagateDeletes ? 1L : 0L);
        command.Parameters.AddWithValue("$interval", (long)(rule.Interval?.TotalSeconds ?? 0));
        command.Parameters.AddWithValue("$bandwidth", rule.BandwidthBytesPerSecond);
        command.Parameters.AddWithValue("$include", rule.Include.Count == 0 ? DBNull.Value : string.Join('\n', rule.Include));
        command.Parameters.AddWithValue("$exclude", rule.Exclude.Count == 0 ? DBNull.Value : string.Join('\n', rule.Exclude));
        command.Parameters.AddWithValue("$enabled", rule.Enabled ? 1L : 0L);
        command.Parameters.AddWithValue("$created", rule.CreatedAt.ToUnixTimeMilliseconds());
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ReplicationRule>> ListRulesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync("NORMAL", cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {RuleColumns} FROM replication_rules ORDER BY name";
        var rules = new List<ReplicationRule>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var interval = reader.GetInt64(6);
            rules.Add(new ReplicationRule(
                reader.GetString(0),
                RemotePath.Parse(reader.GetString(1), allowRoot: true),
                reader.GetString(2),
                reader.GetString(3) == "pull" ? ReplicationMode.Pull : ReplicationMode.Push,
                RemotePath.Parse(reader.GetString(4), allowRoot: true),
                reader.GetInt64(5) == 1,
                interval == 0 ? null : TimeSpan.FromSeconds(interval),
                reader.GetInt64(7),
                reader.IsDBNull(8) ? [] : reader.GetString(8).Split('\n'),
                reader.IsDBNull(9) ? [] : reader.GetString(9).Split('\n'),
                reader.GetInt64(10) == 1,
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(11))));
        }

        return rules;
    }

    /// <inheritdoc />
    public async Task<bool> RemoveRuleAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync("FULL", cancellationToken).ConfigureAwait(false);
        await using var transaction = connection.BeginTransaction(deferred: false);
        await using var jobs = connection.CreateCommand();
        jobs.Transaction = transaction;
        jobs.CommandText = "DELETE FROM replication_jobs WHERE rule = $name AND state IN ('pending', 'running', 'failed-permanent')";
        jobs.Parameters.AddWithValue("$name", name);
        await jobs.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "DELETE FROM replication_rules WHERE name = $name";
        command.Parameters.AddWithValue("$name", name);
        var removed = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return removed;
    }

    /// <inheritdoc />
    public async Task<bool> EnqueueAsync(ReplicationJob job, CancellationToken cancellationToken) =>
        await EnqueueAsync([job], cancellationToken).ConfigureAwait(false) == 1;

    /// <inheritdoc />
    public async Task<int> EnqueueAsync(IReadOnlyList<ReplicationJob> jobs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        await using var connection = await OpenAsync("NORMAL", cancellationToken).ConfigureAwait(false);
        await using var transaction = connection.BeginTransaction(deferred: false);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO replication_jobs (rule, peer, direction, subject, version_id, source_path, target_path, digest, size, state, attempts,
                                          next_attempt_at, correlation_id, origin_site, origin_path, origin_time, created_at, updated_at)
            VALUES ($rule, $peer, $direction, $subject, $version, $source, $target, $digest, $size, 'pending', 0, $now, $correlation,
                    $originSite, $originPath, $originTime, $now, $now)
            ON CONFLICT (subject, peer, direction) DO NOTHING
            """;
        var added = 0;
        foreach (var job in jobs)
        {
            command.Parameters.Clear();
            command.Parameters.AddWithValue("$rule", job.Rule);
            command.Parameters.AddWithValue("$peer", job.Peer);
            command.Parameters.AddWithValue("$direction", ReplicationJob.DirectionName(job.Direction));
            command.Parameters.AddWithValue("$subject", job.Subject);
            command.Parameters.AddWithValue("$version", job.VersionId is { } v ? v.ToString("D") : DBNull.Value);
            command.Parameters.AddWithValue("$source", job.SourcePath);
            command.Parameters.AddWithValue("$target", job.TargetPath);
            command.Parameters.AddWithValue("$digest", (object?)job.Digest ?? DBNull.Value);
            command.Parameters.AddWithValue("$size", job.Size);
            command.Parameters.AddWithValue("$now", Now());
            command.Parameters.AddWithValue("$correlation", job.CorrelationId);
            command.Parameters.AddWithValue("$originSite", (object?)job.OriginSite ?? DBNull.Value);
            command.Parameters.AddWithValue("$originPath", (object?)job.OriginPath ?? DBNull.Value);
            command.Parameters.AddWithValue("$originTime", job.OriginTime is { } t ? t.ToUnixTimeMilliseconds() : DBNull.Value);
            added += await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return added;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> DuePeersAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync("NORMAL", cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        // Each peer checked through the per-peer indexes, so a long backlog costs nothing here.
        command.CommandText = """
            SELECT p.peer FROM (SELECT DISTINCT peer FROM replication_rules) p
            WHERE EXISTS (SELECT 1 FROM replication_jobs j WHERE j.peer = p.peer AND j.state = 'pending' AND j.next_attempt_at <= $now)
               OR EXISTS (SELECT 1 FROM replication_jobs j WHERE j.peer = p.peer AND j.state = 'running' AND coalesce(j.lease_expires_at, 0) <= $now)
            """;
        command.Parameters.AddWithValue("$now", Now());
        var peers = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            peers.Add(reader.GetString(0));
        }

        return peers;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ReplicationJob>> ClaimDueAsync(string peer, string owner, int limit, TimeSpan lease, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lease, TimeSpan.Zero);
        await using var connection = await OpenAsync("NORMAL", cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        // One statement: the due check and the lease are one write, so a second claimer finds the job running and leased.
        command.CommandText = $"""
            UPDATE replication_jobs SET state = 'running', lease_owner = $owner, lease_expires_at = $until, updated_at = $now
            WHERE id IN (
                SELECT id FROM (
                    SELECT id, next_attempt_at FROM replication_jobs
                    WHERE peer = $peer AND state = 'pending' AND next_attempt_at <= $now
                    UNION ALL
                    SELECT id, next_attempt_at FROM replication_jobs
                    WHERE peer = $peer AND state = 'running' AND coalesce(lease_expires_at, 0) <= $now)
                ORDER BY next_attempt_at, id LIMIT $limit)
            RETURNING {JobColumns}
            """;
        var now = _time.GetUtcNow();
        command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$until", (now + lease).ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$owner", owner);
        command.Parameters.AddWithValue("$limit", limit);
        command.Parameters.AddWithValue("$peer", peer);
        var jobs = await ReadJobsAsync(command, cancellationToken).ConfigureAwait(false);
        return [.. jobs.OrderBy(j => j.NextAttemptAt).ThenBy(j => j.Id)];
    }

    /// <inheritdoc />
    public async Task<int> RenewLeasesAsync(string owner, TimeSpan lease, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        await using var connection = await OpenAsync("NORMAL", cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE replication_jobs SET lease_expires_at = $until WHERE state = 'running' AND lease_owner = $owner";
        command.Parameters.AddWithValue("$until", (_time.GetUtcNow() + lease).ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$owner", owner);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<int> ReleaseLeasesAsync(string owner, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        await using var connection = await OpenAsync("NORMAL", cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE replication_jobs SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL, updated_at = $now
            WHERE state = 'running' AND lease_owner = $owner
            """;
        command.Parameters.AddWithValue("$now", Now());
        command.Parameters.AddWithValue("$owner", owner);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<DateTimeOffset?> NextDueAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync("NORMAL", cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT min(due) FROM (
                SELECT min(next_attempt_at) AS due FROM replication_jobs WHERE state = 'pending'
                UNION ALL
                SELECT min(coalesce(lease_expires_at, 0)) FROM replication_jobs WHERE state = 'running')
            """;
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long at ? DateTimeOffset.FromUnixTimeMilliseconds(at) : null;
    }

    /// <inheritdoc />
    public async Task SetRemoteUploadAsync(long id, string? uploadId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync("NORMAL", cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE replication_jobs SET remote_upload_id = $upload, updated_at = $now WHERE id = $id";
        command.Parameters.AddWithValue("$upload", (object?)uploadId ?? DBNull.Value);
        command.Parameters.AddWithValue("$now", Now());
        command.Parameters.AddWithValue("$id", id);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<bool> FinishAsync(long id, string owner, string state, long bytes, string? note, CancellationToken cancellationToken)
    {
        if (state is not (ReplicationJobState.Done or ReplicationJobState.Skipped))
        {
            throw new ArgumentOutOfRangeException(nameof(state), state, "A job finishes as done or skipped; a failure goes through FailAsync.");
        }

        await using var connection = await OpenAsync("NORMAL", cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE replication_jobs SET state = $state, bytes_sent = bytes_sent + $bytes, attempts = attempts + 1, last_error = $note,
                updated_at = $now, completed_at = $now, remote_upload_id = NULL, lease_owner = NULL, lease_expires_at = NULL
            WHERE id = $id AND state = 'running' AND lease_owner = $owner
            """;
        command.Parameters.AddWithValue("$state", state);
        command.Parameters.AddWithValue("$bytes", bytes);
        command.Parameters.AddWithValue("$note", (object?)note ?? DBNull.Value);
        command.Parameters.AddWithValue("$now", Now());
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$owner", owner);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc />
    public async Task<bool> FailAsync(long id, string owner, string error, long bytes, DateTimeOffset nextAttemptAt, bool permanent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(error);
        await using var connection = await OpenAsync("NORMAL", cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE replication_jobs SET state = $state, attempts = attempts + 1, last_error = $error, bytes_sent = bytes_sent + $bytes,
                next_attempt_at = $next, updated_at = $now, lease_owner = NULL, lease_expires_at = NULL
            WHERE id = $id AND state = 'running' AND lease_owner = $owner
            """;
        command.Parameters.AddWithValue("$state", permanent ? ReplicationJobState.FailedPermanent : ReplicationJobState.Pending);
        command.Parameters.AddWithValue("$error", error.Length > 1000 ? error[..1000] : error);
        command.Parameters.AddWithValue("$bytes", bytes);
        command.Parameters.AddWithValue("$next", nextAttemptAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$now", Now());
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$owner", owner);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ReplicationJob>> ListJobsAsync(string? peer, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync("NORMAL", cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {JobColumns} FROM replication_jobs WHERE $peer IS NULL OR peer = $peer ORDER BY id DESC LIMIT $limit";
        command.Parameters.AddWithValue("$peer", (object?)peer ?? DBNull.Value);
        command.Parameters.AddWithValue("$limit", limit);
        return await ReadJobsAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<PeerBacklog>> BacklogAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync("NORMAL", cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT peer,
                   sum(state IN ('pending', 'running')),
                   min(CASE WHEN state IN ('pending', 'running') THEN created_at END),
                   sum(state = 'done'), sum(state = 'skipped'), sum(state = 'failed-permanent'),
                   (SELECT last_error FROM replication_jobs l WHERE l.peer = j.peer AND l.last_error IS NOT NULL
                        AND l.state IN ('pending', 'running', 'failed-permanent') ORDER BY l.updated_at DESC LIMIT 1)
            FROM replication_jobs j GROUP BY peer ORDER BY peer
            """;
        var backlog = new List<PeerBacklog>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            backlog.Add(new PeerBacklog(
                reader.GetString(0),
                reader.GetInt64(1),
                reader.IsDBNull(2) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)),
                reader.GetInt64(3),
                reader.GetInt64(4),
                reader.GetInt64(5),
                reader.IsDBNull(6) ? null : reader.GetString(6)));
        }

        return backlog;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<(long Seq, FileVersion Version)>> UnqueuedReleasedAsync(ReplicationRule rule, long afterSeq, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rule);
        await using var connection = await OpenAsync("NORMAL", cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        var root = rule.Area == RemotePath.Root;
        command.CommandText = $"""
            SELECT {VersionColumns} FROM versions v
            WHERE v.seq > $afterSeq AND v.is_current = 1 AND v.deleted_at IS NULL AND v.release_state = 'released'
              {(root ? string.Empty : "AND (v.path = $area OR (v.path >= $below AND v.path < $after))")}
              AND NOT EXISTS (SELECT 1 FROM replication_jobs j WHERE j.subject = v.version_id AND j.peer = $peer AND j.direction = 'push')
            ORDER BY v.seq LIMIT $limit
            """;
        command.Parameters.AddWithValue("$area", rule.Area.Value);
        command.Parameters.AddWithValue("$below", rule.Area.Value + "/");
        command.Parameters.AddWithValue("$after", rule.Area.Value + "0");
        command.Parameters.AddWithValue("$peer", rule.Peer);
        command.Parameters.AddWithValue("$limit", limit);
        command.Parameters.AddWithValue("$afterSeq", afterSeq);
        var found = new List<(long, FileVersion)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            found.Add((reader.GetInt64(19), ReadReleasedVersion(reader)));
        }

        return found;
    }

    /// <inheritdoc />
    public async Task<bool> HasJobAsync(string subject, string peer, ReplicationDirection direction, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync("NORMAL", cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM replication_jobs WHERE subject = $subject AND peer = $peer AND direction = $direction";
        command.Parameters.AddWithValue("$subject", subject);
        command.Parameters.AddWithValue("$peer", peer);
        command.Parameters.AddWithValue("$direction", ReplicationJob.DirectionName(direction));
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null;
    }

    /// <summary>Closes the store's pooled connections (shared with the metadata store's on the same file).</summary>
    public void Dispose()
    {
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
    }

    // A released current version, as the WHERE of the sweep guarantees; approval expiry is cleared on release.
    private static FileVersion ReadReleasedVersion(SqliteDataReader reader) => new(
        Guid.Parse(reader.GetString(0)),
        reader.GetString(1),
        reader.GetInt64(2),
        reader.GetInt32(3),
        reader.GetString(4),
        reader.IsDBNull(5) ? null : reader.GetString(5),
        reader.GetString(6),
        Time(reader.GetInt64(7)))
    {
        State = ReleaseState.Released,
        IsCurrent = true,
        UploadedBy = reader.IsDBNull(8) ? null : reader.GetString(8),
        ReleasedAt = reader.IsDBNull(9) ? null : Time(reader.GetInt64(9)),
        Decision = reader.IsDBNull(10) ? null : new ReleaseDecision(
            reader.GetString(10),
            reader.IsDBNull(11) ? null : reader.GetString(11),
            reader.IsDBNull(12) ? null : reader.GetString(12),
            Time(reader.GetInt64(13))),
        Origin = reader.IsDBNull(14) ? null : new Provenance(
            reader.GetString(14),
            reader.GetString(15),
            Time(reader.GetInt64(16)),
            reader.GetString(17),
            reader.IsDBNull(18) ? null : reader.GetString(18)),
    };

    private static async Task<IReadOnlyList<ReplicationJob>> ReadJobsAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        var jobs = new List<ReplicationJob>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            jobs.Add(new ReplicationJob(
                reader.GetInt64(0),
                reader.GetString(1),
                reader.GetString(2),
                reader.GetString(3) switch { "pull" => ReplicationDirection.Pull, "delete" => ReplicationDirection.Delete, _ => ReplicationDirection.Push },
                reader.GetString(4),
                reader.IsDBNull(5) ? null : Guid.Parse(reader.GetString(5)),
                reader.GetString(6),
                reader.GetString(7),
                reader.IsDBNull(8) ? null : reader.GetString(8),
                reader.GetInt64(9),
                reader.GetString(10),
                (int)reader.GetInt64(11),
                Time(reader.GetInt64(12)),
                reader.IsDBNull(13) ? null : reader.GetString(13),
                reader.IsDBNull(14) ? null : reader.GetString(14),
                reader.GetInt64(15),
                reader.GetString(16),
                reader.IsDBNull(17) ? null : reader.GetString(17),
                reader.IsDBNull(18) ? null : reader.GetString(18),
                reader.IsDBNull(19) ? null : Time(reader.GetInt64(19)),
                Time(reader.GetInt64(20)))
            {
                LeaseOwner = reader.IsDBNull(21) ? null : reader.GetString(21),
                LeaseExpiresAt = reader.IsDBNull(22) ? null : Time(reader.GetInt64(22)),
            });
        }

        return jobs;
    }

    private static DateTimeOffset Time(long milliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private Task<SqliteConnection> OpenAsync(string synchronous, CancellationToken cancellationToken) =>
        SqliteSchema.OpenAsync(_connectionString, synchronous, cancellationToken);
}
