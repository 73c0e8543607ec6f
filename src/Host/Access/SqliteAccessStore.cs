using Microsoft.Data.Sqlite;
using TurboMft.Engine.Storage;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Access;

/// <summary>Settings of the access store.</summary>
public sealed record AccessStoreOptions
{
    /// <summary>PBKDF2 iterations for new password hashes; at least <see cref="PasswordHasher.DefaultIterations"/>.</summary>
    public int PasswordIterations { get; init; } = PasswordHasher.DefaultIterations;

    /// <summary>A PEM bundle of the CA(s) that issue peers' client certificates; null: peers only by pinned fingerprint.</summary>
    public string? ClientCaFile { get; init; }

    /// <summary>The clock (expiry, last-used times, certificate validity).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>
    /// The SHA-256 (<see cref="ApiTokens.Hash"/>) of the first-start admin token a new store is seeded with as
    /// <see cref="ApiTokens.AdminTokenId"/>, for a provider without a data directory of its own (PostgreSQL, where the node that
    /// creates the schema seeds it); null: no admin user is seeded. The SQLite provider reads <c>DIR/admin.token</c> instead.
    /// </summary>
    public byte[]? AdminTokenSha256 { get; init; }
}

/// <summary>
/// The embedded provider of <see cref="IAccessStore"/>: users, API tokens, roles, grants and peers in their own SQLite
/// database, <c>DIR/access.db</c> (0600, WAL, STRICT tables). It answers plain reads; whether a credential holds is decided
/// above it, by <see cref="AccessAuthenticator"/> (docs/security.md). Thread-safe; every call takes a pooled connection of its own. Changes go through
/// <see cref="AccessAdministration"/>, which checks the rules and audits them.
/// </summary>
/// <remarks>
/// <para>
/// Times are INTEGER Unix milliseconds, UTC. Permissions are the INTEGER bits of <see cref="Permission"/>. Areas are canonical
/// <see cref="RemotePath"/> text; a token's scope areas are joined by newlines (a remote path has no control characters).
/// Fingerprints are <c>sha256:</c> and 64 lower-case hex digits, as <see cref="TlsCertificate.Fingerprint"/> prints them.
/// </para>
/// </remarks>
public sealed class SqliteAccessStore : IAccessStore
{
    /// <summary>The database file's name in the data directory.</summary>
    public const string FileName = "access.db";

    /// <summary>The schema version this build creates and reads.</summary>
    public const int SchemaVersion = 3;

    // Index i migrates from version i to i + 1; append, never edit a shipped entry.
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE users (
            name                TEXT    NOT NULL PRIMARY KEY,
            enabled             INTEGER NOT NULL CHECK (enabled IN (0, 1)),
            password_hash       BLOB    CHECK (password_hash IS NULL OR length(password_hash) = 32),
            password_salt       BLOB    CHECK (password_salt IS NULL OR length(password_salt) = 16),
            password_iterations INTEGER CHECK (password_iterations IS NULL OR password_iterations > 0),
            created_at          INTEGER NOT NULL,
            source              TEXT    NOT NULL CHECK (source IN ('local', 'policy')),
            CHECK ((password_hash IS NULL) = (password_salt IS NULL) AND (password_hash IS NULL) = (password_iterations IS NULL))
        ) STRICT;

        CREATE TABLE tokens (
            id                TEXT    NOT NULL PRIMARY KEY,
            user_name         TEXT    NOT NULL REFERENCES users (name) ON DELETE CASCADE,
            label             TEXT,
            secret_sha256     BLOB    NOT NULL UNIQUE CHECK (length(secret_sha256) = 32),
            created_at        INTEGER NOT NULL,
            expires_at        INTEGER,
            revoked_at        INTEGER,
            last_used_at      INTEGER,
            scope_permissions INTEGER NOT NULL CHECK (scope_permissions > 0),
            scope_areas       TEXT
        ) STRICT;
        CREATE INDEX tokens_by_user ON tokens (user_name);

