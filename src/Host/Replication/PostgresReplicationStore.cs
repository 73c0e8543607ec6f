using System.Data;
using Npgsql;
using TurboMft.Engine.Storage;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Metadata;
using static TurboMft.Host.Infrastructure.PostgresParameter;

namespace TurboMft.Host.Replication;

/// <summary>
/// The replication store in the PostgreSQL database that several nodes share: rules and the outbox beside the metadata
/// store's tables (its sweep reads their <c>versions</c>, so <see cref="PostgresMetadataStore"/> is opened on the same
/// database), with their own schema version in <c>replication_schema_version</c>. Nothing is cached.
/// </summary>
/// <remarks>
/// <para>
/// A claim is one statement: the due jobs are selected <c>FOR UPDATE SKIP LOCKED</c> and leased in the same
/// <c>UPDATE … RETURNING</c>. A job another node is claiming at that moment is skipped, and one it claimed since this
/// statement's snapshot is re-checked by PostgreSQL and found running under a live lease, so of two nodes claiming at
/// once each job goes to exactly one. Renewing, releasing, finishing and failing are one <c>UPDATE</c> each, conditional on
/// the lease owner (the compare of a compare-and-set), so a node whose lease was taken over changes nothing. Enqueues are
/// one <c>INSERT … ON CONFLICT DO NOTHING</c> of every job (unnest of arrays), unique per (subject, peer, direction).
/// </para>
/// <para>
/// Times are <c>bigint</c> Unix milliseconds from the <see cref="TimeProvider"/>, the same clock that compares leases: the
/// nodes' clocks must agree to well within a lease. A database that is away reaches callers as
/// <see cref="StoreUnavailableException"/>. The store does not own the database.
/// </para>
/// </remarks>
public sealed class PostgresReplicationStore : IReplicationStore
{
    /// <summary>The table holding the schema version of the replication tables.</summary>
    public const string VersionTable = "replication_schema_version";

    /// <summary>The schema version of the replication tables this build creates and reads.</summary>
    public const int SchemaVersion = 1;

    private const string JobColumns =
        "id, rule, peer, direction, subject, version_id, source_path, target_path, digest, size, state, attempts, next_attempt_at, last_error, "
        + "remote_upload_id, bytes_sent, correlation_id, origin_site, origin_path, origin_time, created_at, lease_owner, lease_expires_at";

    private const string RuleColumns =
        "name, area, peer, mode, target, propagate_deletes, interval_seconds, bandwidth_bps, include_globs, exclude_globs, enabled, created_at";

    // Index i migrates from version i to i + 1; append, never edit a shipped entry.
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE replication_rules (
            name              text    COLLATE "C" NOT NULL PRIMARY KEY,
            area              text    COLLATE "C" NOT NULL,
            peer              text    COLLATE "C" NOT NULL,
            mode              text    NOT NULL CHECK (mode IN ('push', 'pull')),
            target            text    COLLATE "C" NOT NULL,
            propagate_deletes boolean NOT NULL,
            interval_seconds  bigint  NOT NULL CHECK (interval_seconds >= 0),
            bandwidth_bps     bigint  NOT NULL CHECK (bandwidth_bps >= 0),
            include_globs     text,
            exclude_globs     text,
            enabled           boolean NOT NULL,
            created_at        bigint  NOT NULL
        );

