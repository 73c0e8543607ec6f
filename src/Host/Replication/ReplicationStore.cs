using Microsoft.Data.Sqlite;
using TurboMft.Engine.Storage;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Metadata;

namespace TurboMft.Host.Replication;

/// <summary>
/// Replication rules and the durable outbox in <c>metadata.db</c> (schema: <see cref="SqliteMetadataStore"/> migration 3).
/// Jobs wait on disk, not in memory: the worker reads due jobs in small batches whatever the backlog.
/// </summary>
/// <remarks>
/// Rule changes are written with <c>synchronous=FULL</c>; job bookkeeping with NORMAL, because a job update lost to a
/// power cut only repeats work that is safe to repeat: a job run again finds the peer holding the digest and is skipped,
/// and a lost enqueue is found again by the sweep.
/// </remarks>
public sealed class ReplicationStore
{
    private const string JobColumns =
        "id, rule, peer, direction, subject, version_id, source_path, target_path, digest, size, state, attempts, next_attempt_at, last_error, "
        + "remote_upload_id, bytes_sent, correlation_id, origin_site, origin_path, origin_time, created_at";

    private const string RuleColumns =
        "name, area, peer, mode, target, propagate_deletes, interval_seconds, bandwidth_bps, include_globs, exclude_globs, enabled, created_at";

    private readonly string _connectionString;
    private readonly TimeProvider _time;

    /// <summary>Uses the metadata database at <paramref name="databasePath"/> (already migrated by <see cref="SqliteMetadataStore.OpenAsync"/>).</summary>
    public ReplicationStore(string databasePath, TimeProvider time)
    {
        _time = time;
        _connectionString = SqliteSchema.ConnectionString(databasePath);
    }

    /// <summary>Adds a rule; false when the name is taken.</summary>
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

    /// <summary>Every rule, by name.</summary>
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

    /// <summary>Removes a rule and its jobs still open or failed for good (done and skipped ones stay as history); false when there is none.</summary>
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

    /// <summary>Adds a pending job unless one exists for the same subject, peer and direction; true when it was added.</summary>
    public async Task<bool> EnqueueAsync(ReplicationJob job, CancellationToken cancellationToken) =>
        await EnqueueAsync([job], cancellationToken).ConfigureAwait(false) == 1;

    /// <summary>Adds pending jobs in one transaction, each unless one exists for its subject, peer and direction; returns how many were added.</summary>
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
            command.Parameters.AddWithValue("$now", _time.GetUtcNow().ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$correlation", job.CorrelationId);
            command.Parameters.AddWithValue("$originSite", (object?)job.OriginSite ?? DBNull.Value);
            command.Parameters.AddWithValue("$originPath", (object?)job.OriginPath ?? DBNull.Value);
            command.Parameters.AddWithValue("$originTime", job.OriginTime is { } t ? t.ToUnixTimeMilliseconds() : DBNull.Value);
            added += await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return added;
    }