        CREATE TABLE roles (
            name        TEXT    NOT NULL PRIMARY KEY,
            permissions INTEGER NOT NULL CHECK (permissions > 0),
            builtin     INTEGER NOT NULL CHECK (builtin IN (0, 1)),
            source      TEXT    NOT NULL CHECK (source IN ('local', 'policy'))
        ) STRICT;

        CREATE TABLE peers (
            name        TEXT    NOT NULL PRIMARY KEY,
            fingerprint TEXT    UNIQUE,
            common_name TEXT    UNIQUE,
            enabled     INTEGER NOT NULL CHECK (enabled IN (0, 1)),
            created_at  INTEGER NOT NULL,
            source      TEXT    NOT NULL CHECK (source IN ('local', 'policy')),
            CHECK ((fingerprint IS NULL) <> (common_name IS NULL))
        ) STRICT;

        CREATE TABLE bindings (
            principal_kind TEXT NOT NULL CHECK (principal_kind IN ('user', 'peer')),
            principal_name TEXT NOT NULL,
            role           TEXT NOT NULL REFERENCES roles (name),
            area           TEXT NOT NULL,
            source         TEXT NOT NULL CHECK (source IN ('local', 'policy')),
            PRIMARY KEY (principal_kind, principal_name, role, area)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX bindings_by_role ON bindings (role);
        """,
        """
        -- The metrics permission (128) joined the set: what held every permission (127, "all") before holds it too.
        UPDATE roles SET permissions = 255 WHERE permissions = 127;
        UPDATE tokens SET scope_permissions = 255 WHERE scope_permissions = 127;
        """,

        // 3: outbound peers for replication (docs/replication.md): a peer may have an inbound identity (fingerprint or CN),
        // an outbound address with its server trust and credential, or both. SQLite cannot drop a CHECK, so the table is rebuilt.
        """
        CREATE TABLE peers_v2 (
            name         TEXT    NOT NULL PRIMARY KEY,
            fingerprint  TEXT    UNIQUE,
            common_name  TEXT    UNIQUE,
            enabled      INTEGER NOT NULL CHECK (enabled IN (0, 1)),
            created_at   INTEGER NOT NULL,
            source       TEXT    NOT NULL CHECK (source IN ('local', 'policy')),
            url          TEXT,
            server_pin   TEXT,
            server_ca    TEXT,
            credential   TEXT    CHECK (credential IS NULL OR credential IN ('mtls', 'token')),
            token_sealed BLOB,
            CHECK (NOT (fingerprint IS NOT NULL AND common_name IS NOT NULL)),
            CHECK (fingerprint IS NOT NULL OR common_name IS NOT NULL OR url IS NOT NULL),
            CHECK ((url IS NULL) = (credential IS NULL)),
            CHECK ((credential = 'token') = (token_sealed IS NOT NULL))
        ) STRICT;
        INSERT INTO peers_v2 (name, fingerprint, common_name, enabled, created_at, source)
            SELECT name, fingerprint, common_name, enabled, created_at, source FROM peers;
        DROP TABLE peers;
        ALTER TABLE peers_v2 RENAME TO peers;
        """,
    ];

    private readonly string _connectionString;
    private readonly AccessStoreOptions _options;
    private volatile bool _disposed;

    private SqliteAccessStore(string databasePath, AccessStoreOptions options)
    {
        DatabasePath = databasePath;
        _options = options;
        _connectionString = SqliteSchema.ConnectionString(databasePath);
    }

    /// <summary>The database file (absolute).</summary>
    public string DatabasePath { get; }

    /// <inheritdoc />
    public AccessStoreOptions Options => _options;

    /// <summary>
    /// Opens <c>access.db</c> in <paramref name="data"/>, creating it (0600) with the schema when missing. On creation it seeds
    /// the built-in roles and, from <c>DIR/admin.token</c>, the user <c>admin</c> holding role admin on "/" and the token
    /// <see cref="ApiTokens.AdminTokenId"/> (valid until revoked) — also for a data directory made before access control existed.
    /// </summary>
    /// <exception cref="ArgumentException">The options cannot work (too few iterations).</exception>
    public static async Task<SqliteAccessStore> OpenAsync(DataDirectory data, AccessStoreOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        options ??= new AccessStoreOptions();
        PasswordHasher.ValidateIterations(options.PasswordIterations);
        var databasePath = data.AccessPath;
        SqliteSchema.CreatePrivateFile(databasePath);
        var store = new SqliteAccessStore(databasePath, options);
        try
        {
            await store.MigrateAsync(data, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return store;
    }

    /// <inheritdoc />
    public async Task<StoredToken?> FindTokenAsync(byte[] secretSha256, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(secretSha256);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT t.id, t.user_name, t.secret_sha256, t.expires_at, t.revoked_at, t.scope_permissions, t.scope_areas, u.enabled
            FROM tokens t JOIN users u ON u.name = t.user_name
            WHERE t.secret_sha256 = $hash
            """;
        command.Parameters.AddWithValue("$hash", secretSha256);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        return new StoredToken(
            reader.GetString(0),
            reader.GetString(1),
            (byte[])reader.GetValue(2),
            reader.IsDBNull(3) ? null : FromUnixMilliseconds(reader.GetInt64(3)),
            reader.IsDBNull(4) ? null : FromUnixMilliseconds(reader.GetInt64(4)),
            (Permission)reader.GetInt64(5),
            ParseAreas(reader.IsDBNull(6) ? null : reader.GetString(6)),
            reader.GetInt64(7) == 1);
    }

