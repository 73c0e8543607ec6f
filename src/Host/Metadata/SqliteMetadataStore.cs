using Microsoft.Data.Sqlite;
using TurboMft.Engine.Protocol;
using TurboMft.Host.Infrastructure;
using static TurboMft.Host.Metadata.MetadataArguments;

namespace TurboMft.Host.Metadata;

/// <summary>
/// The embedded metadata store: one SQLite database file, <c>DIR/metadata.db</c>, in WAL mode with foreign keys on.
/// Safe for concurrent use; every call takes a pooled connection of its own.
/// </summary>
/// <remarks>
/// <para>
/// Durability: connections run with <c>synchronous=NORMAL</c>, under which a power loss may roll back the last few
/// transactions (never corrupt the file). That is acceptable for upload bookkeeping and chunk receipts: a lost receipt
/// only makes the client send that chunk again. Commits and deletes run with <c>synchronous=FULL</c>, which syncs the WAL
/// before returning, because the caller acts on them outside the database (acknowledges the file, deletes the old
/// object) and the design promises that a committed file survives power loss.
/// </para>
/// <para>
/// Storage: ids are text GUIDs ("D" format); times are INTEGER Unix milliseconds, UTC (sub-millisecond parts are
/// dropped); CRC-64s are INTEGER holding the unsigned value's bits (unchecked cast). The schema version is in
/// <c>schema_version</c> and is migrated on open. Microsoft.Data.Sqlite's async methods complete synchronously.
/// </para>
/// </remarks>
public sealed class SqliteMetadataStore : IMetadataStore
{
    /// <summary>The database file's name in the data directory.</summary>
    public const string FileName = "metadata.db";

    /// <summary>The schema version this build creates and reads.</summary>
    public const int SchemaVersion = 3;

    private const int SqliteConstraintPrimaryKey = 1555;
    private const string UploadColumns =
        "id, path, size, chunk_size, verify_mode, expected_digest, staging_path, created_at, expires_at, state, opened_by, " + OriginColumns;
    private const string ChunkColumns =
        "upload_id, chunk_index, byte_offset, stored_length, plain_length, encoding, crc64, sha256, received_at";
    private const string VersionColumns =
        "version_id, path, size, chunk_size, digest, sha256, object_key, committed_at, release_state, uploaded_by, released_at, "
        + "approval_expires_at, decision, decided_by, decision_reason, decided_at, is_current, " + OriginColumns;

    private const string OriginColumns = "origin_site, origin_path, origin_time, origin_digest, correlation_id";

    private const string VerdictColumns = "seq, scanner, scanner_version, outcome, finding, detail, scanned_at";

    // Index i migrates from version i to i + 1; append, never edit a shipped entry.
    private static readonly string[] Migrations =
    [
        """
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
        """,

        // 2: release states (docs/content-security.md). Versions committed before are released; the column's default
        // is the fail-closed state, so an insert that forgot it would hold the file rather than release it.
        """
        ALTER TABLE versions ADD COLUMN release_state TEXT NOT NULL DEFAULT 'pending-scan'
            CHECK (release_state IN ('pending-scan', 'released', 'quarantined', 'pending-approval', 'rejected'));
        ALTER TABLE versions ADD COLUMN uploaded_by TEXT;
        ALTER TABLE versions ADD COLUMN released_at INTEGER;
        ALTER TABLE versions ADD COLUMN approval_expires_at INTEGER;
        ALTER TABLE versions ADD COLUMN decision TEXT;
        ALTER TABLE versions ADD COLUMN decided_by TEXT;
        ALTER TABLE versions ADD COLUMN decision_reason TEXT;
        ALTER TABLE versions ADD COLUMN decided_at INTEGER;
        UPDATE versions SET release_state = 'released', released_at = committed_at;
        CREATE INDEX versions_by_release_state ON versions (release_state, seq) WHERE deleted_at IS NULL;

        ALTER TABLE uploads ADD COLUMN opened_by TEXT;

        CREATE TABLE scan_verdicts (
            version_id      TEXT    NOT NULL REFERENCES versions (version_id) ON DELETE CASCADE,
            seq             INTEGER NOT NULL CHECK (seq >= 0),
            scanner         TEXT    NOT NULL,
            scanner_version TEXT    NOT NULL,
            outcome         TEXT    NOT NULL CHECK (outcome IN ('clean', 'infected', 'error')),
            finding         TEXT,
            detail          TEXT,
            scanned_at      INTEGER NOT NULL,
            PRIMARY KEY (version_id, seq)
        ) STRICT, WITHOUT ROWID;
        """,

        // 3: replication (docs/replication.md): provenance on sessions and versions. The rules and the outbox that shipped
        // in this entry are the replication store's now (SqliteReplicationStore creates them when missing, and keeps those
        // of databases that got them here), so the entry changed without changing what a migrated database holds.
        """
        ALTER TABLE uploads ADD COLUMN origin_site TEXT;
        ALTER TABLE uploads ADD COLUMN origin_path TEXT;
        ALTER TABLE uploads ADD COLUMN origin_time INTEGER;
        ALTER TABLE uploads ADD COLUMN origin_digest TEXT;
        ALTER TABLE uploads ADD COLUMN correlation_id TEXT;
        ALTER TABLE versions ADD COLUMN origin_site TEXT;
        ALTER TABLE versions ADD COLUMN origin_path TEXT;
        ALTER TABLE versions ADD COLUMN origin_time INTEGER;
        ALTER TABLE versions ADD COLUMN origin_digest TEXT;
        ALTER TABLE versions ADD COLUMN correlation_id TEXT;
        """,
    ];