        CREATE TABLE replication_jobs (
            id               bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            rule             text    COLLATE "C" NOT NULL,
            peer             text    COLLATE "C" NOT NULL,
            direction        text    NOT NULL CHECK (direction IN ('push', 'pull', 'delete')),
            subject          text    COLLATE "C" NOT NULL,
            version_id       uuid,
            source_path      text    COLLATE "C" NOT NULL,
            target_path      text    COLLATE "C" NOT NULL,
            digest           text,
            size             bigint  NOT NULL DEFAULT 0,
            state            text    NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed-permanent', 'skipped')),
            attempts         integer NOT NULL DEFAULT 0,
            next_attempt_at  bigint  NOT NULL,
            last_error       text,
            remote_upload_id text,
            bytes_sent       bigint  NOT NULL DEFAULT 0,
            correlation_id   text    NOT NULL,
            origin_site      text,
            origin_path      text    COLLATE "C",
            origin_time      bigint,
            created_at       bigint  NOT NULL,
            updated_at       bigint  NOT NULL,
            completed_at     bigint,
            lease_owner      text,
            lease_expires_at bigint,
            CONSTRAINT replication_jobs_unique UNIQUE (subject, peer, direction)
        );
        CREATE INDEX replication_jobs_due ON replication_jobs (peer, next_attempt_at, id) WHERE state = 'pending';
        CREATE INDEX replication_jobs_leases ON replication_jobs (peer, lease_expires_at) WHERE state = 'running';
        CREATE INDEX replication_jobs_by_owner ON replication_jobs (lease_owner) WHERE state = 'running';
        CREATE INDEX replication_jobs_by_peer ON replication_jobs (peer, state, next_attempt_at, id);
        """,
    ];

    private readonly PostgresDatabase _database;
    private readonly TimeProvider _time;

    private PostgresReplicationStore(PostgresDatabase database, TimeProvider time)
    {
        _database = database;
        _time = time;
    }

    /// <summary>
    /// Opens the replication tables on <paramref name="database"/>, creating or migrating them (one node at a time). The
    /// sweep (<see cref="UnqueuedReleasedAsync"/>) reads the metadata store's tables, which <see cref="PostgresMetadataStore.OpenAsync"/> creates.
    /// </summary>
    /// <exception cref="MetadataException">With <see cref="MetadataError.SchemaTooNew"/> when a newer build wrote the tables; nothing is changed.</exception>
    /// <exception cref="StoreUnavailableException">The database cannot be reached.</exception>
    public static async Task<PostgresReplicationStore> OpenAsync(PostgresDatabase database, TimeProvider time, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(time);
        await database.MigrateAsync(
            VersionTable,
            Migrations,
            current => new MetadataException(
                MetadataError.SchemaTooNew,
                $"The replication tables in PostgreSQL ({database.Description}) have schema version {current}, newer than this build's {SchemaVersion}; run a newer TurboMft."),
            cancellationToken).ConfigureAwait(false);
        return new PostgresReplicationStore(database, time);
    }

    /// <inheritdoc />
    public async Task<bool> AddRuleAsync(ReplicationRule rule, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rule);
        return await _database.ExecuteStatementAsync(
            $"""
            INSERT INTO replication_rules ({RuleColumns})
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
            ON CONFLICT (name) DO NOTHING
            """,
            cancellationToken,
            Of(rule.Name), Of(rule.Area.Value), Of(rule.Peer), Of(rule.ModeName), Of(rule.Target.Value), Of(rule.PropagateDeletes),
            Of((long)(rule.Interval?.TotalSeconds ?? 0)), Of(rule.BandwidthBytesPerSecond),
            Text(rule.Include.Count == 0 ? null : string.Join('\n', rule.Include)), Text(rule.Exclude.Count == 0 ? null : string.Join('\n', rule.Exclude)),
            Of(rule.Enabled), Of(rule.CreatedAt.ToUnixTimeMilliseconds())).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<ReplicationRule>> ListRulesAsync(CancellationToken cancellationToken) =>
        _database.ListAsync(
            $"SELECT {RuleColumns} FROM replication_rules ORDER BY name",
            reader =>
            {
                var interval = reader.GetInt64(6);
                return new ReplicationRule(
                    reader.GetString(0),
                    RemotePath.Parse(reader.GetString(1), allowRoot: true),
                    reader.GetString(2),
                    reader.GetString(3) == "pull" ? ReplicationMode.Pull : ReplicationMode.Push,
                    RemotePath.Parse(reader.GetString(4), allowRoot: true),
                    reader.GetBoolean(5),
                    interval == 0 ? null : TimeSpan.FromSeconds(interval),
                    reader.GetInt64(7),
                    reader.IsDBNull(8) ? [] : reader.GetString(8).Split('\n'),
                    reader.IsDBNull(9) ? [] : reader.GetString(9).Split('\n'),
                    reader.GetBoolean(10),
                    PostgresVersionRow.Time(reader.GetInt64(11)));
            },
            cancellationToken);

    /// <inheritdoc />
    public Task<bool> RemoveRuleAsync(string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _database.InTransactionAsync(
            IsolationLevel.ReadCommitted,
            async (connection, transaction, token) =>
            {
                await using var batch = new NpgsqlBatch(connection, transaction);
                batch.BatchCommands.Add(Command("DELETE FROM replication_rules WHERE name = $1", Of(name)));
                batch.BatchCommands.Add(Command("DELETE FROM replication_jobs WHERE rule = $1 AND state IN ('pending', 'running', 'failed-permanent')", Of(name)));
                await batch.ExecuteNonQueryAsync(token).ConfigureAwait(false);
                return batch.BatchCommands[0].RecordsAffected == 1;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public async Task<bool> EnqueueAsync(ReplicationJob job, CancellationToken cancellationToken) =>
        await EnqueueAsync([job], cancellationToken).ConfigureAwait(false) == 1;

    /// <inheritdoc />
    public async Task<int> EnqueueAsync(IReadOnlyList<ReplicationJob> jobs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        if (jobs.Count == 0)
        {
            return 0;
        }

        // One statement for all: the jobs get their ids in the given order, and a duplicate (here, or one another node
        // enqueues at the same moment) is left out by the unique constraint.
        return await _database.ExecuteStatementAsync(
            """
            INSERT INTO replication_jobs (rule, peer, direction, subject, version_id, source_path, target_path, digest, size, state, attempts,
                                          next_attempt_at, correlation_id, origin_site, origin_path, origin_time, created_at, updated_at)
            SELECT rule, peer, direction, subject, version_id, source_path, target_path, digest, size, 'pending', 0,
                   $15, correlation_id, origin_site, origin_path, origin_time, $15, $15
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::uuid[], $6::text[], $7::text[], $8::text[], $9::bigint[],
                        $10::text[], $11::text[], $12::text[], $13::bigint[], $14::integer[])
                 AS j (rule, peer, direction, subject, version_id, source_path, target_path, digest, size, correlation_id,
                       origin_site, origin_path, origin_time, n)
            ORDER BY n
            ON CONFLICT ON CONSTRAINT replication_jobs_unique DO NOTHING
            """,
            cancellationToken,
            Of(jobs.Select(j => j.Rule).ToArray()),
            Of(jobs.Select(j => j.Peer).ToArray()),
            Of(jobs.Select(j => ReplicationJob.DirectionName(j.Direction)).ToArray()),
            Of(jobs.Select(j => j.Subject).ToArray()),
            Of(jobs.Select(j => j.VersionId).ToArray()),
            Of(jobs.Select(j => j.SourcePath).ToArray()),
            Of(jobs.Select(j => j.TargetPath).ToArray()),
            Of(jobs.Select(j => j.Digest).ToArray()),
            Of(jobs.Select(j => j.Size).ToArray()),
            Of(jobs.Select(j => j.CorrelationId).ToArray()),
            Of(jobs.Select(j => j.OriginSite).ToArray()),
            Of(jobs.Select(j => j.OriginPath).ToArray()),
            Of(jobs.Select(j => j.OriginTime?.ToUnixTimeMilliseconds()).ToArray()),
            Of(Enumerable.Range(0, jobs.Count).ToArray()),
            Of(Now())).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> DuePeersAsync(CancellationToken cancellationToken) =>
        _database.ListAsync(
            """
            SELECT p.peer FROM (SELECT DISTINCT peer FROM replication_rules) AS p
            WHERE EXISTS (SELECT 1 FROM replication_jobs j WHERE j.peer = p.peer AND j.state = 'pending' AND j.next_attempt_at <= $1)
               OR EXISTS (SELECT 1 FROM replication_jobs j WHERE j.peer = p.peer AND j.state = 'running' AND coalesce(j.lease_expires_at, 0) <= $1)
            ORDER BY p.peer
            """,
            reader => reader.GetString(0),
            cancellationToken,
            Of(Now()));

    /// <inheritdoc />
    public async Task<IReadOnlyList<ReplicationJob>> ClaimDueAsync(string peer, string owner, int limit, TimeSpan lease, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(peer);
        ArgumentException.ThrowIfNullOrEmpty(owner);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lease, TimeSpan.Zero);
        var now = _time.GetUtcNow();

        // One statement: rows another claimer holds are skipped, rows it leased since this snapshot are re-checked and
        // found leased; the due check and the lease are one write.
        var jobs = await _database.ListAsync(
            $"""
            WITH due AS (
                SELECT id FROM replication_jobs
                WHERE peer = $1 AND ((state = 'pending' AND next_attempt_at <= $2) OR (state = 'running' AND coalesce(lease_expires_at, 0) <= $2))
                ORDER BY next_attempt_at, id
                LIMIT $3
                FOR UPDATE SKIP LOCKED)
            UPDATE replication_jobs AS j SET state = 'running', lease_owner = $4, lease_expires_at = $5, updated_at = $2
            FROM due WHERE j.id = due.id
            RETURNING {string.Join(", ", JobColumns.Split(", ").Select(c => "j." + c))}
            """,
            ReadJob,
            cancellationToken,
            Of(peer), Of(now.ToUnixTimeMilliseconds()), Of((long)limit), Of(owner), Of((now + lease).ToUnixTimeMilliseconds())).ConfigureAwait(false);
        return [.. jobs.OrderBy(j => j.NextAttemptAt).ThenBy(j => j.Id)];
    }

    /// <inheritdoc />
    public Task<int> RenewLeasesAsync(string owner, TimeSpan lease, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        return _database.ExecuteStatementAsync(
            "UPDATE replication_jobs SET lease_expires_at = $2 WHERE state = 'running' AND lease_owner = $1",
            cancellationToken,
            Of(owner), Of((_time.GetUtcNow() + lease).ToUnixTimeMilliseconds()));
    }

    /// <inheritdoc />
    public Task<int> ReleaseLeasesAsync(string owner, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        return _database.ExecuteStatementAsync(
            """
            UPDATE replication_jobs SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL, updated_at = $2
            WHERE state = 'running' AND lease_owner = $1
            """,
            cancellationToken,
            Of(owner), Of(Now()));
    }

    /// <inheritdoc />
    public Task<DateTimeOffset?> NextDueAsync(CancellationToken cancellationToken) =>
        _database.QueryAsync(
            """
            SELECT min(due) FROM (
                SELECT min(next_attempt_at) AS due FROM replication_jobs WHERE state = 'pending'
                UNION ALL
                SELECT min(coalesce(lease_expires_at, 0)) FROM replication_jobs WHERE state = 'running') AS next
            """,
            async (reader, token) => await reader.ReadAsync(token).ConfigureAwait(false) && !reader.IsDBNull(0)
                ? PostgresVersionRow.Time(reader.GetInt64(0))
                : (DateTimeOffset?)null,
            cancellationToken);

    /// <inheritdoc />
    public Task SetRemoteUploadAsync(long id, string? uploadId, CancellationToken cancellationToken) =>
        _database.ExecuteStatementAsync(
            "UPDATE replication_jobs SET remote_upload_id = $2, updated_at = $3 WHERE id = $1",
            cancellationToken,
            Of(id), Text(uploadId), Of(Now()));

    /// <inheritdoc />
    public async Task<bool> FinishAsync(long id, string owner, string state, long bytes, string? note, CancellationToken cancellationToken)
    {
        if (state is not (ReplicationJobState.Done or ReplicationJobState.Skipped))
        {
            throw new ArgumentOutOfRangeException(nameof(state), state, "A job finishes as done or skipped; a failure goes through FailAsync.");
        }

        ArgumentNullException.ThrowIfNull(owner);
        return await _database.ExecuteStatementAsync(
            """
            UPDATE replication_jobs SET state = $3, bytes_sent = bytes_sent + $4, attempts = attempts + 1, last_error = $5,
                updated_at = $6, completed_at = $6, remote_upload_id = NULL, lease_owner = NULL, lease_expires_at = NULL
            WHERE id = $1 AND state = 'running' AND lease_owner = $2
            """,
            cancellationToken,
            Of(id), Of(owner), Of(state), Of(bytes), Text(note), Of(Now())).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc />
    public async Task<bool> FailAsync(long id, string owner, string error, long bytes, DateTimeOffset nextAttemptAt, bool permanent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(owner);
        return await _database.ExecuteStatementAsync(
            """
            UPDATE replication_jobs SET state = $3, attempts = attempts + 1, last_error = $4, bytes_sent = bytes_sent + $5,
                next_attempt_at = $6, updated_at = $7, lease_owner = NULL, lease_expires_at = NULL
            WHERE id = $1 AND state = 'running' AND lease_owner = $2
            """,
            cancellationToken,
            Of(id), Of(owner), Of(permanent ? ReplicationJobState.FailedPermanent : ReplicationJobState.Pending), Of(error.Length > 1000 ? error[..1000] : error),
            Of(bytes), Of(nextAttemptAt.ToUnixTimeMilliseconds()), Of(Now())).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<ReplicationJob>> ListJobsAsync(string? peer, int limit, CancellationToken cancellationToken) =>
        _database.ListAsync(
            $"SELECT {JobColumns} FROM replication_jobs WHERE $1::text IS NULL OR peer = $1 ORDER BY id DESC LIMIT $2",
            ReadJob,
            cancellationToken,
            Text(peer), Of((long)limit));

    /// <inheritdoc />
    public Task<IReadOnlyList<PeerBacklog>> BacklogAsync(CancellationToken cancellationToken) =>
        _database.ListAsync(
            """
            SELECT peer,
                   count(*) FILTER (WHERE state IN ('pending', 'running')),
                   min(created_at) FILTER (WHERE state IN ('pending', 'running')),
                   count(*) FILTER (WHERE state = 'done'),
                   count(*) FILTER (WHERE state = 'skipped'),
                   count(*) FILTER (WHERE state = 'failed-permanent'),
                   (SELECT l.last_error FROM replication_jobs AS l WHERE l.peer = j.peer AND l.last_error IS NOT NULL
                        AND l.state IN ('pending', 'running', 'failed-permanent') ORDER BY l.updated_at DESC, l.id DESC LIMIT 1)
            FROM replication_jobs AS j GROUP BY peer ORDER BY peer
            """,
            reader => new PeerBacklog(
                reader.GetString(0),
                reader.GetInt64(1),
                reader.IsDBNull(2) ? null : PostgresVersionRow.Time(reader.GetInt64(2)),
                reader.GetInt64(3),
                reader.GetInt64(4),
                reader.GetInt64(5),
                reader.IsDBNull(6) ? null : reader.GetString(6)),
            cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<(long Seq, FileVersion Version)>> UnqueuedReleasedAsync(ReplicationRule rule, long afterSeq, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rule);

        // The area as a range of the "C" collation, as the metadata store lists a prefix.
        return _database.ListAsync(
            $"""
            SELECT {PostgresVersionRow.ColumnsOf("v")}, v.seq FROM versions AS v
            WHERE v.seq > $1 AND v.is_current AND v.deleted_at IS NULL AND v.release_state = 'released'
              AND ($2 OR v.path = $3 OR (v.path >= $4 AND v.path < $5))
              AND NOT EXISTS (SELECT 1 FROM replication_jobs AS j WHERE j.subject = v.version_id::text AND j.peer = $6 AND j.direction = 'push')
            ORDER BY v.seq LIMIT $7
            """,
            reader => (reader.GetInt64(PostgresVersionRow.Count), PostgresVersionRow.Read(reader)),
            cancellationToken,
            Of(afterSeq), Of(rule.Area == RemotePath.Root), Of(rule.Area.Value), Of(rule.Area.Value + "/"), Of(rule.Area.Value + "0"), Of(rule.Peer), Of((long)limit));
    }

    /// <inheritdoc />
    public Task<bool> HasJobAsync(string subject, string peer, ReplicationDirection direction, CancellationToken cancellationToken) =>
        _database.QueryAsync(
            "SELECT EXISTS (SELECT 1 FROM replication_jobs WHERE subject = $1 AND peer = $2 AND direction = $3)",
            async (reader, token) => await reader.ReadAsync(token).ConfigureAwait(false) && reader.GetBoolean(0),
            cancellationToken,
            Of(subject), Of(peer), Of(ReplicationJob.DirectionName(direction)));

    private static ReplicationJob ReadJob(NpgsqlDataReader reader) => new(
        reader.GetInt64(0),
        reader.GetString(1),
        reader.GetString(2),
        reader.GetString(3) switch { "pull" => ReplicationDirection.Pull, "delete" => ReplicationDirection.Delete, _ => ReplicationDirection.Push },
        reader.GetString(4),
        reader.IsDBNull(5) ? null : reader.GetGuid(5),
        reader.GetString(6),
        reader.GetString(7),
        reader.IsDBNull(8) ? null : reader.GetString(8),
        reader.GetInt64(9),
        reader.GetString(10),
        reader.GetInt32(11),
        PostgresVersionRow.Time(reader.GetInt64(12)),
        reader.IsDBNull(13) ? null : reader.GetString(13),
        reader.IsDBNull(14) ? null : reader.GetString(14),
        reader.GetInt64(15),
        reader.GetString(16),
        reader.IsDBNull(17) ? null : reader.GetString(17),
        reader.IsDBNull(18) ? null : reader.GetString(18),
        reader.IsDBNull(19) ? null : PostgresVersionRow.Time(reader.GetInt64(19)),
        PostgresVersionRow.Time(reader.GetInt64(20)))
    {
        LeaseOwner = reader.IsDBNull(21) ? null : reader.GetString(21),
        LeaseExpiresAt = reader.IsDBNull(22) ? null : PostgresVersionRow.Time(reader.GetInt64(22)),
    };

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();
}