    /// <inheritdoc />
    public async Task RecordTokenUseAsync(string id, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        var now = at.ToUnixTimeMilliseconds();
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE tokens SET last_used_at = $now WHERE id = $id AND (last_used_at IS NULL OR last_used_at < $now)";
        command.Parameters.AddWithValue("$now", now);
        command.Parameters.AddWithValue("$id", id);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task<StoredPeer?> FindPeerByFingerprintAsync(string fingerprint, CancellationToken cancellationToken = default) =>
        FindPeerAsync("SELECT name, fingerprint, enabled FROM peers WHERE fingerprint = $value", fingerprint, cancellationToken);

    /// <inheritdoc />
    public Task<StoredPeer?> FindPeerByCommonNameAsync(string commonName, CancellationToken cancellationToken = default) =>
        FindPeerAsync("SELECT name, common_name, enabled FROM peers WHERE common_name = $value", commonName, cancellationToken);

    /// <inheritdoc />
    public async Task<StoredCredential?> GetCredentialAsync(string user, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(user);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT enabled, password_hash, password_salt, password_iterations FROM users WHERE name = $name";
        command.Parameters.AddWithValue("$name", user);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        var password = reader.IsDBNull(1) ? null : new PasswordHash((byte[])reader.GetValue(1), (byte[])reader.GetValue(2), (int)reader.GetInt64(3));
        return new StoredCredential(reader.GetInt64(0) == 1, password);
    }

    /// <inheritdoc />
    public Task<AccessGrants> GrantsForUserAsync(string name, CancellationToken cancellationToken = default) =>
        GrantsForAsync(PrincipalKind.User, name, cancellationToken);

    /// <inheritdoc />
    public Task<AccessGrants> GrantsForPeerAsync(string name, CancellationToken cancellationToken = default) =>
        GrantsForAsync(PrincipalKind.Peer, name, cancellationToken);

    /// <inheritdoc />
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

    /// <inheritdoc />
    /// <remarks>BEGIN IMMEDIATE: SQLite takes the write lock at the start, so concurrent write transactions queue.</remarks>
    public async Task<T> WriteAsync<T>(Func<IAccessTransaction, Task<T>> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = connection.BeginTransaction(deferred: false);
        var result = await work(new SqliteAccessTransaction(connection, transaction, _options, cancellationToken)).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<UserInfo>> ListUsersAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var grants = await ReadAssignmentsAsync(connection, PrincipalKind.User, cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT name, enabled, password_hash IS NOT NULL, created_at, source FROM users ORDER BY name";
        var users = new List<UserInfo>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var name = reader.GetString(0);
            users.Add(new UserInfo(
                name,
                reader.GetInt64(1) == 1,
                reader.GetInt64(2) == 1,
                FromUnixMilliseconds(reader.GetInt64(3)),
                ParseSource(reader.GetString(4)),
                grants.TryGetValue(name, out var roles) ? roles : []));
        }

        return users;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<TokenInfo>> ListTokensAsync(string? user, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT id, user_name, label, created_at, expires_at, revoked_at, last_used_at, scope_permissions, scope_areas
            FROM tokens WHERE $user IS NULL OR user_name = $user ORDER BY created_at DESC, id
            """;
        command.Parameters.AddWithValue("$user", (object?)user ?? DBNull.Value);
        var tokens = new List<TokenInfo>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            tokens.Add(new TokenInfo(
                reader.GetString(0),
                reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetString(2),
                FromUnixMilliseconds(reader.GetInt64(3)),
                reader.IsDBNull(4) ? null : FromUnixMilliseconds(reader.GetInt64(4)),
                reader.IsDBNull(5) ? null : FromUnixMilliseconds(reader.GetInt64(5)),
                reader.IsDBNull(6) ? null : FromUnixMilliseconds(reader.GetInt64(6)),
                (Permission)reader.GetInt64(7),
                ParseAreas(reader.IsDBNull(8) ? null : reader.GetString(8))));
        }

        return tokens;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<AccessRole>> ListRolesAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT name, permissions, builtin, source FROM roles ORDER BY builtin DESC, name";
        var roles = new List<AccessRole>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            roles.Add(new AccessRole(reader.GetString(0), (Permission)reader.GetInt64(1), reader.GetInt64(2) == 1, ParseSource(reader.GetString(3))));
        }

        return roles;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<GrantInfo>> ListGrantsAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT principal_kind, principal_name, role, area, source FROM bindings ORDER BY principal_kind DESC, principal_name, area, role";
        var grants = new List<GrantInfo>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            grants.Add(new GrantInfo(
                new RoleBinding(ParseKind(reader.GetString(0)), reader.GetString(1), reader.GetString(2), RemotePath.Parse(reader.GetString(3), allowRoot: true)),
                ParseSource(reader.GetString(4))));
        }

        return grants;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<PeerInfo>> ListPeersAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var grants = await ReadAssignmentsAsync(connection, PrincipalKind.Peer, cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT name, fingerprint, common_name, enabled, created_at, source, url, server_pin, server_ca, credential, token_sealed FROM peers ORDER BY name";
        var peers = new List<PeerInfo>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var name = reader.GetString(0);
            peers.Add(new PeerInfo(
                name,
                reader.IsDBNull(1) ? null : reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.GetInt64(3) == 1,
                FromUnixMilliseconds(reader.GetInt64(4)),
                ParseSource(reader.GetString(5)),
                grants.TryGetValue(name, out var roles) ? roles : [])
            {
                Outbound = ReadOutbound(reader, 6),
            });
        }

        return peers;
    }

    /// <inheritdoc />
    public async Task<PeerOutbound?> GetOutboundPeerAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT url, server_pin, server_ca, credential, token_sealed FROM peers WHERE name = $name AND enabled = 1";
        command.Parameters.AddWithValue("$name", name);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadOutbound(reader, 0) : null;
    }

    private static PeerOutbound? ReadOutbound(SqliteDataReader reader, int first) => reader.IsDBNull(first)
        ? null
        : new PeerOutbound(
            new Uri(reader.GetString(first)),
            reader.IsDBNull(first + 1) ? null : reader.GetString(first + 1),
            reader.IsDBNull(first + 2) ? null : reader.GetString(first + 2),
            reader.GetString(first + 3) == PeerOutbound.TokenCredential ? PeerCredential.Token : PeerCredential.Mtls,
            reader.IsDBNull(first + 4) ? null : (byte[])reader.GetValue(first + 4));

    internal static string KindText(PrincipalKind kind) => kind == PrincipalKind.User ? "user" : "peer";

    internal static PrincipalKind ParseKind(string text) => text == "user" ? PrincipalKind.User : PrincipalKind.Peer;

    internal static string SourceText(AccessSource source) => source == AccessSource.Policy ? "policy" : "local";

    internal static AccessSource ParseSource(string text) => text == "policy" ? AccessSource.Policy : AccessSource.Local;

    internal static string? AreasText(IReadOnlyList<RemotePath>? areas) => areas is null ? null : string.Join('\n', areas.Select(a => a.Value));

    internal static DateTimeOffset FromUnixMilliseconds(long milliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);

    private static IReadOnlyList<RemotePath>? ParseAreas(string? text) =>
        text is null ? null : [.. text.Split('\n').Select(a => RemotePath.Parse(a, allowRoot: true))];

    private async Task<AccessGrants> GrantsForAsync(PrincipalKind kind, string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await ReadGrantsAsync(connection, kind, name, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<AccessGrants> ReadGrantsAsync(SqliteConnection connection, PrincipalKind kind, string name, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT b.area, r.permissions FROM bindings b JOIN roles r ON r.name = b.role
            WHERE b.principal_kind = $kind AND b.principal_name = $name
            """;
        command.Parameters.AddWithValue("$kind", KindText(kind));
        command.Parameters.AddWithValue("$name", name);
        var grants = new List<AccessGrant>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            grants.Add(new AccessGrant(RemotePath.Parse(reader.GetString(0), allowRoot: true), (Permission)reader.GetInt64(1)));
        }

        return grants.Count == 0 ? AccessGrants.None : new AccessGrants(grants);
    }

    private static async Task<Dictionary<string, IReadOnlyList<RoleAssignment>>> ReadAssignmentsAsync(SqliteConnection connection, PrincipalKind kind, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT principal_name, role, area FROM bindings WHERE principal_kind = $kind ORDER BY principal_name, area, role";
        command.Parameters.AddWithValue("$kind", KindText(kind));
        var byName = new Dictionary<string, IReadOnlyList<RoleAssignment>>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var name = reader.GetString(0);
            if (!byName.TryGetValue(name, out var list))
            {
                list = new List<RoleAssignment>();
                byName[name] = list;
            }

            ((List<RoleAssignment>)list).Add(new RoleAssignment(reader.GetString(1), RemotePath.Parse(reader.GetString(2), allowRoot: true)));
        }

        return byName;
    }

