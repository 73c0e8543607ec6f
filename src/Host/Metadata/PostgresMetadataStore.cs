using System.Data;
using Npgsql;
using TurboMft.Host.Infrastructure;
using static TurboMft.Host.Infrastructure.PostgresParameter;
using static TurboMft.Host.Metadata.MetadataArguments;

namespace TurboMft.Host.Metadata;

/// <summary>
/// The metadata store in a PostgreSQL database that several nodes share (docs/architecture.md, "Stores"), on the
/// <see cref="PostgresDatabase"/> the composition gives it; its schema version is in <c>metadata_schema_version</c>.
/// Nothing is cached: every call reads and writes the database, so another node's write is seen at once.
/// </summary>
/// <remarks>
/// <para>
/// Storage as in <see cref="SqliteMetadataStore"/>: ids <c>uuid</c>; paths <c>text COLLATE "C"</c> (ordinal order and
/// prefix ranges); times <c>bigint</c> Unix milliseconds, UTC; CRC-64s <c>bigint</c> holding the unsigned bits; chunk
/// SHA-256s <c>bytea</c> of 32 bytes. Every call is READ COMMITTED; what must hold between nodes holds by:
/// </para>
/// <list type="bullet">
/// <item>Chunk receipts: one statement that takes a share lock on the upload row, so a receipt never lands beside (or
/// after) the commit that completes its upload.</item>
/// <item>Commits (one version or a batch): a per-path <c>pg_advisory_xact_lock</c> (several taken in key order), then the
/// current rows read <c>FOR UPDATE</c> and the upload row <c>FOR UPDATE</c>: of two nodes committing one path the second
/// waits and replaces the first's version, so every replaced version is returned exactly once and a path has one current
/// version; of two completing one upload the second finds it completed (<see cref="MetadataError.UploadNotOpen"/>).</item>
/// <item>Deletes of the current version: under the same per-path lock as commits (one batch), so a delete and a commit
/// of one path are ordered and the version one replaces is never the one the other deletes.</item>
/// <item>Release states and upload states: compare-and-set as one <c>UPDATE … WHERE state = expected</c>; PostgreSQL
/// re-checks the condition on the row a concurrent writer left, so exactly one of several wins.</item>
/// <item>Verdicts: a per-version advisory lock before their positions are counted, so appends from two nodes never collide.</item>
/// </list>
/// <para>
/// A deadlock (two batches whose paths overlap) is run again by <see cref="PostgresDatabase"/>; a database that is away
/// reaches callers as <see cref="StoreUnavailableException"/>. The store does not own the database.
/// </para>
/// </remarks>
public sealed class PostgresMetadataStore : IMetadataStore
{
    /// <summary>The table holding the schema version of the metadata tables.</summary>
    public const string VersionTable = "metadata_schema_version";

    /// <summary>The schema version this build creates and reads.</summary>
    public const int SchemaVersion = 1;

    // Key spaces of the two-key advisory locks (the one-key space is the migrations'); the values are ASCII "tmfp" and "tmfv".
    private const int PathLocks = 0x746d6670;
    private const int VerdictLocks = 0x746d6676;

    private const string VersionIdConstraint = "versions_version_id_unique";
    private const string UploadIdConstraint = "uploads_pkey";

    private const string UploadColumns =
        "id, path, size, chunk_size, verify_mode, expected_digest, staging_path, created_at, expires_at, state, opened_by, "
        + "origin_site, origin_path, origin_time, origin_digest, correlation_id";

    private const string ChunkColumns =
        "upload_id, chunk_index, byte_offset, stored_length, plain_length, encoding, crc64, sha256, received_at";

    private const string VerdictColumns = "seq, scanner, scanner_version, outcome, finding, detail, scanned_at";

    // Takes the advisory locks of the keys of $2 (text[]) in $1's key space, in key order, so that two batches never deadlock.
    private const string LockKeys =
        "SELECT count(*) FROM (SELECT pg_advisory_xact_lock($1, k) FROM (SELECT DISTINCT hashtext(x) AS k FROM unnest($2::text[]) AS x ORDER BY k) AS keys) AS locked";

    // Index i migrates from version i to i + 1; append, never edit a shipped entry.
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE uploads (
            id              uuid    NOT NULL,
            path            text    COLLATE "C" NOT NULL,
            size            bigint  NOT NULL CHECK (size >= 0),
            chunk_size      integer NOT NULL CHECK (chunk_size > 0),
            verify_mode     text    NOT NULL CHECK (verify_mode IN ('fast', 'sha256')),
            expected_digest text,
            staging_path    text    NOT NULL,
            created_at      bigint  NOT NULL,
            expires_at      bigint  NOT NULL,
            state           smallint NOT NULL CHECK (state BETWEEN 0 AND 3),
            opened_by       text,
            origin_site     text,
            origin_path     text    COLLATE "C",
            origin_time     bigint,
            origin_digest   text,
            correlation_id  text,
            CONSTRAINT uploads_pkey PRIMARY KEY (id)
        );
        CREATE INDEX uploads_by_state_expiry ON uploads (state, expires_at);