    private readonly string _connectionString;
    private volatile bool _disposed;

    private SqliteMetadataStore(string databasePath)
    {
        DatabasePath = databasePath;
        _connectionString = SqliteSchema.ConnectionString(databasePath);
    }

    /// <summary>The database file (absolute).</summary>
    public string DatabasePath { get; }

    /// <summary>
    /// Opens the store in <paramref name="directory"/>, creating the directory (0700 on Unix), the database file (0600)
    /// and the schema when missing, and migrating an older schema.
    /// </summary>
    /// <exception cref="MetadataException">With <see cref="MetadataError.SchemaTooNew"/> when a newer build wrote the database.</exception>
    public static async Task<SqliteMetadataStore> OpenAsync(string directory, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var root = Path.GetFullPath(directory);
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(root);
        }
        else
        {
            Directory.CreateDirectory(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var databasePath = Path.Combine(root, FileName);
        SqliteSchema.CreatePrivateFile(databasePath);

        var store = new SqliteMetadataStore(databasePath);
        try
        {
            await store.MigrateAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return store;
    }

    /// <inheritdoc />
    public async Task CreateUploadAsync(UploadSession upload, CancellationToken cancellationToken = default)
    {
        ValidateUpload(upload);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            INSERT INTO uploads ({UploadColumns})
            VALUES ($id, $path, $size, $chunkSize, $verifyMode, $expectedDigest, $stagingPath, $createdAt, $expiresAt, $state, $openedBy,
                    $originSite, $originPath, $originTime, $originDigest, $correlationId)
            """;
        AddOrigin(command, upload.Origin);
        command.Parameters.AddWithValue("$id", IdText(upload.Id));
        command.Parameters.AddWithValue("$path", upload.Path);
        command.Parameters.AddWithValue("$size", upload.Size);
        command.Parameters.AddWithValue("$chunkSize", upload.ChunkSize);
        command.Parameters.AddWithValue("$verifyMode", upload.VerifyMode);
        command.Parameters.AddWithValue("$expectedDigest", (object?)upload.ExpectedDigest ?? DBNull.Value);
        command.Parameters.AddWithValue("$stagingPath", upload.StagingPath);
        command.Parameters.AddWithValue("$createdAt", upload.CreatedAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$expiresAt", upload.ExpiresAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$state", (int)upload.State);
        command.Parameters.AddWithValue("$openedBy", (object?)upload.OpenedBy ?? DBNull.Value);
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (SqliteException ex) when (ex.SqliteExtendedErrorCode == SqliteConstraintPrimaryKey)
        {
            throw new MetadataException(MetadataError.UploadExists, $"Upload {upload.Id} already exists; create each upload with a new id.", ex);
        }
    }

    /// <inheritdoc />
    public async Task<UploadSession?> GetUploadAsync(Guid uploadId, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await ReadUploadAsync(connection, null, uploadId, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<bool> SetUploadStateAsync(Guid uploadId, UploadState state, CancellationToken cancellationToken = default)
    {
        if (state is not (UploadState.Aborted or UploadState.Expired))
        {
            throw new ArgumentOutOfRangeException(nameof(state), state,
                "An upload can only be set to Aborted or Expired; it is completed by CommitVersionAsync.");
        }

        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE uploads SET state = $state WHERE id = $id AND state = $open";
        command.Parameters.AddWithValue("$state", (int)state);
        command.Parameters.AddWithValue("$id", IdText(uploadId));
        command.Parameters.AddWithValue("$open", (int)UploadState.Open);
        if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1)
        {
            return true;
        }

        _ = await ReadUploadStateAsync(connection, null, uploadId, cancellationToken).ConfigureAwait(false)
            ?? throw UploadNotFound(uploadId);
        return false;
    }

    /// <inheritdoc />
    public async Task RecordChunkAsync(ChunkReceipt chunk, CancellationToken cancellationToken = default)
    {
        ValidateChunk(chunk);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();

        // One statement, so the receipt lands only while the upload is open; the WHERE also keeps SQLite's
        // INSERT … SELECT … ON CONFLICT grammar unambiguous.
        command.CommandText = $"""
            INSERT INTO chunks ({ChunkColumns})
            SELECT $uploadId, $index, $offset, $storedLength, $plainLength, $encoding, $crc64, $sha256, $receivedAt
            WHERE EXISTS (SELECT 1 FROM uploads WHERE id = $uploadId AND state = $open)
            ON CONFLICT (upload_id, chunk_index) DO UPDATE SET
                byte_offset = excluded.byte_offset,
                stored_length = excluded.stored_length,
                plain_length = excluded.plain_length,
                encoding = excluded.encoding,
                crc64 = excluded.crc64,
                sha256 = excluded.sha256,
                received_at = excluded.received_at
            """;
        command.Parameters.AddWithValue("$uploadId", IdText(chunk.UploadId));
        command.Parameters.AddWithValue("$index", chunk.Index);
        command.Parameters.AddWithValue("$offset", chunk.Offset);
        command.Parameters.AddWithValue("$storedLength", chunk.StoredLength);
        command.Parameters.AddWithValue("$plainLength", chunk.PlainLength);
        command.Parameters.AddWithValue("$encoding", (int)chunk.Encoding);
        command.Parameters.AddWithValue("$crc64", unchecked((long)chunk.Crc64));
        command.Parameters.AddWithValue("$sha256", chunk.Sha256);
        command.Parameters.AddWithValue("$receivedAt", chunk.ReceivedAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$open", (int)UploadState.Open);
        if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1)
        {
            return;
        }

        var state = await ReadUploadStateAsync(connection, null, chunk.UploadId, cancellationToken).ConfigureAwait(false)
            ?? throw UploadNotFound(chunk.UploadId);
        throw UploadNotOpen(chunk.UploadId, state, $"cannot accept chunk {chunk.Index}");
    }

    /// <inheritdoc />
    public async Task<IReadOnlySet<string>> ListReferencedObjectKeysAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT object_key, 0 FROM versions UNION ALL SELECT id, 1 FROM uploads WHERE state = $open";
        command.Parameters.AddWithValue("$open", (int)UploadState.Open);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            keys.Add(reader.GetInt32(1) == 0 ? reader.GetString(0) : Guid.Parse(reader.GetString(0)).ToString("N"));
        }

        return keys;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ChunkReceipt>> ListChunksAsync(Guid uploadId, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {ChunkColumns} FROM chunks WHERE upload_id = $uploadId ORDER BY chunk_index";
        command.Parameters.AddWithValue("$uploadId", IdText(uploadId));
        var chunks = new List<ChunkReceipt>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            chunks.Add(ReadChunk(reader));
        }

        return chunks;
    }

    /// <inheritdoc />
    public async Task<ChunkReceipt?> GetChunkAsync(Guid uploadId, long index, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {ChunkColumns} FROM chunks WHERE upload_id = $uploadId AND chunk_index = $index";
        command.Parameters.AddWithValue("$uploadId", IdText(uploadId));
        command.Parameters.AddWithValue("$index", index);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadChunk(reader) : null;
    }

    private static ChunkReceipt ReadChunk(SqliteDataReader reader) => new(
        Guid.Parse(reader.GetString(0)),
        reader.GetInt64(1),
        reader.GetInt64(2),
        reader.GetInt32(3),
        reader.GetInt32(4),
        reader.GetByte(5),
        unchecked((ulong)reader.GetInt64(6)),
        (byte[])reader.GetValue(7),
        FromUnixMilliseconds(reader.GetInt64(8)));

    /// <inheritdoc />
    public async Task<bool> ExtendUploadAsync(Guid uploadId, DateTimeOffset expiresAt, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE uploads SET expires_at = $expires WHERE id = $id AND state = $open";
        command.Parameters.AddWithValue("$expires", expiresAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$id", IdText(uploadId));
        command.Parameters.AddWithValue("$open", (int)UploadState.Open);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<UploadSession>> ListExpiredUploadsAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {UploadColumns} FROM uploads WHERE state = $open AND expires_at <= $now ORDER BY expires_at, id";
        command.Parameters.AddWithValue("$open", (int)UploadState.Open);
        command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        return await ReadUploadsAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<UploadSession>> ListOpenUploadsAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {UploadColumns} FROM uploads WHERE state = $open ORDER BY created_at, id";
        command.Parameters.AddWithValue("$open", (int)UploadState.Open);
        return await ReadUploadsAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<FileVersion?> CommitVersionAsync(FileVersion version, Guid? uploadId, CancellationToken cancellationToken = default)
    {
        ValidateVersion(version);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await SetSynchronousFullAsync(connection, cancellationToken).ConfigureAwait(false);
        await using var transaction = connection.BeginTransaction(deferred: false);

        if (await ExistsAsync(connection, transaction, "SELECT 1 FROM versions WHERE version_id = $id", IdText(version.VersionId), cancellationToken)
            .ConfigureAwait(false))
        {
            throw VersionExists(version);
        }

        if (uploadId is { } id)
        {
            var upload = await ReadUploadAsync(connection, transaction, id, cancellationToken).ConfigureAwait(false)
                ?? throw UploadNotFound(id);
            if (upload.State != UploadState.Open)
            {
                throw UploadNotOpen(id, upload.State, $"cannot be committed as '{version.Path}'");
            }

            if (!string.Equals(upload.Path, version.Path, StringComparison.Ordinal))
            {
                throw PathMismatch(id, upload.Path, version.Path);
            }
        }

        await using var statements = new VersionStatements(connection, transaction);
        var previous = await statements.MakeCurrentAsync(version, uploadId, cancellationToken).ConfigureAwait(false);

        if (uploadId is { } completed)
        {
            await using var complete = connection.CreateCommand();
            complete.Transaction = transaction;
            complete.CommandText = "UPDATE uploads SET state = $completed WHERE id = $id";
            complete.Parameters.AddWithValue("$completed", (int)UploadState.Completed);
            complete.Parameters.AddWithValue("$id", IdText(completed));
            await complete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return previous;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<FileVersion?>> CommitVersionsAsync(IReadOnlyList<FileVersion> versions, CancellationToken cancellationToken = default)
    {
        ValidateBatch(versions);

        var previous = new FileVersion?[versions.Count];
        if (versions.Count == 0)
        {
            return previous;
        }

        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await SetSynchronousFullAsync(connection, cancellationToken).ConfigureAwait(false);
        await using var transaction = connection.BeginTransaction(deferred: false);

        // One set of prepared statements for the whole batch: SQLite parses each once, not once per file.
        await using var statements = new VersionStatements(connection, transaction);
        for (var i = 0; i < versions.Count; i++)
        {
            if (await statements.ExistsAsync(versions[i].VersionId, cancellationToken).ConfigureAwait(false))
            {
                throw VersionExists(versions[i]);
            }

            previous[i] = await statements.MakeCurrentAsync(versions[i], null, cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return previous;
    }

    /// <inheritdoc />
    public async Task<FileVersion?> GetCurrentVersionAsync(string path, CancellationToken cancellationToken = default)
    {
        RequireCanonicalPath(path, allowRoot: false, nameof(path));
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await ReadCurrentVersionAsync(connection, null, path, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// A byte range rather than LIKE: SQLite's LIKE ignores ASCII case ("/A/x" would match "/a/%") and treats '%' and '_'
    /// in names as wildcards. With the BINARY collation, a path lies below "/a/b" exactly when it sorts in
    /// ["/a/b/", "/a/b0"), because '0' is the character after '/'.
    /// </remarks>
    public async Task<IReadOnlyList<FileVersion>> ListCurrentVersionsAsync(string prefix, int limit, CancellationToken cancellationToken = default)
    {
        var root = RequireCanonicalPath(prefix, allowRoot: true, nameof(prefix)).IsRoot;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = root
            ? $"SELECT {VersionColumns} FROM versions WHERE is_current = 1 ORDER BY path LIMIT $limit"
            : $"""
                SELECT {VersionColumns} FROM versions
                WHERE is_current = 1 AND (path = $prefix OR (path >= $below AND path < $after))
                ORDER BY path LIMIT $limit
                """;
        command.Parameters.AddWithValue("$prefix", prefix);
        command.Parameters.AddWithValue("$below", prefix + "/");
        command.Parameters.AddWithValue("$after", prefix + "0");
        command.Parameters.AddWithValue("$limit", limit);
        return await ReadVersionsAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<FileVersion?> DeleteCurrentVersionAsync(string path, CancellationToken cancellationToken = default)
    {
        RequireCanonicalPath(path, allowRoot: false, nameof(path));
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await SetSynchronousFullAsync(connection, cancellationToken).ConfigureAwait(false);
        await using var transaction = connection.BeginTransaction(deferred: false);
        var current = await ReadCurrentVersionAsync(connection, transaction, path, cancellationToken).ConfigureAwait(false);
        if (current is null)
        {
            return null;
        }

        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "UPDATE versions SET is_current = 0, deleted_at = $now WHERE path = $path AND is_current = 1";
        command.Parameters.AddWithValue("$now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$path", path);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return current;
    }

    /// <inheritdoc />
    public async Task<FileVersion?> FindByDigestAsync(string digest, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(digest);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {VersionColumns} FROM versions WHERE digest = $digest AND is_current = 1 ORDER BY seq DESC LIMIT 1";
        command.Parameters.AddWithValue("$digest", digest);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadVersion(reader) : null;
    }

    /// <inheritdoc />
    public async Task<FileVersion?> GetVersionAsync(Guid versionId, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await ReadVersionByIdAsync(connection, null, versionId, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<Guid, FileVersion>> GetVersionsAsync(IReadOnlyCollection<Guid> versionIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(versionIds);
        var found = new Dictionary<Guid, FileVersion>(versionIds.Count);
        if (versionIds.Count == 0)
        {
            return found;
        }

        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, $"SELECT {VersionColumns} FROM versions WHERE version_id = $id AND deleted_at IS NULL");
        foreach (var id in versionIds)
        {
            command.Parameters.Clear();
            command.Parameters.AddWithValue("$id", IdText(id));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                found[id] = ReadVersion(reader);
            }
        }

        return found;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<FileVersion>> ListVersionsInStateAsync(ReleaseState state, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT {VersionColumns} FROM versions
            WHERE release_state = $state AND deleted_at IS NULL AND (is_current = 1 OR $anyVersion = 1)
            ORDER BY seq LIMIT $limit
            """;
        command.Parameters.AddWithValue("$state", state.ToName());
        command.Parameters.AddWithValue("$anyVersion", state == ReleaseState.Quarantined ? 1 : 0);
        command.Parameters.AddWithValue("$limit", limit);
        return await ReadVersionsAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<bool> SetReleaseStateAsync(Guid versionId, ReleaseState expected, ReleaseStateChange change, CancellationToken cancellationToken = default)
    {
        ValidateChange(change);

        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await SetSynchronousFullAsync(connection, cancellationToken).ConfigureAwait(false);
        await using var statements = new VerdictStatements(connection, null);
        return await statements.SetStateAsync(versionId, expected, change, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task RecordVerdictsAsync(Guid versionId, IReadOnlyList<ScanVerdict> verdicts, DateTimeOffset scannedAt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(verdicts);
        if (verdicts.Count == 0)
        {
            return;
        }

        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = connection.BeginTransaction(deferred: false);
        await using (var statements = new VerdictStatements(connection, transaction))
        {
            await statements.RecordAsync(versionId, verdicts, scannedAt, cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<bool>> RecordVerdictsAndReleaseAsync(IReadOnlyList<(Guid VersionId, IReadOnlyList<ScanVerdict> Verdicts)> scans, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scans);
        var released = new bool[scans.Count];
        if (scans.Count == 0)
        {
            return released;
        }

        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await SetSynchronousFullAsync(connection, cancellationToken).ConfigureAwait(false);
        await using var transaction = connection.BeginTransaction(deferred: false);
        var change = new ReleaseStateChange(ReleaseState.Released, at);
        await using (var statements = new VerdictStatements(connection, transaction))
        {
            for (var i = 0; i < scans.Count; i++)
            {
                var (versionId, verdicts) = scans[i];
                ArgumentNullException.ThrowIfNull(verdicts, nameof(scans));
                await statements.RecordAsync(versionId, verdicts, at, cancellationToken).ConfigureAwait(false);
                released[i] = await statements.SetStateAsync(versionId, ReleaseState.PendingScan, change, cancellationToken).ConfigureAwait(false);
            }
        }


        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return released;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<RecordedVerdict>> ListVerdictsAsync(Guid versionId, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {VerdictColumns} FROM scan_verdicts WHERE version_id = $id ORDER BY seq";
        command.Parameters.AddWithValue("$id", IdText(versionId));
        var verdicts = new List<RecordedVerdict>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            verdicts.Add(new RecordedVerdict(
                reader.GetInt32(0),
                new ScanVerdict(
                    reader.GetString(1),
                    reader.GetString(2),
                    ParseOutcome(reader.GetString(3)),
                    reader.IsDBNull(4) ? null : reader.GetString(4),
                    reader.IsDBNull(5) ? null : reader.GetString(5)),
                FromUnixMilliseconds(reader.GetInt64(6))));
        }

        return verdicts;
    }

    /// <inheritdoc />
    public async Task<FileVersion?> DeleteVersionAsync(Guid versionId, ReleaseState expected, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await SetSynchronousFullAsync(connection, cancellationToken).ConfigureAwait(false);
        await using var transaction = connection.BeginTransaction(deferred: false);
        var version = await ReadVersionByIdAsync(connection, transaction, versionId, cancellationToken).ConfigureAwait(false);
        if (version is null || version.State != expected)
        {
            return null;
        }

        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "UPDATE versions SET is_current = 0, deleted_at = $now WHERE version_id = $id";
        command.Parameters.AddWithValue("$now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$id", IdText(versionId));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return version;
    }

    /// <summary>Closes the store's pooled connections, releasing the database file.</summary>
    public ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            using var connection = new SqliteConnection(_connectionString);
            SqliteConnection.ClearPool(connection);
        }

        return ValueTask.CompletedTask;
    }

    private async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await SqliteSchema.MigrateAsync(
            connection,
            $"metadata database '{DatabasePath}'",
            Migrations,
            current => new MetadataException(MetadataError.SchemaTooNew, $"The metadata database '{DatabasePath}' has schema version {current}, newer than this build's {SchemaVersion}; run a newer TurboMft."),
            null,
            cancellationToken).ConfigureAwait(false);
    }

    private Task<SqliteConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return SqliteSchema.OpenAsync(_connectionString, "NORMAL", cancellationToken);
    }

    private static async Task SetSynchronousFullAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA synchronous = FULL";
        await pragma.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<bool> ExistsAsync(
        SqliteConnection connection, SqliteTransaction? transaction, string sql, string id, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.Parameters.AddWithValue("$id", id);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null;
    }

    private static async Task<UploadSession?> ReadUploadAsync(
        SqliteConnection connection, SqliteTransaction? transaction, Guid uploadId, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT {UploadColumns} FROM uploads WHERE id = $id";
        command.Parameters.AddWithValue("$id", IdText(uploadId));
        var uploads = await ReadUploadsAsync(command, cancellationToken).ConfigureAwait(false);
        return uploads.Count == 0 ? null : uploads[0];
    }

    private static async Task<UploadState?> ReadUploadStateAsync(
        SqliteConnection connection, SqliteTransaction? transaction, Guid uploadId, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT state FROM uploads WHERE id = $id";
        command.Parameters.AddWithValue("$id", IdText(uploadId));
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long state ? (UploadState)state : null;
    }

    private static async Task<IReadOnlyList<UploadSession>> ReadUploadsAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        var uploads = new List<UploadSession>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            uploads.Add(new UploadSession(
                Guid.Parse(reader.GetString(0)),
                reader.GetString(1),
                reader.GetInt64(2),
                reader.GetInt32(3),
                reader.GetString(4),
                reader.IsDBNull(5) ? null : reader.GetString(5),
                reader.GetString(6),
                FromUnixMilliseconds(reader.GetInt64(7)),
                FromUnixMilliseconds(reader.GetInt64(8)),
                (UploadState)reader.GetInt32(9))
            {
                OpenedBy = reader.IsDBNull(10) ? null : reader.GetString(10),
                Origin = ReadOrigin(reader, 11),
            });
        }

        return uploads;
    }

    private static async Task<FileVersion?> ReadCurrentVersionAsync(
        SqliteConnection connection, SqliteTransaction? transaction, string path, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT {VersionColumns} FROM versions WHERE path = $path AND is_current = 1";
        command.Parameters.AddWithValue("$path", path);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadVersion(reader) : null;
    }

    /// <summary>A version from a row of <see cref="VersionColumns"/>.</summary>
    private static FileVersion ReadVersion(SqliteDataReader reader) => new(
        Guid.Parse(reader.GetString(0)),
        reader.GetString(1),
        reader.GetInt64(2),
        reader.GetInt32(3),
        reader.GetString(4),
        reader.IsDBNull(5) ? null : reader.GetString(5),
        reader.GetString(6),
        FromUnixMilliseconds(reader.GetInt64(7)))
    {
        State = ReleaseStateNames.Parse(reader.GetString(8)),
        UploadedBy = reader.IsDBNull(9) ? null : reader.GetString(9),
        ReleasedAt = reader.IsDBNull(10) ? null : FromUnixMilliseconds(reader.GetInt64(10)),
        ApprovalExpiresAt = reader.IsDBNull(11) ? null : FromUnixMilliseconds(reader.GetInt64(11)),
        Decision = reader.IsDBNull(12) ? null : new ReleaseDecision(
            reader.GetString(12),
            reader.IsDBNull(13) ? null : reader.GetString(13),
            reader.IsDBNull(14) ? null : reader.GetString(14),
            FromUnixMilliseconds(reader.GetInt64(15))),
        IsCurrent = reader.GetInt64(16) == 1,
        Origin = ReadOrigin(reader, 17),
    };

    private static void AddOrigin(SqliteCommand command, Provenance? origin)
    {
        command.Parameters.AddWithValue("$originSite", (object?)origin?.Site ?? DBNull.Value);
        command.Parameters.AddWithValue("$originPath", (object?)origin?.Path ?? DBNull.Value);
        command.Parameters.AddWithValue("$originTime", origin is null ? DBNull.Value : origin.Time.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$originDigest", (object?)origin?.Digest ?? DBNull.Value);
        command.Parameters.AddWithValue("$correlationId", (object?)origin?.CorrelationId ?? DBNull.Value);
    }

    private static Provenance? ReadOrigin(SqliteDataReader reader, int first) => reader.IsDBNull(first)
        ? null
        : new Provenance(
            reader.GetString(first),
            reader.GetString(first + 1),
            FromUnixMilliseconds(reader.GetInt64(first + 2)),
            reader.GetString(first + 3),
            reader.IsDBNull(first + 4) ? null : reader.GetString(first + 4));

    private static async Task<IReadOnlyList<FileVersion>> ReadVersionsAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        var versions = new List<FileVersion>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            versions.Add(ReadVersion(reader));
        }

        return versions;
    }