    /// <summary>Puts jobs left running by a stop back to pending (their remote session ids stay, so they resume).</summary>
    public async Task<int> RequeueRunningAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync("NORMAL", cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE replication_jobs SET state = 'pending' WHERE state = 'running'";
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The peers that have due jobs now (each checked through the per-peer index, so a long backlog costs nothing here).</summary>
    public async Task<IReadOnlyList<string>> DuePeersAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync("NORMAL", cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT p.peer FROM (SELECT DISTINCT peer FROM replication_rules) p
            WHERE EXISTS (SELECT 1 FROM replication_jobs j WHERE j.peer = p.peer AND j.state = 'pending' AND j.next_attempt_at <= $now)
            """;
        command.Parameters.AddWithValue("$now", _time.GetUtcNow().ToUnixTimeMilliseconds());
        var peers = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            peers.Add(reader.GetString(0));
        }

        return peers;
    }

    /// <summary>Claims up to <paramref name="limit"/> due jobs of <paramref name="peer"/> (oldest due first) and marks them running.</summary>
    public async Task<IReadOnlyList<ReplicationJob>> ClaimDueAsync(string peer, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync("NORMAL", cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            UPDATE replication_jobs SET state = 'running', updated_at = $now
            WHERE id IN (
                SELECT id FROM replication_jobs
                WHERE state = 'pending' AND next_attempt_at <= $now AND peer = $peer
                ORDER BY next_attempt_at, id LIMIT $limit)
            RETURNING {JobColumns}
            """;
        command.Parameters.AddWithValue("$now", _time.GetUtcNow().ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$limit", limit);
        command.Parameters.AddWithValue("$peer", peer);
        var jobs = await ReadJobsAsync(command, cancellationToken).ConfigureAwait(false);
        return [.. jobs.OrderBy(j => j.NextAttemptAt).ThenBy(j => j.Id)];
    }

    /// <summary>When the next pending job falls due, or null when none is pending.</summary>
    public async Task<DateTimeOffset?> NextDueAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync("NORMAL", cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT min(next_attempt_at) FROM replication_jobs WHERE state = 'pending'";
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long at ? DateTimeOffset.FromUnixTimeMilliseconds(at) : null;
    }

    /// <summary>Records the destination's upload session id of a job, so its next attempt resumes that session.</summary>
    public async Task SetRemoteUploadAsync(long id, string? uploadId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync("NORMAL", cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE replication_jobs SET remote_upload_id = $upload, updated_at = $now WHERE id = $id";
        command.Parameters.AddWithValue("$upload", (object?)uploadId ?? DBNull.Value);
        command.Parameters.AddWithValue("$now", _time.GetUtcNow().ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$id", id);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Closes a job as done or skipped, adding the bytes moved by its last attempt.</summary>
    public async Task FinishAsync(long id, string state, long bytes, string? note, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync("NORMAL", cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE replication_jobs SET state = $state, bytes_sent = bytes_sent + $bytes, attempts = attempts + 1, last_error = $note,
                updated_at = $now, completed_at = $now, remote_upload_id = NULL
            WHERE id = $id
            """;
        command.Parameters.AddWithValue("$state", state);
        command.Parameters.AddWithValue("$bytes", bytes);
        command.Parameters.AddWithValue("$note", (object?)note ?? DBNull.Value);
        command.Parameters.AddWithValue("$now", _time.GetUtcNow().ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$id", id);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Records a failed attempt: back to pending at <paramref name="nextAttemptAt"/>, or failed for good.</summary>
    public async Task FailAsync(long id, string error, long bytes, DateTimeOffset nextAttemptAt, bool permanent, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync("NORMAL", cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE replication_jobs SET state = $state, attempts = attempts + 1, last_error = $error, bytes_sent = bytes_sent + $bytes,
                next_attempt_at = $next, updated_at = $now
            WHERE id = $id
            """;
        command.Parameters.AddWithValue("$state", permanent ? ReplicationJobState.FailedPermanent : ReplicationJobState.Pending);
        command.Parameters.AddWithValue("$error", error.Length > 1000 ? error[..1000] : error);
        command.Parameters.AddWithValue("$bytes", bytes);
        command.Parameters.AddWithValue("$next", nextAttemptAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$now", _time.GetUtcNow().ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$id", id);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The jobs of a peer (newest first), at most <paramref name="limit"/>; for tests and diagnosis.</summary>
    public async Task<IReadOnlyList<ReplicationJob>> ListJobsAsync(string? peer, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync("NORMAL", cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {JobColumns} FROM replication_jobs WHERE $peer IS NULL OR peer = $peer ORDER BY id DESC LIMIT $limit";
        command.Parameters.AddWithValue("$peer", (object?)peer ?? DBNull.Value);
        command.Parameters.AddWithValue("$limit", limit);
        return await ReadJobsAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Per peer: backlog, oldest pending, counts and the last error.</summary>
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

    /// <summary>
    /// Released current versions under <paramref name="rule"/>'s area, after sequence <paramref name="afterSeq"/>, that have no
    /// push job for its peer yet, oldest first, at most <paramref name="limit"/>: what a crash between release and enqueue, or
    /// a new rule, left to send. Returns each with its sequence number, for the next page.
    /// </summary>
    public async Task<IReadOnlyList<(long Seq, FileVersion Version)>> UnqueuedReleasedAsync(ReplicationRule rule, long afterSeq, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rule);
        await using var connection = await OpenAsync("NORMAL", cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        var root = rule.Area == RemotePath.Root;
        command.CommandText = $"""
            SELECT {SqliteMetadataStore.VersionColumns}, seq FROM versions v
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
            found.Add((reader.GetInt64(reader.FieldCount - 1), SqliteMetadataStore.ReadVersion(reader)));
        }

        return found;
    }

    /// <summary>Whether a pull job for this subject and peer exists (in any state).</summary>
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
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(12)),
                reader.IsDBNull(13) ? null : reader.GetString(13),
                reader.IsDBNull(14) ? null : reader.GetString(14),
                reader.GetInt64(15),
                reader.GetString(16),
                reader.IsDBNull(17) ? null : reader.GetString(17),
                reader.IsDBNull(18) ? null : reader.GetString(18),
                reader.IsDBNull(19) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(19)),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(20))));
        }

        return jobs;
    }

    private Task<SqliteConnection> OpenAsync(string synchronous, CancellationToken cancellationToken) =>
        SqliteSchema.OpenAsync(_connectionString, synchronous, cancellationToken);
}