        CREATE TABLE chunks (
            upload_id     uuid     NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
            chunk_index   bigint   NOT NULL CHECK (chunk_index >= 0),
            byte_offset   bigint   NOT NULL CHECK (byte_offset >= 0),
            stored_length integer  NOT NULL CHECK (stored_length >= 0),
            plain_length  integer  NOT NULL CHECK (plain_length >= 0),
            encoding      smallint NOT NULL CHECK (encoding BETWEEN 0 AND 255),
            crc64         bigint   NOT NULL,
            sha256        bytea    NOT NULL CHECK (length(sha256) = 32),
            received_at   bigint   NOT NULL,
            PRIMARY KEY (upload_id, chunk_index)
        );

        CREATE TABLE versions (
            seq                 bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            version_id          uuid    NOT NULL,
            path                text    COLLATE "C" NOT NULL,
            size                bigint  NOT NULL CHECK (size >= 0),
            chunk_size          integer NOT NULL CHECK (chunk_size > 0),
            digest              text    NOT NULL,
            sha256              text,
            object_key          text    NOT NULL,
            committed_at        bigint  NOT NULL,
            upload_id           uuid    REFERENCES uploads (id) ON DELETE SET NULL,
            is_current          boolean NOT NULL,
            deleted_at          bigint,
            release_state       text    NOT NULL DEFAULT 'pending-scan'
                CHECK (release_state IN ('pending-scan', 'released', 'quarantined', 'pending-approval', 'rejected')),
            uploaded_by         text,
            released_at         bigint,
            approval_expires_at bigint,
            decision            text,
            decided_by          text,
            decision_reason     text,
            decided_at          bigint,
            origin_site         text,
            origin_path         text    COLLATE "C",
            origin_time         bigint,
            origin_digest       text,
            correlation_id      text,
            CONSTRAINT versions_version_id_unique UNIQUE (version_id)
        );
        CREATE UNIQUE INDEX versions_current_by_path ON versions (path) WHERE is_current;
        CREATE INDEX versions_current_by_digest ON versions (digest) WHERE is_current;
        CREATE INDEX versions_by_release_state ON versions (release_state, seq) WHERE deleted_at IS NULL;