    private static async Task<FileVersion?> ReadVersionByIdAsync(
        SqliteConnection connection, SqliteTransaction? transaction, Guid versionId, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT {VersionColumns} FROM versions WHERE version_id = $id AND deleted_at IS NULL";
        command.Parameters.AddWithValue("$id", IdText(versionId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadVersion(reader) : null;
    }

    private static string IdText(Guid id) => id.ToString("D");

    private static DateTimeOffset FromUnixMilliseconds(long milliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);

    /// <summary>
    /// The statements that make a version current, prepared once on a connection and transaction and reused for every
    /// version committed in it (Microsoft.Data.Sqlite keeps a command's prepared statements while its text is unchanged).
    /// </summary>
    private sealed class VersionStatements(SqliteConnection connection, SqliteTransaction transaction) : IAsyncDisposable
    {
        private readonly SqliteCommand _exists = Command(connection, transaction, "SELECT 1 FROM versions WHERE version_id = $id");
        private readonly SqliteCommand _current = Command(connection, transaction, $"SELECT {VersionColumns} FROM versions WHERE path = $path AND is_current = 1");
        private readonly SqliteCommand _demote = Command(connection, transaction, "UPDATE versions SET is_current = 0 WHERE path = $path AND is_current = 1");
        private readonly SqliteCommand _insert = Command(connection, transaction, """
            INSERT INTO versions (version_id, path, size, chunk_size, digest, sha256, object_key, committed_at, upload_id, is_current,
                                  release_state, uploaded_by, released_at, origin_site, origin_path, origin_time, origin_digest, correlation_id)
            VALUES ($id, $path, $size, $chunkSize, $digest, $sha256, $objectKey, $committedAt, $uploadId, 1, $state, $uploadedBy, $releasedAt,
                    $originSite, $originPath, $originTime, $originDigest, $correlationId)
            """);

        public async Task<bool> ExistsAsync(Guid versionId, CancellationToken cancellationToken)
        {
            _exists.Parameters.Clear();
            _exists.Parameters.AddWithValue("$id", IdText(versionId));
            return await _exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null;
        }

        /// <summary>Makes <paramref name="version"/> the current version of its path; returns the one it demoted.</summary>
        public async Task<FileVersion?> MakeCurrentAsync(FileVersion version, Guid? uploadId, CancellationToken cancellationToken)
        {
            FileVersion? previous;
            _current.Parameters.Clear();
            _current.Parameters.AddWithValue("$path", version.Path);
            await using (var reader = await _current.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                previous = await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadVersion(reader) : null;
            }

            _demote.Parameters.Clear();
            _demote.Parameters.AddWithValue("$path", version.Path);
            await _demote.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);

            var insert = _insert;
            insert.Parameters.Clear();
            AddOrigin(insert, version.Origin);
            insert.Parameters.AddWithValue("$id", IdText(version.VersionId));
            insert.Parameters.AddWithValue("$path", version.Path);
            insert.Parameters.AddWithValue("$size", version.Size);
            insert.Parameters.AddWithValue("$chunkSize", version.ChunkSize);
            insert.Parameters.AddWithValue("$digest", version.Digest);
            insert.Parameters.AddWithValue("$sha256", (object?)version.Sha256 ?? DBNull.Value);
            insert.Parameters.AddWithValue("$objectKey", version.ObjectKey);
            insert.Parameters.AddWithValue("$committedAt", version.CommittedAt.ToUnixTimeMilliseconds());
            insert.Parameters.AddWithValue("$uploadId", uploadId is { } u ? IdText(u) : DBNull.Value);
            insert.Parameters.AddWithValue("$state", version.State.ToName());
            insert.Parameters.AddWithValue("$uploadedBy", (object?)version.UploadedBy ?? DBNull.Value);
            insert.Parameters.AddWithValue("$releasedAt", version.State == ReleaseState.Released
                ? (version.ReleasedAt ?? version.CommittedAt).ToUnixTimeMilliseconds()
                : DBNull.Value);
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return previous;
        }

        public async ValueTask DisposeAsync()
        {
            await _exists.DisposeAsync().ConfigureAwait(false);
            await _current.DisposeAsync().ConfigureAwait(false);
            await _demote.DisposeAsync().ConfigureAwait(false);
            await _insert.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The statements that record verdicts and release versions, prepared once per transaction (as <see cref="VersionStatements"/>).</summary>
    private sealed class VerdictStatements(SqliteConnection connection, SqliteTransaction? transaction) : IAsyncDisposable
    {
        private readonly SqliteCommand _nextSeq = Command(connection, transaction, "SELECT coalesce(max(seq) + 1, 0) FROM scan_verdicts WHERE version_id = $id");
        private readonly SqliteCommand _insert = Command(connection, transaction, $"INSERT INTO scan_verdicts (version_id, {VerdictColumns}) VALUES ($id, $seq, $scanner, $scannerVersion, $outcome, $finding, $detail, $scannedAt)");

        // One statement: the WHERE is the compare, so concurrent callers serialise on SQLite's write lock and one wins.
        private readonly SqliteCommand _setState = Command(connection, transaction, """
            UPDATE versions
            SET release_state = $state, released_at = $releasedAt, approval_expires_at = $expiresAt,
                decision = $decision, decided_by = $decidedBy, decision_reason = $reason, decided_at = $decidedAt
            WHERE version_id = $id AND release_state = $expected AND deleted_at IS NULL
            """);

        /// <summary>Appends verdicts after those recorded before for the version.</summary>
        public async Task RecordAsync(Guid versionId, IReadOnlyList<ScanVerdict> verdicts, DateTimeOffset scannedAt, CancellationToken cancellationToken)
        {
            if (verdicts.Count == 0)
            {
                return;
            }

            _nextSeq.Parameters.Clear();
            _nextSeq.Parameters.AddWithValue("$id", IdText(versionId));
            var next = (long)(await _nextSeq.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            foreach (var verdict in verdicts)
            {
                ArgumentNullException.ThrowIfNull(verdict, nameof(verdicts));
                _insert.Parameters.Clear();
                _insert.Parameters.AddWithValue("$id", IdText(versionId));
                _insert.Parameters.AddWithValue("$seq", next++);
                _insert.Parameters.AddWithValue("$scanner", verdict.Scanner);
                _insert.Parameters.AddWithValue("$scannerVersion", verdict.ScannerVersion);
                _insert.Parameters.AddWithValue("$outcome", OutcomeText(verdict.Outcome));
                _insert.Parameters.AddWithValue("$finding", (object?)verdict.Finding ?? DBNull.Value);
                _insert.Parameters.AddWithValue("$detail", (object?)verdict.Detail ?? DBNull.Value);
                _insert.Parameters.AddWithValue("$scannedAt", scannedAt.ToUnixTimeMilliseconds());
                await _insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        /// <summary>The compare-and-set of <see cref="SetReleaseStateAsync"/>.</summary>
        public async Task<bool> SetStateAsync(Guid versionId, ReleaseState expected, ReleaseStateChange change, CancellationToken cancellationToken)
        {
            var decision = change.Decision;
            var command = _setState;
            command.Parameters.Clear();
            command.Parameters.AddWithValue("$id", IdText(versionId));
            command.Parameters.AddWithValue("$expected", expected.ToName());
            command.Parameters.AddWithValue("$state", change.State.ToName());
            command.Parameters.AddWithValue("$releasedAt", change.State == ReleaseState.Released ? change.At.ToUnixTimeMilliseconds() : DBNull.Value);
            command.Parameters.AddWithValue("$expiresAt", change.ApprovalExpiresAt is { } expires ? expires.ToUnixTimeMilliseconds() : DBNull.Value);
            command.Parameters.AddWithValue("$decision", (object?)decision?.Decision ?? DBNull.Value);
            command.Parameters.AddWithValue("$decidedBy", (object?)decision?.By ?? DBNull.Value);
            command.Parameters.AddWithValue("$reason", (object?)decision?.Reason ?? DBNull.Value);
            command.Parameters.AddWithValue("$decidedAt", decision is null ? DBNull.Value : decision.At.ToUnixTimeMilliseconds());
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }

        public async ValueTask DisposeAsync()
        {
            await _nextSeq.DisposeAsync().ConfigureAwait(false);
            await _insert.DisposeAsync().ConfigureAwait(false);
            await _setState.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }
}