    private async Task<StoredPeer?> FindPeerAsync(string sql, string value, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(value);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$value", value);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? new StoredPeer(reader.GetString(0), reader.GetString(1), reader.GetInt64(2) == 1)
            : null;
    }

    private async Task MigrateAsync(DataDirectory data, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await SqliteSchema.MigrateAsync(
            connection,
            $"access database '{DatabasePath}'",
            Migrations,
            current => new IOException($"The access database '{DatabasePath}' has schema version {current}, newer than this build's {SchemaVersion}; run a newer TurboMft."),
            async (transaction, current) =>
            {
                // A new database gets the built-in roles and the first-start admin token, in the same transaction; an older
                // one the built-in roles added since (monitor).
                var access = new SqliteAccessTransaction(connection, transaction, _options, cancellationToken);
                if (current == 0)
                {
                    await access.SeedAsync(File.Exists(data.AdminTokenPath) ? data.ReadAdminToken() : null).ConfigureAwait(false);
                }
                else
                {
                    await access.AddBuiltInRolesAsync(DatabasePath).ConfigureAwait(false);
                }
            },
            cancellationToken).ConfigureAwait(false);
    }

    // Access changes are rare and must survive power loss; FULL syncs the WAL on every commit.
    private Task<SqliteConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return SqliteSchema.OpenAsync(_connectionString, "FULL", cancellationToken);
    }
}
