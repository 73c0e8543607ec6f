using System.Data;
using Npgsql;
using TurboMft.Engine.Storage;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Access;

/// <summary>
/// The provider of <see cref="IAccessStore"/> for several nodes on one PostgreSQL database (docs/cluster.md): users, API
/// tokens, roles, grants and peers in tables of their own, schema version in <c>access_schema_version</c>. It stands on the
/// shared <see cref="PostgresDatabase"/> (which it does not own), keeps no cache (another node's change is seen by the next
/// read) and answers plain reads; whether a credential holds is decided above it, by <see cref="AccessAuthenticator"/>.
/// Thread-safe; every call takes a pooled connection of its own.
/// </summary>
/// <remarks>
/// <para>
/// Concurrency between nodes. Every <see cref="WriteAsync{T}"/> is one READ COMMITTED transaction whose first statement takes
/// the access store's advisory lock (<c>pg_advisory_xact_lock</c>, the key its migrations take): write transactions of all
/// nodes run one at a time, as the port promises, and every statement after the lock sees every write committed before it.
/// So a rule checked inside one (never zero enabled admins on "/", a name taken) holds between nodes, and no transaction is
/// refused for a serialization failure and run again: <see cref="AccessAdministration"/> appends its durable audit record
/// inside the work, which a second run would repeat. (REPEATABLE READ or SERIALIZABLE would take their snapshot before the
/// lock is granted.) Reads take no lock: a token lookup is one indexed statement. <see cref="RecordTokenUseAsync"/> is one
/// conditional <c>UPDATE</c> outside the lock (the time only moves forward). The seed commits with the schema, in the
/// migration's transaction, so of several nodes opening a new database exactly one seeds it.
/// </para>
/// <para>
/// Types as in <see cref="SqliteAccessStore"/>: times are <c>bigint</c> Unix milliseconds UTC, permissions the <c>bigint</c>
/// bits of <see cref="Permission"/>, names, ids and areas <c>text COLLATE "C"</c> (ordinal order), hashes <c>bytea</c> with
/// their lengths checked; flags are <c>boolean</c> and a token's scope areas a <c>text[]</c>. Nothing lives on a node's disk:
/// the first-start admin token arrives as its hash (<see cref="AccessStoreOptions.AdminTokenSha256"/>).
/// </para>
/// </remarks>
public sealed class PostgresAccessStore : IAccessStore
{
    /// <summary>The table holding this store's schema version.</summary>
    public const string VersionTable = "access_schema_version";

    /// <summary>The schema version this build creates and reads.</summary>
    public const int SchemaVersion = 1;

    // Index i migrates from version i to i + 1; append, never edit a shipped entry.
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE users (
            name                text COLLATE "C" NOT NULL PRIMARY KEY,
            enabled             boolean NOT NULL,
            password_hash       bytea   CHECK (password_hash IS NULL OR length(password_hash) = 32),
            password_salt       bytea   CHECK (password_salt IS NULL OR length(password_salt) = 16),
            password_iterations integer CHECK (password_iterations IS NULL OR password_iterations > 0),
            created_at          bigint  NOT NULL,
            source              text    NOT NULL CHECK (source IN ('local', 'policy')),
            CHECK ((password_hash IS NULL) = (password_salt IS NULL) AND (password_hash IS NULL) = (password_iterations IS NULL))
        );

        CREATE TABLE tokens (
            id                text COLLATE "C" NOT NULL PRIMARY KEY,
            user_name         text COLLATE "C" NOT NULL CONSTRAINT tokens_user_exists REFERENCES users (name) ON DELETE CASCADE,
            label             text,
            secret_sha256     bytea  NOT NULL CONSTRAINT tokens_secret_unique UNIQUE CHECK (length(secret_sha256) = 32),
            created_at        bigint NOT NULL,
            expires_at        bigint,
            revoked_at        bigint,
            last_used_at      bigint,
            scope_permissions bigint NOT NULL CHECK (scope_permissions > 0),
            scope_areas       text[] COLLATE "C" CHECK (scope_areas IS NULL OR cardinality(scope_areas) > 0)
        );
        CREATE INDEX tokens_by_user ON tokens (user_name);

        CREATE TABLE roles (
            name        text COLLATE "C" NOT NULL PRIMARY KEY,
            permissions bigint  NOT NULL CHECK (permissions > 0),
            builtin     boolean NOT NULL,
            source      text    NOT NULL CHECK (source IN ('local', 'policy'))
        );