        CREATE TABLE scan_verdicts (
            version_id      uuid    NOT NULL REFERENCES versions (version_id) ON DELETE CASCADE,
            seq             integer NOT NULL CHECK (seq >= 0),
            scanner         text    NOT NULL,
            scanner_version text    NOT NULL,
            outcome         text    NOT NULL CHECK (outcome IN ('clean', 'infected', 'error')),
            finding         text,
            detail          text,
            scanned_at      bigint  NOT NULL,
            PRIMARY KEY (version_id, seq)
        );
        """,
    ];

    private readonly PostgresDatabase _database;
    private volatile bool _disposed;

    private PostgresMetadataStore(PostgresDatabase database) => _database = database;

    /// <summary>
    /// Opens the store on <paramref name="database"/>, creating the tables in an empty database and migrating an older
    /// schema (one node at a time; the others wait and find it current).
    /// </summary>
    /// <exception cref="MetadataException">With <see cref="MetadataError.SchemaTooNew"/> when a newer build wrote the schema; nothing is changed.</exception>
    /// <exception cref="StoreUnavailableException">The database cannot be reached.</exception>
    public static async Task<PostgresMetadataStore> OpenAsync(PostgresDatabase database, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(database);
        await database.MigrateAsync(
            VersionTable,
            Migrations,
            current => new MetadataException(
                MetadataError.SchemaTooNew,
                $"The metadata tables in PostgreSQL ({database.Description}) have schema version {current}, newer than this build's {SchemaVersion}; run a newer TurboMft."),
            cancellationToken).ConfigureAwait(false);
        return new PostgresMetadataStore(database);
    }

    /// <inheritdoc />
    public async Task CreateUploadAsync(UploadSession upload, CancellationToken cancellationToken = default)
    {
        ValidateUpload(upload);
        var added = await ExecuteAsync(
            $"""
            INSERT INTO uploads ({UploadColumns})
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
            ON CONFLICT ON CONSTRAINT {UploadIdConstraint} DO NOTHING
            """,
            cancellationToken,
            Of(upload.Id), Of(upload.Path), Of(upload.Size), Of(upload.ChunkSize), Of(upload.VerifyMode), Text(upload.ExpectedDigest),
            Of(upload.StagingPath), Of(upload.CreatedAt.ToUnixTimeMilliseconds()), Of(upload.ExpiresAt.ToUnixTimeMilliseconds()),
            Of((short)upload.State), Text(upload.OpenedBy), Text(upload.Origin?.Site), Text(upload.Origin?.Path), Time(upload.Origin?.Time),
            Text(upload.Origin?.Digest), Text(upload.Origin?.CorrelationId)).ConfigureAwait(false);
        if (added == 0)
        {
            throw new MetadataException(MetadataError.UploadExists, $"Upload {upload.Id} already exists; create each upload with a new id.");
        }
    }

    /// <inheritdoc />
    public async Task<UploadSession?> GetUploadAsync(Guid uploadId, CancellationToken cancellationToken = default)
    {
        var uploads = await ReadUploadsAsync($"SELECT {UploadColumns} FROM uploads WHERE id = $1", cancellationToken, Of(uploadId)).ConfigureAwait(false);
        return uploads.Count == 0 ? null : uploads[0];
    }

    /// <inheritdoc />
    public async Task<bool> SetUploadStateAsync(Guid uploadId, UploadState state, CancellationToken cancellationToken = default)
    {
        if (state is not (UploadState.Aborted or UploadState.Expired))
        {
            throw new ArgumentOutOfRangeException(nameof(state), state,
                "An upload can only be set to Aborted or Expired; it is completed by CommitVersionAsync.");
        }

        // One statement: the compare-and-set, and whether the upload exists at all (for the typed error).
        var (changed, exists) = await QueryAsync(
            """
            WITH changed AS (UPDATE uploads SET state = $2 WHERE id = $1 AND state = 0 RETURNING 1)
            SELECT EXISTS (SELECT 1 FROM changed), EXISTS (SELECT 1 FROM uploads WHERE id = $1)
            """,
            async (reader, token) =>
            {
                await reader.ReadAsync(token).ConfigureAwait(false);
                return (reader.GetBoolean(0), reader.GetBoolean(1));
            },
            cancellationToken,
            Of(uploadId), Of((short)state)).ConfigureAwait(false);
        if (!changed && !exists)
        {
            throw UploadNotFound(uploadId);
        }

        return changed;
    }

    /// <inheritdoc />
    public async Task<bool> ExtendUploadAsync(Guid uploadId, DateTimeOffset expiresAt, CancellationToken cancellationToken = default) =>
        await ExecuteAsync("UPDATE uploads SET expires_at = $2 WHERE id = $1 AND state = 0", cancellationToken,
            Of(uploadId), Of(expiresAt.ToUnixTimeMilliseconds())).ConfigureAwait(false) == 1;

    /// <inheritdoc />
    public async Task RecordChunkAsync(ChunkReceipt chunk, CancellationToken cancellationToken = default)
    {
        ValidateChunk(chunk);

        // One statement, one round trip: the upload row is share-locked (a commit completing it waits, or is waited for
        // and then seen), the receipt lands only while it is open, and the upload's state comes back for the typed error.
        var state = await QueryAsync(
            $"""
            WITH upload AS (SELECT state FROM uploads WHERE id = $1 FOR SHARE),
                 recorded AS (
                    INSERT INTO chunks ({ChunkColumns})
                    SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 FROM upload WHERE upload.state = 0
                    ON CONFLICT (upload_id, chunk_index) DO UPDATE SET
                        byte_offset = excluded.byte_offset,
                        stored_length = excluded.stored_length,
                        plain_length = excluded.plain_length,
                        encoding = excluded.encoding,
                        crc64 = excluded.crc64,
                        sha256 = excluded.sha256,
                        received_at = excluded.received_at
                    RETURNING 1)
            SELECT (SELECT state FROM upload), EXISTS (SELECT 1 FROM recorded)
            """,
            async (reader, token) =>
            {
                await reader.ReadAsync(token).ConfigureAwait(false);
                return reader.GetBoolean(1) ? UploadState.Open : reader.IsDBNull(0) ? (UploadState?)null : (UploadState)reader.GetInt16(0);
            },
            cancellationToken,
            Of(chunk.UploadId), Of(chunk.Index), Of(chunk.Offset), Of(chunk.StoredLength), Of(chunk.PlainLength), Of((short)chunk.Encoding),
            Of(unchecked((long)chunk.Crc64)), Of(chunk.Sha256), Of(chunk.ReceivedAt.ToUnixTimeMilliseconds())).ConfigureAwait(false);
        switch (state)
        {
            case UploadState.Open:
                return;
            case null:
                throw UploadNotFound(chunk.UploadId);
            default:
                throw UploadNotOpen(chunk.UploadId, state.Value, $"cannot accept chunk {chunk.Index}");
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<ChunkReceipt>> ListChunksAsync(Guid uploadId, CancellationToken cancellationToken = default) =>
        QueryAsync<IReadOnlyList<ChunkReceipt>>(
            $"SELECT {ChunkColumns} FROM chunks WHERE upload_id = $1 ORDER BY chunk_index",
            async (reader, token) =>
            {
                var chunks = new List<ChunkReceipt>();
                while (await reader.ReadAsync(token).ConfigureAwait(false))
                {
                    chunks.Add(ReadChunk(reader));
                }

                return chunks;
            },
            cancellationToken,
            Of(uploadId));

    /// <inheritdoc />
    public Task<ChunkReceipt?> GetChunkAsync(Guid uploadId, long index, CancellationToken cancellationToken = default) =>
        QueryAsync(
            $"SELECT {ChunkColumns} FROM chunks WHERE upload_id = $1 AND chunk_index = $2",
            async (reader, token) => await reader.ReadAsync(token).ConfigureAwait(false) ? ReadChunk(reader) : null,
            cancellationToken,
            Of(uploadId),
            Of(index));

    private static ChunkReceipt ReadChunk(Npgsql.NpgsqlDataReader reader) => new(
        reader.GetGuid(0),
        reader.GetInt64(1),
        reader.GetInt64(2),
        reader.GetInt32(3),
        reader.GetInt32(4),
        (byte)reader.GetInt16(5),
        unchecked((ulong)reader.GetInt64(6)),
        reader.GetFieldValue<byte[]>(7),
        PostgresVersionRow.Time(reader.GetInt64(8)));

    /// <inheritdoc />
    public Task<IReadOnlyList<UploadSession>> ListExpiredUploadsAsync(DateTimeOffset now, CancellationToken cancellationToken = default) =>
        ReadUploadsAsync($"SELECT {UploadColumns} FROM uploads WHERE state = 0 AND expires_at <= $1 ORDER BY expires_at, id", cancellationToken,
            Of(now.ToUnixTimeMilliseconds()));

    /// <inheritdoc />
    public Task<IReadOnlyList<UploadSession>> ListOpenUploadsAsync(CancellationToken cancellationToken = default) =>
        ReadUploadsAsync($"SELECT {UploadColumns} FROM uploads WHERE state = 0 ORDER BY created_at, id", cancellationToken);

    /// <inheritdoc />
    public async Task<FileVersion?> CommitVersionAsync(FileVersion version, Guid? uploadId, CancellationToken cancellationToken = default)
    {
        ValidateVersion(version);
        return (await CommitAsync([version], uploadId, cancellationToken).ConfigureAwait(false))[0];
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<FileVersion?>> CommitVersionsAsync(IReadOnlyList<FileVersion> versions, CancellationToken cancellationToken = default)
    {
        ValidateBatch(versions);
        return versions.Count == 0 ? [] : await CommitAsync(versions, null, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<FileVersion?> GetCurrentVersionAsync(string path, CancellationToken cancellationToken = default)
    {
        RequireCanonicalPath(path, allowRoot: false, nameof(path));
        return Single(await ReadVersionsAsync($"SELECT {PostgresVersionRow.Columns} FROM versions WHERE path = $1 AND is_current", cancellationToken, Of(path))
            .ConfigureAwait(false));
    }

    /// <inheritdoc />
    /// <remarks>
    /// A range of the "C" collation rather than LIKE ('%' and '_' in names are no wildcards): a path lies below "/a/b"
    /// exactly when it sorts in ["/a/b/", "/a/b0"), because '0' is the character after '/'.
    /// </remarks>
    public Task<IReadOnlyList<FileVersion>> ListCurrentVersionsAsync(string prefix, int limit, CancellationToken cancellationToken = default)
    {
        var root = RequireCanonicalPath(prefix, allowRoot: true, nameof(prefix)).IsRoot;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return root
            ? ReadVersionsAsync($"SELECT {PostgresVersionRow.Columns} FROM versions WHERE is_current ORDER BY path LIMIT $1", cancellationToken, Of((long)limit))
            : ReadVersionsAsync(
                $"""
                SELECT {PostgresVersionRow.Columns} FROM versions
                WHERE is_current AND (path = $1 OR (path >= $2 AND path < $3))
                ORDER BY path LIMIT $4
                """,
                cancellationToken,
                Of(prefix), Of(prefix + "/"), Of(prefix + "0"), Of((long)limit));
    }

    /// <inheritdoc />
    public async Task<IReadOnlySet<string>> ListReferencedObjectKeysAsync(CancellationToken cancellationToken = default) =>
        await QueryAsync<IReadOnlySet<string>>(
            "SELECT object_key, NULL::uuid FROM versions UNION ALL SELECT NULL, id FROM uploads WHERE state = 0",
            async (reader, token) =>
            {
                var keys = new HashSet<string>(StringComparer.Ordinal);
                while (await reader.ReadAsync(token).ConfigureAwait(false))
                {
                    keys.Add(reader.IsDBNull(0) ? reader.GetGuid(1).ToString("N") : reader.GetString(0));
                }

                return keys;
            },
            cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task<FileVersion?> DeleteCurrentVersionAsync(string path, CancellationToken cancellationToken = default)
    {
        RequireCanonicalPath(path, allowRoot: false, nameof(path));

        // Under the path's lock, as a commit: the two are ordered, so the delete removes what the commit left current (or
        // the commit finds nothing to replace), and a replaced version is never also returned as deleted.
        ObjectDisposedException.ThrowIf(_disposed, this);
        var deleted = await _database.InTransactionAsync(
            IsolationLevel.ReadCommitted,
            async (connection, transaction, token) =>
            {
                await using var batch = new NpgsqlBatch(connection, transaction);
                batch.BatchCommands.Add(Command(LockKeys, Of(PathLocks), Of(new[] { path })));
                batch.BatchCommands.Add(Command(
                    $"UPDATE versions SET is_current = false, deleted_at = $2 WHERE path = $1 AND is_current RETURNING {PostgresVersionRow.Columns}",
                    Of(path), Of(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())));
                await using var reader = await batch.ExecuteReaderAsync(token).ConfigureAwait(false);
                await reader.NextResultAsync(token).ConfigureAwait(false);
                return await reader.ReadAsync(token).ConfigureAwait(false) ? PostgresVersionRow.Read(reader) : null;
            },
            cancellationToken).ConfigureAwait(false);
        return deleted is null ? null : deleted with { IsCurrent = true };
    }

    /// <inheritdoc />
    public async Task<FileVersion?> FindByDigestAsync(string digest, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(digest);
        return Single(await ReadVersionsAsync(
            $"SELECT {PostgresVersionRow.Columns} FROM versions WHERE digest = $1 AND is_current ORDER BY seq DESC LIMIT 1",
            cancellationToken,
            Of(digest)).ConfigureAwait(false));
    }

    /// <inheritdoc />
    public async Task<FileVersion?> GetVersionAsync(Guid versionId, CancellationToken cancellationToken = default) =>
        Single(await ReadVersionsAsync(
            $"SELECT {PostgresVersionRow.Columns} FROM versions WHERE version_id = $1 AND deleted_at IS NULL",
            cancellationToken,
            Of(versionId)).ConfigureAwait(false));

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<Guid, FileVersion>> GetVersionsAsync(IReadOnlyCollection<Guid> versionIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(versionIds);
        if (versionIds.Count == 0)
        {
            return new Dictionary<Guid, FileVersion>();
        }

        var versions = await ReadVersionsAsync(
            $"SELECT {PostgresVersionRow.Columns} FROM versions WHERE version_id = ANY ($1) AND deleted_at IS NULL",
            cancellationToken,
            Of(versionIds.ToArray())).ConfigureAwait(false);
        return versions.ToDictionary(v => v.VersionId);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<FileVersion>> ListVersionsInStateAsync(ReleaseState state, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return ReadVersionsAsync(
            $"""
            SELECT {PostgresVersionRow.Columns} FROM versions
            WHERE release_state = $1 AND deleted_at IS NULL AND (is_current OR $2)
            ORDER BY seq LIMIT $3
            """,
            cancellationToken,
            Of(state.ToName()), Of(state == ReleaseState.Quarantined), Of((long)limit));
    }

    /// <inheritdoc />
    public async Task<bool> SetReleaseStateAsync(Guid versionId, ReleaseState expected, ReleaseStateChange change, CancellationToken cancellationToken = default)
    {
        ValidateChange(change);
        var decision = change.Decision;
        return await ExecuteAsync(
            """
            UPDATE versions
            SET release_state = $3, released_at = $4, approval_expires_at = $5, decision = $6, decided_by = $7, decision_reason = $8, decided_at = $9
            WHERE version_id = $1 AND release_state = $2 AND deleted_at IS NULL
            """,
            cancellationToken,
            Of(versionId), Of(expected.ToName()), Of(change.State.ToName()), Time(change.State == ReleaseState.Released ? change.At : null),
            Time(change.ApprovalExpiresAt), Text(decision?.Decision), Text(decision?.By), Text(decision?.Reason), Time(decision?.At)).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc />
    public async Task RecordVerdictsAsync(Guid versionId, IReadOnlyList<ScanVerdict> verdicts, DateTimeOffset scannedAt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(verdicts);
        if (verdicts.Count == 0)
        {
            return;
        }

        ObjectDisposedException.ThrowIf(_disposed, this);
        await _database.InTransactionAsync(
            IsolationLevel.ReadCommitted,
            async (connection, transaction, token) =>
            {
                await using var batch = new NpgsqlBatch(connection, transaction);
                AddVerdicts(batch, [(versionId, verdicts)], scannedAt);
                await batch.ExecuteNonQueryAsync(token).ConfigureAwait(false);
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<bool>> RecordVerdictsAndReleaseAsync(IReadOnlyList<(Guid VersionId, IReadOnlyList<ScanVerdict> Verdicts)> scans, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scans);
        if (scans.Count == 0)
        {
            return [];
        }

        foreach (var (_, verdicts) in scans)
        {
            ArgumentNullException.ThrowIfNull(verdicts, nameof(scans));
        }

        ObjectDisposedException.ThrowIf(_disposed, this);
        var ids = scans.Select(s => s.VersionId).ToArray();
        var released = await _database.InTransactionAsync(
            IsolationLevel.ReadCommitted,
            async (connection, transaction, token) =>
            {
                await using var batch = new NpgsqlBatch(connection, transaction);

                // First (its rows are the first result): the compare-and-set of SetReleaseStateAsync for all of them: pending-scan to released, expiry and decision cleared.
                batch.BatchCommands.Add(Command(
                    """
                    UPDATE versions
                    SET release_state = 'released', released_at = $2, approval_expires_at = NULL,
                        decision = NULL, decided_by = NULL, decision_reason = NULL, decided_at = NULL
                    WHERE version_id = ANY ($1) AND release_state = 'pending-scan' AND deleted_at IS NULL
                    RETURNING version_id
                    """,
                    Of(ids), Of(at.ToUnixTimeMilliseconds())));
                AddVerdicts(batch, scans, at);
                var set = new HashSet<Guid>();
                await using var reader = await batch.ExecuteReaderAsync(token).ConfigureAwait(false);
                while (await reader.ReadAsync(token).ConfigureAwait(false))
                {
                    set.Add(reader.GetGuid(0));
                }

                return set;
            },
            cancellationToken).ConfigureAwait(false);

        // A version named twice is released by its first scan (as one by one: the second finds it released).
        var result = new bool[scans.Count];
        for (var i = 0; i < scans.Count; i++)
        {
            result[i] = released.Remove(scans[i].VersionId);
        }

        return result;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<RecordedVerdict>> ListVerdictsAsync(Guid versionId, CancellationToken cancellationToken = default) =>
        QueryAsync<IReadOnlyList<RecordedVerdict>>(
            $"SELECT {VerdictColumns} FROM scan_verdicts WHERE version_id = $1 ORDER BY seq",
            async (reader, token) =>
            {
                var verdicts = new List<RecordedVerdict>();
                while (await reader.ReadAsync(token).ConfigureAwait(false))
                {
                    verdicts.Add(new RecordedVerdict(
                        reader.GetInt32(0),
                        new ScanVerdict(
                            reader.GetString(1),
                            reader.GetString(2),
                            ParseOutcome(reader.GetString(3)),
                            reader.IsDBNull(4) ? null : reader.GetString(4),
                            reader.IsDBNull(5) ? null : reader.GetString(5)),
                        PostgresVersionRow.Time(reader.GetInt64(6))));
                }

                return verdicts;
            },
            cancellationToken,
            Of(versionId));

    /// <inheritdoc />
    public Task<FileVersion?> DeleteVersionAsync(Guid versionId, ReleaseState expected, CancellationToken cancellationToken = default) =>
        // One statement: the row is locked and re-checked (not deleted, in the expected state), so one of two deleters wins;
        // the version comes back as it was, current or not.
        QueryAsync<FileVersion?>(
            $"""
            UPDATE versions v SET is_current = false, deleted_at = $3
            FROM (SELECT seq, is_current AS was_current FROM versions
                  WHERE version_id = $1 AND release_state = $2 AND deleted_at IS NULL FOR UPDATE) AS old
            WHERE v.seq = old.seq
            RETURNING {PostgresVersionRow.ColumnsOf("v")}, old.was_current
            """,
            async (reader, token) => await reader.ReadAsync(token).ConfigureAwait(false)
                ? PostgresVersionRow.Read(reader) with { IsCurrent = reader.GetBoolean(PostgresVersionRow.Count) }
                : null,
            cancellationToken,
            Of(versionId), Of(expected.ToName()), Of(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));

    /// <summary>Marks the store disposed; the database and its pool are the composition's and stay open.</summary>
    public ValueTask DisposeAsync()
    {
        _disposed = true;
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Commits <paramref name="versions"/> (different paths, checked) in one transaction, completing <paramref name="uploadId"/>
    /// when given: two round trips for the reads and the writes, whatever the number of versions.
    /// </summary>
    private async Task<IReadOnlyList<FileVersion?>> CommitAsync(IReadOnlyList<FileVersion> versions, Guid? uploadId, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var paths = versions.Select(v => v.Path).ToArray();
        var ids = versions.Select(v => v.VersionId).ToArray();
        try
        {
            return await _database.InTransactionAsync(
                IsolationLevel.ReadCommitted,
                async (connection, transaction, token) =>
                {
                    // Reads, after the path locks: whether an id is taken, the upload, the current versions (locked).
                    Guid? taken = null;
                    (string Path, UploadState State)? upload = null;
                    var current = new Dictionary<string, FileVersion>(StringComparer.Ordinal);
                    await using (var reads = new NpgsqlBatch(connection, transaction))
                    {
                        reads.BatchCommands.Add(Command(LockKeys, Of(PathLocks), Of(paths)));
                        reads.BatchCommands.Add(Command("SELECT version_id FROM versions WHERE version_id = ANY ($1) LIMIT 1", Of(ids)));
                        reads.BatchCommands.Add(Command(
                            $"SELECT {PostgresVersionRow.Columns} FROM versions WHERE path = ANY ($1) AND is_current FOR UPDATE", Of(paths)));
                        if (uploadId is { } id)
                        {
                            reads.BatchCommands.Add(Command("SELECT path, state FROM uploads WHERE id = $1 FOR UPDATE", Of(id)));
                        }

                        await using var reader = await reads.ExecuteReaderAsync(token).ConfigureAwait(false);
                        await reader.NextResultAsync(token).ConfigureAwait(false);
                        if (await reader.ReadAsync(token).ConfigureAwait(false))
                        {
                            taken = reader.GetGuid(0);
                        }

                        await reader.NextResultAsync(token).ConfigureAwait(false);
                        while (await reader.ReadAsync(token).ConfigureAwait(false))
                        {
                            var version = PostgresVersionRow.Read(reader);
                            current[version.Path] = version;
                        }

                        if (uploadId is not null)
                        {
                            await reader.NextResultAsync(token).ConfigureAwait(false);
                            if (await reader.ReadAsync(token).ConfigureAwait(false))
                            {
                                upload = (reader.GetString(0), (UploadState)reader.GetInt16(1));
                            }
                        }
                    }

                    if (taken is { } existing)
                    {
                        throw VersionExists(versions.First(v => v.VersionId == existing));
                    }

                    if (uploadId is { } checkedId)
                    {
                        var (uploadPath, state) = upload ?? throw UploadNotFound(checkedId);
                        if (state != UploadState.Open)
                        {
                            throw UploadNotOpen(checkedId, state, $"cannot be committed as '{versions[0].Path}'");
                        }

                        if (!string.Equals(uploadPath, versions[0].Path, StringComparison.Ordinal))
                        {
                            throw PathMismatch(checkedId, uploadPath, versions[0].Path);
                        }
                    }

                    await using (var writes = new NpgsqlBatch(connection, transaction))
                    {
                        if (current.Count > 0)
                        {
                            writes.BatchCommands.Add(Command("UPDATE versions SET is_current = false WHERE path = ANY ($1) AND is_current", Of(current.Keys.ToArray())));
                        }

                        writes.BatchCommands.Add(InsertVersions(versions, uploadId));
                        if (uploadId is { } completed)
                        {
                            writes.BatchCommands.Add(Command("UPDATE uploads SET state = 1 WHERE id = $1", Of(completed)));
                        }

                        await writes.ExecuteNonQueryAsync(token).ConfigureAwait(false);
                    }

                    return (IReadOnlyList<FileVersion?>)[.. versions.Select(v => current.GetValueOrDefault(v.Path))];
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException e) when (e.SqlState == PostgresDatabase.UniqueViolation && e.ConstraintName == VersionIdConstraint)
        {
            // Another node committed the same id between the check and the insert; nothing of this transaction stays.
            throw new MetadataException(MetadataError.VersionExists, $"A version of this commit ({string.Join(", ", ids.Take(3))}…) is already committed.", e);
        }
    }

    /// <summary>One INSERT of every version from arrays (unnest), in the given order, so their sequence numbers follow it.</summary>
    private static NpgsqlBatchCommand InsertVersions(IReadOnlyList<FileVersion> versions, Guid? uploadId) => Command(
        """
        INSERT INTO versions (version_id, path, size, chunk_size, digest, sha256, object_key, committed_at, upload_id, is_current,
                              release_state, uploaded_by, released_at, origin_site, origin_path, origin_time, origin_digest, correlation_id)
        SELECT id, path, size, chunk_size, digest, sha256, object_key, committed_at, $17, true,
               release_state, uploaded_by, released_at, origin_site, origin_path, origin_time, origin_digest, correlation_id
        FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::integer[], $5::text[], $6::text[], $7::text[], $8::bigint[],
                    $9::text[], $10::text[], $11::bigint[], $12::text[], $13::text[], $14::bigint[], $15::text[], $16::text[])
             WITH ORDINALITY AS v (id, path, size, chunk_size, digest, sha256, object_key, committed_at, release_state, uploaded_by,
                                   released_at, origin_site, origin_path, origin_time, origin_digest, correlation_id, n)
        ORDER BY n
        """,
        Of(versions.Select(v => v.VersionId).ToArray()),
        Of(versions.Select(v => v.Path).ToArray()),
        Of(versions.Select(v => v.Size).ToArray()),
        Of(versions.Select(v => v.ChunkSize).ToArray()),
        Of(versions.Select(v => v.Digest).ToArray()),
        Of(versions.Select(v => v.Sha256).ToArray()),
        Of(versions.Select(v => v.ObjectKey).ToArray()),
        Of(versions.Select(v => v.CommittedAt.ToUnixTimeMilliseconds()).ToArray()),
        Of(versions.Select(v => v.State.ToName()).ToArray()),
        Of(versions.Select(v => v.UploadedBy).ToArray()),
        Of(versions.Select(v => v.State == ReleaseState.Released ? (v.ReleasedAt ?? v.CommittedAt).ToUnixTimeMilliseconds() : (long?)null).ToArray()),
        Of(versions.Select(v => v.Origin?.Site).ToArray()),
        Of(versions.Select(v => v.Origin?.Path).ToArray()),
        Of(versions.Select(v => v.Origin?.Time.ToUnixTimeMilliseconds()).ToArray()),
        Of(versions.Select(v => v.Origin?.Digest).ToArray()),
        Of(versions.Select(v => v.Origin?.CorrelationId).ToArray()),
        uploadId is { } u ? Of(u) : new NpgsqlParameter { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid, Value = DBNull.Value });

    /// <summary>
    /// Adds to <paramref name="batch"/> the per-version locks and one INSERT of every verdict, each after those its version
    /// has (positions counted under the lock, so two nodes appending to one version never collide).
    /// </summary>
    private static void AddVerdicts(NpgsqlBatch batch, IReadOnlyList<(Guid VersionId, IReadOnlyList<ScanVerdict> Verdicts)> scans, DateTimeOffset scannedAt)
    {
        var ids = new List<Guid>();
        var positions = new List<int>();
        var scanners = new List<string>();
        var scannerVersions = new List<string>();
        var outcomes = new List<string>();
        var findings = new List<string?>();
        var details = new List<string?>();
        var counted = new Dictionary<Guid, int>();
        foreach (var (versionId, verdicts) in scans)
        {
            foreach (var verdict in verdicts)
            {
                ArgumentNullException.ThrowIfNull(verdict, nameof(scans));
                var position = counted.GetValueOrDefault(versionId);
                counted[versionId] = position + 1;
                ids.Add(versionId);
                positions.Add(position);
                scanners.Add(verdict.Scanner);
                scannerVersions.Add(verdict.ScannerVersion);
                outcomes.Add(OutcomeText(verdict.Outcome));
                findings.Add(verdict.Finding);
                details.Add(verdict.Detail);
            }
        }

        if (ids.Count == 0)
        {
            return;
        }

        batch.BatchCommands.Add(Command(LockKeys, Of(VerdictLocks), Of(counted.Keys.Select(id => id.ToString("D")).ToArray())));
        batch.BatchCommands.Add(Command(
            """
            INSERT INTO scan_verdicts (version_id, seq, scanner, scanner_version, outcome, finding, detail, scanned_at)
            SELECT v.id, coalesce(recorded.next, 0) + v.n, v.scanner, v.scanner_version, v.outcome, v.finding, v.detail, $8
            FROM unnest($1::uuid[], $2::integer[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
                 AS v (id, n, scanner, scanner_version, outcome, finding, detail)
            LEFT JOIN (SELECT version_id, max(seq) + 1 AS next FROM scan_verdicts WHERE version_id = ANY ($1) GROUP BY version_id) AS recorded
                 ON recorded.version_id = v.id
            """,
            Of(ids.ToArray()), Of(positions.ToArray()), Of(scanners.ToArray()), Of(scannerVersions.ToArray()), Of(outcomes.ToArray()),
            Of(findings.ToArray()), Of(details.ToArray()), Of(scannedAt.ToUnixTimeMilliseconds())));
    }

    private static FileVersion? Single(IReadOnlyList<FileVersion> versions) => versions.Count == 0 ? null : versions[0];

    private Task<IReadOnlyList<FileVersion>> ReadVersionsAsync(string sql, CancellationToken cancellationToken, params NpgsqlParameter[] parameters) =>
        QueryAsync<IReadOnlyList<FileVersion>>(
            sql,
            async (reader, token) =>
            {
                var versions = new List<FileVersion>();
                while (await reader.ReadAsync(token).ConfigureAwait(false))
                {
                    versions.Add(PostgresVersionRow.Read(reader));
                }

                return versions;
            },
            cancellationToken,
            parameters);

    private Task<IReadOnlyList<UploadSession>> ReadUploadsAsync(string sql, CancellationToken cancellationToken, params NpgsqlParameter[] parameters) =>
        QueryAsync<IReadOnlyList<UploadSession>>(
            sql,
            async (reader, token) =>
            {
                var uploads = new List<UploadSession>();
                while (await reader.ReadAsync(token).ConfigureAwait(false))
                {
                    uploads.Add(new UploadSession(
                        reader.GetGuid(0),
                        reader.GetString(1),
                        reader.GetInt64(2),
                        reader.GetInt32(3),
                        reader.GetString(4),
                        reader.IsDBNull(5) ? null : reader.GetString(5),
                        reader.GetString(6),
                        PostgresVersionRow.Time(reader.GetInt64(7)),
                        PostgresVersionRow.Time(reader.GetInt64(8)),
                        (UploadState)reader.GetInt16(9))
                    {
                        OpenedBy = reader.IsDBNull(10) ? null : reader.GetString(10),
                        Origin = PostgresVersionRow.ReadOrigin(reader, 11),
                    });
                }

                return uploads;
            },
            cancellationToken,
            parameters);

    /// <summary>One statement on a connection of its own (autocommit): one round trip.</summary>
    private Task<T> QueryAsync<T>(string sql, Func<NpgsqlDataReader, CancellationToken, Task<T>> read, CancellationToken cancellationToken, params NpgsqlParameter[] parameters)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _database.QueryAsync(sql, read, cancellationToken, parameters);
    }

    /// <summary>One statement without rows to read; returns the rows it changed.</summary>
    private Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params NpgsqlParameter[] parameters)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _database.ExecuteStatementAsync(sql, cancellationToken, parameters);
    }
}
