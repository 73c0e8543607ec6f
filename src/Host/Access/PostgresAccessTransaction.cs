using Npgsql;
using TurboMft.Engine.Storage;
using TurboMft.Host.Infrastructure;
using static TurboMft.Host.Access.PostgresAccessStore;

namespace TurboMft.Host.Access;

/// <summary>
/// The SQL of access changes inside one write transaction of <see cref="PostgresAccessStore"/>, one statement per call. Only
/// positional parameters; no rule checks beyond what the schema enforces (<see cref="AccessAdministration"/> decides what may
/// change). A unique or foreign-key violation the port does not answer with false is raised as its typed
/// <see cref="AccessException"/>, never as a <see cref="PostgresException"/>.
/// </summary>
internal sealed class PostgresAccessTransaction(NpgsqlConnection connection, NpgsqlTransaction transaction, AccessStoreOptions options, CancellationToken cancellationToken)
    : IAccessTransaction
{
    private const string ForeignKeyViolation = "23503";

    private long Now => options.Time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Waits for the access store's advisory lock, held until this transaction ends (see <see cref="PostgresAccessStore"/>).</summary>
    public Task TakeWriteLockAsync() => ExecuteAsync("SELECT pg_advisory_xact_lock($1)", Int64(WriteLockKey));

    /// <summary>
    /// Inserts the built-in roles the store lacks (all of them when new; those added since an older build made it), in two
    /// statements. A custom role already holding such a name stops the upgrade rather than being silently redefined.
    /// </summary>
    /// <exception cref="IOException">A custom role has the name of a built-in role.</exception>
    public async Task AddBuiltInRolesAsync(string? databaseDescription)
    {
        var names = AccessRole.BuiltIns.Select(r => r.Name).ToArray();
        var clash = await ScalarAsync<string?>(
            "SELECT name FROM roles WHERE NOT builtin AND name = ANY ($1) ORDER BY name LIMIT 1", TextArray(names)).ConfigureAwait(false);
        if (clash is not null)
        {
            throw new IOException(
                $"The access tables in PostgreSQL ({databaseDescription}) have a custom role '{clash}', which is now a built-in role; with the previous TurboMft, revoke its grants and remove it (or drop it from the policy file), then start this one.");
        }

        await ExecuteAsync(
            """
            INSERT INTO roles (name, permissions, builtin, source)
            SELECT name, permissions, true, 'local' FROM unnest($1::text[], $2::bigint[]) AS builtin (name, permissions)
            ON CONFLICT (name) DO NOTHING
            """,
            TextArray(names), new NpgsqlParameter<long[]> { TypedValue = [.. AccessRole.BuiltIns.Select(r => (long)r.Permissions)] }).ConfigureAwait(false);
    }

    /// <summary>Built-in roles; with the first-start admin token's hash, user admin with role admin on "/" and token tok_admin.</summary>
    public async Task SeedAsync(byte[]? adminTokenSha256)
    {
        await AddBuiltInRolesAsync(null).ConfigureAwait(false);
        if (adminTokenSha256 is null)
        {
            return;
        }

        await InsertUserAsync("admin", null, AccessSource.Local).ConfigureAwait(false);
        await InsertBindingAsync(new RoleBinding(PrincipalKind.User, "admin", "admin", RemotePath.Root), AccessSource.Local).ConfigureAwait(false);
        await ExecuteAsync(
            """
            INSERT INTO tokens (id, user_name, label, secret_sha256, created_at, scope_permissions)
            VALUES ($1, 'admin', 'first-start admin token', $2, $3, $4)
            """,
            Text(ApiTokens.AdminTokenId), Bytes(adminTokenSha256), Int64(Now), Int64((long)Permission.All)).ConfigureAwait(false);
    }

    /// <summary>Enabled users holding a role with the admin permission on "/".</summary>
    public Task<long> CountRootAdminsAsync() => ScalarAsync<long>(
        """
        SELECT count(DISTINCT u.name) FROM users u
        JOIN bindings b ON b.principal_kind = 'user' AND b.principal_name = u.name
        JOIN roles r ON r.name = b.role
        WHERE u.enabled AND b.area = '/' AND (r.permissions & $1) = $1
        """,
        Int64((long)Permission.Admin));

    public Task<(bool Enabled, AccessSource Source)?> GetUserAsync(string name) =>
        EnabledAndSourceAsync("SELECT enabled, source FROM users WHERE name = $1", name);

    /// <summary>False when the name is taken.</summary>
    public async Task<bool> InsertUserAsync(string name, PasswordHash? password, AccessSource source) => await ExecuteAsync(
        """
        INSERT INTO users (name, enabled, password_hash, password_salt, password_iterations, created_at, source)
        VALUES ($1, true, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING
        """,
        Text(name), Bytes(password?.Hash), Bytes(password?.Salt), Int32(password?.Iterations), Int64(Now), Text(SourceText(source))).ConfigureAwait(false) == 1;

    public async Task<bool> SetUserEnabledAsync(string name, bool enabled) =>
        await ExecuteAsync("UPDATE users SET enabled = $1 WHERE name = $2", Bool(enabled), Text(name)).ConfigureAwait(false) == 1;

    public async Task<bool> SetPasswordAsync(string name, PasswordHash password) => await ExecuteAsync(
        "UPDATE users SET password_hash = $1, password_salt = $2, password_iterations = $3 WHERE name = $4",
        Bytes(password.Hash), Bytes(password.Salt), Int32(password.Iterations), Text(name)).ConfigureAwait(false) == 1;

    /// <summary>Deletes a user, its grants and (cascade) its tokens, in one statement.</summary>
    public Task DeleteUserAsync(string name) => ExecuteAsync(
        "WITH grants AS (DELETE FROM bindings WHERE principal_kind = 'user' AND principal_name = $1) DELETE FROM users WHERE name = $1",
        Text(name));

    /// <summary>
    /// Issues a token for an existing user. The secret is drawn here, so the one this call returns is the one its transaction
    /// commits (a transaction that ran again would draw and return a new one).
    /// </summary>
    /// <exception cref="AccessException">The user does not exist (<see cref="AccessError.UserNotFound"/>).</exception>
    public async Task<IssuedToken> InsertTokenAsync(string user, TokenRequest request)
    {
        var secret = ApiTokens.NewSecret();
        var now = Now;
        long? expires = request.ExpiresIn is { } lifetime ? now + (long)lifetime.TotalMilliseconds : null;
        for (var attempt = 0; ; attempt++)
        {
            var id = ApiTokens.NewId();
            int inserted;
            try
            {
                inserted = await ExecuteAsync(
                    """
                    INSERT INTO tokens (id, user_name, label, secret_sha256, created_at, expires_at, scope_permissions, scope_areas)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING
                    """,
                    Text(id), Text(user), Text(request.Label), Bytes(ApiTokens.Hash(secret)), Int64(now), Int64(expires), Int64((long)request.Permissions),
                    TextArray(request.Areas is null ? null : [.. request.Areas.Select(a => a.Value)])).ConfigureAwait(false);
            }
            catch (PostgresException e) when (e.SqlState == ForeignKeyViolation)
            {
                throw new AccessException(AccessError.UserNotFound, $"User '{user}' does not exist; see 'turbomft user list'.", e);
            }

            if (inserted == 1)
            {
                return new IssuedToken(id, secret, user, expires is null ? null : FromUnixMilliseconds(expires.Value));
            }

            // 60 random bits: a clash is all but impossible, and a second one means something else is wrong.
            if (attempt > 0)
            {
                throw new InvalidOperationException("Could not find a free token id.");
            }
        }
    }

    /// <summary>Null when there is no such token; otherwise its user and whether it was already revoked. One statement.</summary>
    public Task<(string User, bool AlreadyRevoked)?> RevokeTokenAsync(string id) => ReadAsync<(string, bool)?>(
        """
        UPDATE tokens t SET revoked_at = coalesce(old.revoked_at, $2)
        FROM (SELECT id, revoked_at FROM tokens WHERE id = $1 FOR UPDATE) old
        WHERE t.id = old.id
        RETURNING t.user_name, old.revoked_at IS NOT NULL
        """,
        async reader => await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? (reader.GetString(0), reader.GetBoolean(1)) : null,
        Text(id), Int64(Now));

    public Task<AccessRole?> GetRoleAsync(string name) => ReadAsync(
        "SELECT name, permissions, builtin, source FROM roles WHERE name = $1",
        async reader => await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadRole(reader) : null,
        Text(name));

    /// <summary>False when the name is taken.</summary>
    public async Task<bool> InsertRoleAsync(string name, Permission permissions, AccessSource source) => await ExecuteAsync(
        "INSERT INTO roles (name, permissions, builtin, source) VALUES ($1, $2, false, $3) ON CONFLICT (name) DO NOTHING",
        Text(name), Int64((long)permissions), Text(SourceText(source))).ConfigureAwait(false) == 1;

    /// <summary>Creates or takes over a custom role for the policy; 0 for a built-in role's name.</summary>
    public Task<int> UpsertPolicyRoleAsync(string name, Permission permissions) => ExecuteAsync(
        """
        INSERT INTO roles (name, permissions, builtin, source) VALUES ($1, $2, false, 'policy')
        ON CONFLICT (name) DO UPDATE SET permissions = excluded.permissions, source = 'policy' WHERE NOT roles.builtin
        """,
        Text(name), Int64((long)permissions));

    /// <exception cref="AccessException">The role is still granted (<see cref="AccessError.RoleInUse"/>).</exception>
    public async Task<int> DeleteRoleAsync(string name)
    {
        try
        {
            return await ExecuteAsync("DELETE FROM roles WHERE name = $1 AND NOT builtin", Text(name)).ConfigureAwait(false);
        }
        catch (PostgresException e) when (e.SqlState == ForeignKeyViolation)
        {
            throw new AccessException(AccessError.RoleInUse, $"Role '{name}' is still granted; revoke its grants first.", e);
        }
    }

    public Task<IReadOnlyList<RoleBinding>> BindingsOfRoleAsync(string role) => ReadAsync<IReadOnlyList<RoleBinding>>(
        "SELECT principal_kind, principal_name, area FROM bindings WHERE role = $1 ORDER BY 1, 2, 3",
        async reader =>
        {
            var bindings = new List<RoleBinding>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                bindings.Add(new RoleBinding(ParseKind(reader.GetString(0)), reader.GetString(1), role, RemotePath.Parse(reader.GetString(2), allowRoot: true)));
            }

            return bindings;
        },
        Text(role));

    public async Task<AccessSource?> GetBindingSourceAsync(RoleBinding binding)
    {
        var source = await ScalarAsync<string?>(
            "SELECT source FROM bindings WHERE principal_kind = $1 AND principal_name = $2 AND role = $3 AND area = $4",
            BindingParameters(binding)).ConfigureAwait(false);
        return source is null ? null : ParseSource(source);
    }

    /// <summary>False when the grant exists already.</summary>
    /// <exception cref="AccessException">The role does not exist (<see cref="AccessError.RoleNotFound"/>).</exception>
    public async Task<bool> InsertBindingAsync(RoleBinding binding, AccessSource source) => await BindAsync(
        """
        INSERT INTO bindings (principal_kind, principal_name, role, area, source) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (principal_kind, principal_name, role, area) DO NOTHING
        """,
        binding,
        [.. BindingParameters(binding), Text(SourceText(source))]).ConfigureAwait(false) == 1;

    /// <summary>Adds a grant for the policy, taking over an identical one made through the CLI or API.</summary>
    /// <exception cref="AccessException">The role does not exist (<see cref="AccessError.RoleNotFound"/>).</exception>
    public Task<int> UpsertPolicyBindingAsync(RoleBinding binding) => BindAsync(
        """
        INSERT INTO bindings (principal_kind, principal_name, role, area, source) VALUES ($1, $2, $3, $4, 'policy')
        ON CONFLICT (principal_kind, principal_name, role, area) DO UPDATE SET source = 'policy'
        """,
        binding,
        BindingParameters(binding));

    public async Task<bool> DeleteBindingAsync(RoleBinding binding) => await ExecuteAsync(
        "DELETE FROM bindings WHERE principal_kind = $1 AND principal_name = $2 AND role = $3 AND area = $4",
        BindingParameters(binding)).ConfigureAwait(false) == 1;

    public Task<int> DeleteBindingsOfAsync(PrincipalKind kind, string name) => ExecuteAsync(
        "DELETE FROM bindings WHERE principal_kind = $1 AND principal_name = $2", Text(KindText(kind)), Text(name));

    public Task<int> DeletePolicyBindingsAsync() => ExecuteAsync("DELETE FROM bindings WHERE source = 'policy'");

    public Task<(bool Enabled, AccessSource Source)?> GetPeerAsync(string name) =>
        EnabledAndSourceAsync("SELECT enabled, source FROM peers WHERE name = $1", name);

    /// <summary>The peer, other than <paramref name="exceptName"/>, that already uses this fingerprint or common name.</summary>
    public Task<string?> FindPeerUsingAsync(string? fingerprint, string? commonName, string? exceptName) => ScalarAsync<string?>(
        "SELECT name FROM peers WHERE (fingerprint = $1 OR common_name = $2) AND ($3::text IS NULL OR name <> $3) ORDER BY name LIMIT 1",
        Text(fingerprint), Text(commonName), Text(exceptName));

    /// <summary>False when the name is taken.</summary>
    /// <exception cref="AccessException">Another peer has the fingerprint or common name (<see cref="AccessError.PeerExists"/>).</exception>
    public async Task<bool> InsertPeerAsync(string name, string? fingerprint, string? commonName, bool enabled, AccessSource source, PeerOutbound? outbound = null) => await PeerAsync(
        """
        INSERT INTO peers (name, fingerprint, common_name, enabled, created_at, source, url, server_pin, server_ca, credential, token_sealed)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (name) DO NOTHING
        """,
        name,
        Text(name), Text(fingerprint), Text(commonName), Bool(enabled), Int64(Now), Text(SourceText(source)), Text(outbound?.Url.ToString()), Text(outbound?.ServerPin),
        Text(outbound?.ServerCa), Text(outbound?.CredentialName), Bytes(outbound?.SealedToken)).ConfigureAwait(false) == 1;

    /// <summary>Creates or takes over a peer for the policy (its outbound side stays).</summary>
    /// <exception cref="AccessException">Another peer has the fingerprint or common name (<see cref="AccessError.PeerExists"/>).</exception>
    public Task<int> UpsertPolicyPeerAsync(string name, string? fingerprint, string? commonName, bool enabled) => PeerAsync(
        """
        INSERT INTO peers (name, fingerprint, common_name, enabled, created_at, source) VALUES ($1, $2, $3, $4, $5, 'policy')
        ON CONFLICT (name) DO UPDATE SET fingerprint = excluded.fingerprint, common_name = excluded.common_name, enabled = excluded.enabled, source = 'policy'
        """,
        name,
        Text(name), Text(fingerprint), Text(commonName), Bool(enabled), Int64(Now));

    /// <summary>Creates or takes over a user for the policy; a password and tokens it already has stay.</summary>
    public Task<int> UpsertPolicyUserAsync(string name, bool enabled) => ExecuteAsync(
        """
        INSERT INTO users (name, enabled, created_at, source) VALUES ($1, $2, $3, 'policy')
        ON CONFLICT (name) DO UPDATE SET enabled = excluded.enabled, source = 'policy'
        """,
        Text(name), Bool(enabled), Int64(Now));

    public async Task<bool> SetPeerEnabledAsync(string name, bool enabled) =>
        await ExecuteAsync("UPDATE peers SET enabled = $1 WHERE name = $2", Bool(enabled), Text(name)).ConfigureAwait(false) == 1;

    /// <summary>Deletes a peer and its grants, in one statement.</summary>
    public Task DeletePeerAsync(string name) => ExecuteAsync(
        "WITH grants AS (DELETE FROM bindings WHERE principal_kind = 'peer' AND principal_name = $1) DELETE FROM peers WHERE name = $1",
        Text(name));

    /// <summary>Names in <c>users</c>, <c>roles</c> or <c>peers</c> that the policy declared.</summary>
    public Task<IReadOnlyList<string>> PolicyNamesAsync(PolicyTable table) => ReadAsync<IReadOnlyList<string>>(
        table switch
        {
            PolicyTable.Users => "SELECT name FROM users WHERE source = 'policy' ORDER BY name",
            PolicyTable.Roles => "SELECT name FROM roles WHERE source = 'policy' AND NOT builtin ORDER BY name",
            _ => "SELECT name FROM peers WHERE source = 'policy' ORDER BY name",
        },
        async reader =>
        {
            var names = new List<string>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                names.Add(reader.GetString(0));
            }

            return names;
        });

    private static NpgsqlParameter[] BindingParameters(RoleBinding binding) =>
        [Text(KindText(binding.Kind)), Text(binding.Principal), Text(binding.Role), Text(binding.Area.Value)];

    private async Task<int> BindAsync(string sql, RoleBinding binding, NpgsqlParameter[] parameters)
    {
        try
        {
            return await ExecuteAsync(sql, parameters).ConfigureAwait(false);
        }
        catch (PostgresException e) when (e.SqlState == ForeignKeyViolation)
        {
            throw new AccessException(AccessError.RoleNotFound, $"Role '{binding.Role}' does not exist; see 'turbomft role list'.", e);
        }
    }

    private async Task<int> PeerAsync(string sql, string name, params NpgsqlParameter[] parameters)
    {
        try
        {
            return await ExecuteAsync(sql, parameters).ConfigureAwait(false);
        }
        catch (PostgresException e) when (e.SqlState == PostgresDatabase.UniqueViolation)
        {
            var what = e.ConstraintName == "peers_common_name_unique" ? "common name" : "fingerprint";
            throw new AccessException(AccessError.PeerExists, $"Another peer already has the {what} given for peer '{name}'.", e);
        }
    }

    private Task<(bool Enabled, AccessSource Source)?> EnabledAndSourceAsync(string sql, string name) => ReadAsync<(bool, AccessSource)?>(
        sql,
        async reader => await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? (reader.GetBoolean(0), ParseSource(reader.GetString(1))) : null,
        Text(name));

    private NpgsqlCommand Command(string sql, NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        command.Parameters.AddRange(parameters);
        return command;
    }

    private async Task<int> ExecuteAsync(string sql, params NpgsqlParameter[] parameters)
    {
        await using var command = Command(sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<T> ScalarAsync<T>(string sql, params NpgsqlParameter[] parameters)
    {
        await using var command = Command(sql, parameters);
        var value = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return value is null or DBNull ? default! : (T)value;
    }

    private async Task<T> ReadAsync<T>(string sql, Func<NpgsqlDataReader, Task<T>> read, params NpgsqlParameter[] parameters)
    {
        await using var command = Command(sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await read(reader).ConfigureAwait(false);
    }
}