        CREATE TABLE peers (
            name         text COLLATE "C" NOT NULL PRIMARY KEY,
            fingerprint  text COLLATE "C" CONSTRAINT peers_fingerprint_unique UNIQUE,
            common_name  text COLLATE "C" CONSTRAINT peers_common_name_unique UNIQUE,
            enabled      boolean NOT NULL,
            created_at   bigint  NOT NULL,
            source       text    NOT NULL CHECK (source IN ('local', 'policy')),
            url          text,
            server_pin   text,
            server_ca    text,
            credential   text    CHECK (credential IS NULL OR credential IN ('mtls', 'token')),
            token_sealed bytea,
            CHECK (NOT (fingerprint IS NOT NULL AND common_name IS NOT NULL)),
            CHECK (fingerprint IS NOT NULL OR common_name IS NOT NULL OR url IS NOT NULL),
            CHECK ((url IS NULL) = (credential IS NULL)),
            CHECK ((credential = 'token') = (token_sealed IS NOT NULL))
        );

        CREATE TABLE bindings (
            principal_kind text NOT NULL CHECK (principal_kind IN ('user', 'peer')),
            principal_name text COLLATE "C" NOT NULL,
            role           text COLLATE "C" NOT NULL CONSTRAINT bindings_role_exists REFERENCES roles (name),
            area           text COLLATE "C" NOT NULL,
            source         text NOT NULL CHECK (source IN ('local', 'policy')),
            PRIMARY KEY (principal_kind, principal_name, role, area)
        );
        CREATE INDEX bindings_by_role ON bindings (role);
        """,
    ];

    private readonly PostgresDatabase _database;
    private readonly AccessStoreOptions _options;
    private volatile bool _disposed;

    private PostgresAccessStore(PostgresDatabase database, AccessStoreOptions options)
    {
        _database = database;
        _options = options;
    }

    /// <inheritdoc />
    public AccessStoreOptions Options => _options;

    /// <summary>The advisory lock every write transaction (and every migration) of the access store takes first.</summary>
    internal static long WriteLockKey { get; } = PostgresDatabase.MigrationLockKey(VersionTable);

    /// <summary>
    /// Opens the access store in <paramref name="database"/>, creating or migrating its tables (one node at a time). A new
    /// store is seeded, in the same transaction, with the built-in roles and, when <see cref="AccessStoreOptions.AdminTokenSha256"/>
    /// is set, the user <c>admin</c> holding role admin on "/" and the token <see cref="ApiTokens.AdminTokenId"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The options cannot work (too few iterations, an admin token hash that is not 32 bytes).</exception>
    /// <exception cref="IOException">The schema is newer than this build (both versions named; nothing changed), or a custom role has a built-in role's name.</exception>
    /// <exception cref="StoreUnavailableException">The database cannot be reached.</exception>
    public static async Task<PostgresAccessStore> OpenAsync(PostgresDatabase database, AccessStoreOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(options);
        PasswordHasher.ValidateIterations(options.PasswordIterations);
        if (options.AdminTokenSha256 is { Length: not 32 })
        {
            throw new ArgumentException("AdminTokenSha256 must be the 32-byte SHA-256 of the admin token (ApiTokens.Hash).", nameof(options));
        }

        await database.MigrateAsync(
            VersionTable,
            Migrations,
            current => new IOException($"The access tables in PostgreSQL ({database.Description}) have schema version {current}, newer than this build's {SchemaVersion}; run a newer TurboMft."),
            async (connection, transaction, current, token) =>
            {
                var access = new PostgresAccessTransaction(connection, transaction, options, token);
                if (current == 0)
                {
                    await access.SeedAsync(options.AdminTokenSha256).ConfigureAwait(false);
                }
                else
                {
                    await access.AddBuiltInRolesAsync(database.Description).ConfigureAwait(false);
                }
            },
            cancellationToken).ConfigureAwait(false);
        return new PostgresAccessStore(database, options);
    }

    /// <inheritdoc />
    /// <remarks>One statement, by the unique index on the secret's hash.</remarks>
    public Task<StoredToken?> FindTokenAsync(byte[] secretSha256, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(secretSha256);
        return ReadAsync(
            """
            SELECT t.id, t.user_name, t.secret_sha256, t.expires_at, t.revoked_at, t.scope_permissions, t.scope_areas, u.enabled
            FROM tokens t JOIN users u ON u.name = t.user_name
            WHERE t.secret_sha256 = $1
            """,
            [Bytes(secretSha256)],
            async (reader, token) => await reader.ReadAsync(token).ConfigureAwait(false)
                ? new StoredToken(
                    reader.GetString(0),
                    reader.GetString(1),
                    reader.GetFieldValue<byte[]>(2),
                    Time(reader, 3),
                    Time(reader, 4),
                    (Permission)reader.GetInt64(5),
                    Areas(reader, 6),
                    reader.GetBoolean(7))
                : null,
            cancellationToken);
    }

    /// <inheritdoc />
    public Task RecordTokenUseAsync(string id, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        return CommandAsync(
            "UPDATE tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)",
            [Int64(at.ToUnixTimeMilliseconds()), Text(id)],
            (command, token) => command.ExecuteNonQueryAsync(token),
            cancellationToken);
    }

    /// <inheritdoc />
    public Task<StoredPeer?> FindPeerByFingerprintAsync(string fingerprint, CancellationToken cancellationToken = default) =>
        FindPeerAsync("SELECT name, fingerprint, enabled FROM peers WHERE fingerprint = $1", fingerprint, cancellationToken);

    /// <inheritdoc />
    public Task<StoredPeer?> FindPeerByCommonNameAsync(string commonName, CancellationToken cancellationToken = default) =>
        FindPeerAsync("SELECT name, common_name, enabled FROM peers WHERE common_name = $1", commonName, cancellationToken);

    /// <inheritdoc />
    public Task<StoredCredential?> GetCredentialAsync(string user, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(user);
        return ReadAsync(
            "SELECT enabled, password_hash, password_salt, password_iterations FROM users WHERE name = $1",
            [Text(user)],
            async (reader, token) => await reader.ReadAsync(token).ConfigureAwait(false)
                ? new StoredCredential(
                    reader.GetBoolean(0),
                    reader.IsDBNull(1) ? null : new PasswordHash(reader.GetFieldValue<byte[]>(1), reader.GetFieldValue<byte[]>(2), reader.GetInt32(3)))
                : null,
            cancellationToken);
    }

    /// <inheritdoc />
    public Task<AccessGrants> GrantsForUserAsync(string name, CancellationToken cancellationToken = default) =>
        GrantsForAsync(PrincipalKind.User, name, cancellationToken);

    /// <inheritdoc />
    public Task<AccessGrants> GrantsForPeerAsync(string name, CancellationToken cancellationToken = default) =>
        GrantsForAsync(PrincipalKind.Peer, name, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<UserInfo>> ListUsersAsync(CancellationToken cancellationToken = default) => ReadAsync<IReadOnlyList<UserInfo>>(
        """
        SELECT u.name, u.enabled, u.password_hash IS NOT NULL, u.created_at, u.source, b.role, b.area
        FROM users u LEFT JOIN bindings b ON b.principal_kind = 'user' AND b.principal_name = u.name
        ORDER BY u.name, b.area, b.role
        """,
        [],
        async (reader, token) =>
        {
            var users = new List<UserInfo>();
            List<RoleAssignment>? roles = null;
            while (await reader.ReadAsync(token).ConfigureAwait(false))
            {
                var name = reader.GetString(0);
                if (users.Count == 0 || users[^1].Name != name)
                {
                    roles = [];
                    users.Add(new UserInfo(name, reader.GetBoolean(1), reader.GetBoolean(2), FromUnixMilliseconds(reader.GetInt64(3)), ParseSource(reader.GetString(4)), roles));
                }

                if (!reader.IsDBNull(5))
                {
                    roles!.Add(new RoleAssignment(reader.GetString(5), RemotePath.Parse(reader.GetString(6), allowRoot: true)));
                }
            }

            return users;
        },
        cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<TokenInfo>> ListTokensAsync(string? user, CancellationToken cancellationToken = default)
    {
        const string Columns = "SELECT id, user_name, label, created_at, expires_at, revoked_at, last_used_at, scope_permissions, scope_areas FROM tokens";
        return ReadAsync<IReadOnlyList<TokenInfo>>(
            user is null ? $"{Columns} ORDER BY created_at DESC, id" : $"{Columns} WHERE user_name = $1 ORDER BY created_at DESC, id",
            user is null ? [] : [Text(user)],
            async (reader, token) =>
            {
                var tokens = new List<TokenInfo>();
                while (await reader.ReadAsync(token).ConfigureAwait(false))
                {
                    tokens.Add(new TokenInfo(
                        reader.GetString(0),
                        reader.GetString(1),
                        reader.IsDBNull(2) ? null : reader.GetString(2),
                        FromUnixMilliseconds(reader.GetInt64(3)),
                        Time(reader, 4),
                        Time(reader, 5),
                        Time(reader, 6),
                        (Permission)reader.GetInt64(7),
                        Areas(reader, 8)));
                }

                return tokens;
            },
            cancellationToken);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<AccessRole>> ListRolesAsync(CancellationToken cancellationToken = default) => ReadAsync<IReadOnlyList<AccessRole>>(
        "SELECT name, permissions, builtin, source FROM roles ORDER BY builtin DESC, name",
        [],
        async (reader, token) =>
        {
            var roles = new List<AccessRole>();
            while (await reader.ReadAsync(token).ConfigureAwait(false))
            {
                roles.Add(ReadRole(reader));
            }

            return roles;
        },
        cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<GrantInfo>> ListGrantsAsync(CancellationToken cancellationToken = default) => ReadAsync<IReadOnlyList<GrantInfo>>(
        "SELECT principal_kind, principal_name, role, area, source FROM bindings ORDER BY principal_kind DESC, principal_name, area, role",
        [],
        async (reader, token) =>
        {
            var grants = new List<GrantInfo>();
            while (await reader.ReadAsync(token).ConfigureAwait(false))
            {
                grants.Add(new GrantInfo(
                    new RoleBinding(ParseKind(reader.GetString(0)), reader.GetString(1), reader.GetString(2), RemotePath.Parse(reader.GetString(3), allowRoot: true)),
                    ParseSource(reader.GetString(4))));
            }

            return grants;
        },
        cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<PeerInfo>> ListPeersAsync(CancellationToken cancellationToken = default) => ReadAsync<IReadOnlyList<PeerInfo>>(
        """
        SELECT p.url, p.server_pin, p.server_ca, p.credential, p.token_sealed,
               p.name, p.fingerprint, p.common_name, p.enabled, p.created_at, p.source, b.role, b.area
        FROM peers p LEFT JOIN bindings b ON b.principal_kind = 'peer' AND b.principal_name = p.name
        ORDER BY p.name, b.area, b.role
        """,
        [],
        async (reader, token) =>
        {
            var peers = new List<PeerInfo>();
            List<RoleAssignment>? roles = null;
            while (await reader.ReadAsync(token).ConfigureAwait(false))
            {
                var name = reader.GetString(5);
                if (peers.Count == 0 || peers[^1].Name != name)
                {
                    roles = [];
                    peers.Add(new PeerInfo(
                        name,
                        reader.IsDBNull(6) ? null : reader.GetString(6),
                        reader.IsDBNull(7) ? null : reader.GetString(7),
                        reader.GetBoolean(8),
                        FromUnixMilliseconds(reader.GetInt64(9)),
                        ParseSource(reader.GetString(10)),
                        roles)
                    {
                        Outbound = ReadOutbound(reader),
                    });
                }

                if (!reader.IsDBNull(11))
                {
                    roles!.Add(new RoleAssignment(reader.GetString(11), RemotePath.Parse(reader.GetString(12), allowRoot: true)));
                }
            }

            return peers;
        },
        cancellationToken);

    /// <inheritdoc />
    public Task<PeerOutbound?> GetOutboundPeerAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        return ReadAsync(
            "SELECT url, server_pin, server_ca, credential, token_sealed FROM peers WHERE name = $1 AND enabled",
            [Text(name)],
            async (reader, token) => await reader.ReadAsync(token).ConfigureAwait(false) ? ReadOutbound(reader) : null,
            cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// READ COMMITTED under the store's advisory lock, taken by the first statement (see the type's remarks): the work runs
    /// once, and a database that is away makes it <see cref="StoreUnavailableException"/> with nothing committed.
    /// </remarks>
    public Task<T> WriteAsync<T>(Func<IAccessTransaction, Task<T>> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _database.InTransactionAsync(
            IsolationLevel.ReadCommitted,
            async (connection, transaction, token) =>
            {
                var access = new PostgresAccessTransaction(connection, transaction, _options, token);
                await access.TakeWriteLockAsync().ConfigureAwait(false);
                return await work(access).ConfigureAwait(false);
            },
            cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>Releases nothing but itself: the <see cref="PostgresDatabase"/> and its pool belong to the composition.</remarks>
    public ValueTask DisposeAsync()
    {
        _disposed = true;
        return ValueTask.CompletedTask;
    }

    internal static NpgsqlParameter Text(string? value) => new NpgsqlParameter<string> { TypedValue = value };

    internal static NpgsqlParameter Bytes(byte[]? value) => new NpgsqlParameter<byte[]> { TypedValue = value };

    internal static NpgsqlParameter Int64(long value) => new NpgsqlParameter<long> { TypedValue = value };

    internal static NpgsqlParameter Int64(long? value) => value is { } v ? Int64(v) : new NpgsqlParameter<long?> { TypedValue = null };

    internal static NpgsqlParameter Int32(int? value) => new NpgsqlParameter<int?> { TypedValue = value };

    internal static NpgsqlParameter Bool(bool value) => new NpgsqlParameter<bool> { TypedValue = value };

    internal static NpgsqlParameter TextArray(string[]? value) => new NpgsqlParameter<string[]> { TypedValue = value };

    internal static string KindText(PrincipalKind kind) => kind == PrincipalKind.User ? "user" : "peer";

    internal static PrincipalKind ParseKind(string text) => text == "user" ? PrincipalKind.User : PrincipalKind.Peer;

    internal static string SourceText(AccessSource source) => source == AccessSource.Policy ? "policy" : "local";

    internal static AccessSource ParseSource(string text) => text == "policy" ? AccessSource.Policy : AccessSource.Local;

    internal static DateTimeOffset FromUnixMilliseconds(long milliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);

    internal static AccessRole ReadRole(NpgsqlDataReader reader) =>
        new(reader.GetString(0), (Permission)reader.GetInt64(1), reader.GetBoolean(2), ParseSource(reader.GetString(3)));

    private static DateTimeOffset? Time(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : FromUnixMilliseconds(reader.GetInt64(ordinal));

    private static IReadOnlyList<RemotePath>? Areas(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : [.. reader.GetFieldValue<string[]>(ordinal).Select(a => RemotePath.Parse(a, allowRoot: true))];

    // The five outbound columns come first in every query that reads them.
    private static PeerOutbound? ReadOutbound(NpgsqlDataReader reader) => reader.IsDBNull(0)
        ? null
        : new PeerOutbound(
            new Uri(reader.GetString(0)),
            reader.IsDBNull(1) ? null : reader.GetString(1),
            reader.IsDBNull(2) ? null : reader.GetString(2),
            reader.GetString(3) == PeerOutbound.TokenCredential ? PeerCredential.Token : PeerCredential.Mtls,
            reader.IsDBNull(4) ? null : reader.GetFieldValue<byte[]>(4));

    private Task<AccessGrants> GrantsForAsync(PrincipalKind kind, string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        return ReadAsync(
            """
            SELECT b.area, r.permissions FROM bindings b JOIN roles r ON r.name = b.role
            WHERE b.principal_kind = $1 AND b.principal_name = $2
            """,
            [Text(KindText(kind)), Text(name)],
            async (reader, token) =>
            {
                var grants = new List<AccessGrant>();
                while (await reader.ReadAsync(token).ConfigureAwait(false))
                {
                    grants.Add(new AccessGrant(RemotePath.Parse(reader.GetString(0), allowRoot: true), (Permission)reader.GetInt64(1)));
                }

                return grants.Count == 0 ? AccessGrants.None : new AccessGrants(grants);
            },
            cancellationToken);
    }

    private Task<StoredPeer?> FindPeerAsync(string sql, string value, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(value);
        return ReadAsync(
            sql,
            [Text(value)],
            async (reader, token) => await reader.ReadAsync(token).ConfigureAwait(false)
                ? new StoredPeer(reader.GetString(0), reader.GetString(1), reader.GetBoolean(2))
                : null,
            cancellationToken);
    }

    /// <summary>One query on a pooled connection, outside a transaction, read by <paramref name="read"/>.</summary>
    private Task<T> ReadAsync<T>(string sql, NpgsqlParameter[] parameters, Func<NpgsqlDataReader, CancellationToken, Task<T>> read, CancellationToken cancellationToken) =>
        CommandAsync(
            sql,
            parameters,
            async (command, token) =>
            {
                await using var reader = await command.ExecuteReaderAsync(token).ConfigureAwait(false);
                return await read(reader, token).ConfigureAwait(false);
            },
            cancellationToken);

    /// <summary>One statement on a pooled connection, outside a transaction; a database that is away is <see cref="StoreUnavailableException"/>.</summary>
    private Task<T> CommandAsync<T>(string sql, NpgsqlParameter[] parameters, Func<NpgsqlCommand, CancellationToken, Task<T>> run, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _database.WithConnectionAsync(
            async (connection, token) =>
            {
                await using var command = new NpgsqlCommand(sql, connection);
                command.Parameters.AddRange(parameters);
                return await run(command, token).ConfigureAwait(false);
            },
            cancellationToken);
    }
}
