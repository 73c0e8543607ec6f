using Microsoft.Data.Sqlite;
using TurboMft.Engine.Storage;

namespace TurboMft.Host.Access;

/// <summary>
/// The SQL of access changes, inside one write transaction of <see cref="SqliteAccessStore"/>. Only parameterised statements;
/// no rule checks here beyond what the schema enforces: <see cref="AccessAdministration"/> decides what may change.
/// </summary>
internal sealed class SqliteAccessTransaction(SqliteConnection connection, SqliteTransaction transaction, AccessStoreOptions options, CancellationToken cancellationToken)
    : IAccessTransaction
{
    private const string Local = "local";
    private const string Policy = "policy";

    /// <summary>
    /// Inserts the built-in roles <c>access.db</c> lacks (all of them when new; those added since an older build made it).
    /// A custom role already holding such a name stops the upgrade rather than being silently redefined.
    /// </summary>
    /// <exception cref="IOException">A custom role has the name of a built-in role.</exception>
    public async Task AddBuiltInRolesAsync(string? databasePath)
    {
        foreach (var role in AccessRole.BuiltIns)
        {
            var existing = await GetRoleAsync(role.Name).ConfigureAwait(false);
            if (existing is { BuiltIn: false })
            {
                throw new IOException(
                    $"The access database '{databasePath}' has a custom role '{role.Name}', which is now a built-in role; with the previous TurboMft, revoke its grants and remove it (or drop it from the policy file), then start this one.");
            }

            if (existing is null)
            {
                await ExecuteAsync(
                    "INSERT INTO roles (name, permissions, builtin, source) VALUES ($name, $permissions, 1, 'local')",
                    ("$name", role.Name), ("$permissions", (long)role.Permissions)).ConfigureAwait(false);
            }
        }
    }

    public long Now => options.Time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Built-in roles; with the first-start admin token, user admin with role admin on "/" and token tok_admin.</summary>
    public async Task SeedAsync(string? adminToken)
    {
        await AddBuiltInRolesAsync(null).ConfigureAwait(false);

        if (adminToken is null)
        {
            return;
        }

        await InsertUserAsync("admin", null, AccessSource.Local).ConfigureAwait(false);
        await InsertBindingAsync(new RoleBinding(PrincipalKind.User, "admin", "admin", RemotePath.Root), AccessSource.Local).ConfigureAwait(false);
        await ExecuteAsync(
            """
            INSERT INTO tokens (id, user_name, label, secret_sha256, created_at, scope_permissions)
            VALUES ($id, 'admin', 'first-start admin token', $hash, $now, $scope)
            """,
            ("$id", ApiTokens.AdminTokenId), ("$hash", ApiTokens.Hash(adminToken)), ("$now", Now), ("$scope", (long)Permission.All)).ConfigureAwait(false);
    }

    /// <summary>Enabled users holding a role with the admin permission on "/".</summary>
    public async Task<long> CountRootAdminsAsync() => await ScalarAsync<long>(
        """
        SELECT count(DISTINCT u.name) FROM users u
        JOIN bindings b ON b.principal_kind = 'user' AND b.principal_name = u.name
        JOIN roles r ON r.name = b.role
        WHERE u.enabled = 1 AND b.area = '/' AND (r.permissions & $admin) = $admin
        """,
        ("$admin", (long)Permission.Admin)).ConfigureAwait(false);

    public async Task<(bool Enabled, AccessSource Source)?> GetUserAsync(string name)
    {
        await using var command = Command("SELECT enabled, source FROM users WHERE name = $name", ("$name", name));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? (reader.GetInt64(0) == 1, SqliteAccessStore.ParseSource(reader.GetString(1)))
            : null;
    }

    /// <summary>False when the name is taken.</summary>
    public async Task<bool> InsertUserAsync(string name, PasswordHash? password, AccessSource source) => await ExecuteAsync(
        """
        INSERT INTO users (name, enabled, password_hash, password_salt, password_iterations, created_at, source)
        VALUES ($name, 1, $hash, $salt, $iterations, $now, $source) ON CONFLICT (name) DO NOTHING
        """,
        ("$name", name), ("$hash", password?.Hash), ("$salt", password?.Salt), ("$iterations", password?.Iterations),
        ("$now", Now), ("$source", SqliteAccessStore.SourceText(source))).ConfigureAwait(false) == 1;

    public async Task<bool> SetUserEnabledAsync(string name, bool enabled) =>
        await ExecuteAsync("UPDATE users SET enabled = $enabled WHERE name = $name", ("$enabled", enabled ? 1L : 0L), ("$name", name)).ConfigureAwait(false) == 1;

    public async Task<bool> SetPasswordAsync(string name, PasswordHash password) => await ExecuteAsync(
        "UPDATE users SET password_hash = $hash, password_salt = $salt, password_iterations = $iterations WHERE name = $name",
        ("$hash", password.Hash), ("$salt", password.Salt), ("$iterations", password.Iterations), ("$name", name)).ConfigureAwait(false) == 1;

    /// <summary>Deletes a user, its tokens (cascade) and its grants.</summary>
    public async Task DeleteUserAsync(string name)
    {
        await DeleteBindingsOfAsync(PrincipalKind.User, name).ConfigureAwait(false);
        await ExecuteAsync("DELETE FROM users WHERE name = $name", ("$name", name)).ConfigureAwait(false);
    }

    /// <summary>Issues a token for an existing user.</summary>
    public async Task<IssuedToken> InsertTokenAsync(string user, TokenRequest request)
    {
        var secret = ApiTokens.NewSecret();
        var now = Now;
        long? expires = request.ExpiresIn is { } lifetime ? now + (long)lifetime.TotalMilliseconds : null;
        for (var attempt = 0; ; attempt++)
        {
            var id = ApiTokens.NewId();
            var inserted = await ExecuteAsync(
                """
                INSERT INTO tokens (id, user_name, label, secret_sha256, created_at, expires_at, scope_permissions, scope_areas)
                VALUES ($id, $user, $label, $hash, $now, $expires, $scope, $areas) ON CONFLICT (id) DO NOTHING
                """,
                ("$id", id), ("$user", user), ("$label", request.Label), ("$hash", ApiTokens.Hash(secret)), ("$now", now),
                ("$expires", expires), ("$scope", (long)request.Permissions), ("$areas", SqliteAccessStore.AreasText(request.Areas))).ConfigureAwait(false);
            if (inserted == 1)
            {
                return new IssuedToken(id, secret, user, expires is null ? null : SqliteAccessStore.FromUnixMilliseconds(expires.Value));
            }

            // 60 random bits: a clash is all but impossible, and a second one means something else is wrong.
            if (attempt > 0)
            {
                throw new InvalidOperationException("Could not find a free token id.");
            }
        }
    }

    /// <summary>Null when there is no such token; otherwise its user and whether it was already revoked.</summary>
    public async Task<(string User, bool AlreadyRevoked)?> RevokeTokenAsync(string id)
    {
        string user;
        bool revoked;
        await using (var command = Command("SELECT user_name, revoked_at IS NOT NULL FROM tokens WHERE id = $id", ("$id", id)))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            user = reader.GetString(0);
            revoked = reader.GetInt64(1) == 1;
        }

        if (!revoked)
        {
            await ExecuteAsync("UPDATE tokens SET revoked_at = $now WHERE id = $id", ("$now", Now), ("$id", id)).ConfigureAwait(false);
        }

        return (user, revoked);
    }

    public async Task<AccessRole?> GetRoleAsync(string name)
    {
        await using var command = Command("SELECT name, permissions, builtin, source FROM roles WHERE name = $name", ("$name", name));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? new AccessRole(reader.GetString(0), (Permission)reader.GetInt64(1), reader.GetInt64(2) == 1, SqliteAccessStore.ParseSource(reader.GetString(3)))
            : null;
    }

    /// <summary>False when the name is taken.</summary>
    public async Task<bool> InsertRoleAsync(string name, Permission permissions, AccessSource source) => await ExecuteAsync(
        "INSERT INTO roles (name, permissions, builtin, source) VALUES ($name, $permissions, 0, $source) ON CONFLICT (name) DO NOTHING",
        ("$name", name), ("$permissions", (long)permissions), ("$source", SqliteAccessStore.SourceText(source))).ConfigureAwait(false) == 1;

    /// <summary>Creates or takes over a custom role for the policy.</summary>
    public Task<int> UpsertPolicyRoleAsync(string name, Permission permissions) => ExecuteAsync(
        """
        INSERT INTO roles (name, permissions, builtin, source) VALUES ($name, $permissions, 0, 'policy')
        ON CONFLICT (name) DO UPDATE SET permissions = excluded.permissions, source = 'policy' WHERE builtin = 0
        """,
        ("$name", name), ("$permissions", (long)permissions));

    public Task<int> DeleteRoleAsync(string name) => ExecuteAsync("DELETE FROM roles WHERE name = $name AND builtin = 0", ("$name", name));

    public async Task<IReadOnlyList<RoleBinding>> BindingsOfRoleAsync(string role)
    {
        await using var command = Command("SELECT principal_kind, principal_name, area FROM bindings WHERE role = $role ORDER BY 1, 2, 3", ("$role", role));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var bindings = new List<RoleBinding>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            bindings.Add(new RoleBinding(SqliteAccessStore.ParseKind(reader.GetString(0)), reader.GetString(1), role, RemotePath.Parse(reader.GetString(2), allowRoot: true)));
        }

        return bindings;
    }

    public async Task<AccessSource?> GetBindingSourceAsync(RoleBinding binding)
    {
        var source = await ScalarAsync<string?>(
            "SELECT source FROM bindings WHERE principal_kind = $kind AND principal_name = $name AND role = $role AND area = $area",
            BindingParameters(binding)).ConfigureAwait(false);
        return source is null ? null : SqliteAccessStore.ParseSource(source);
    }

    /// <summary>False when the grant exists already.</summary>
    public async Task<bool> InsertBindingAsync(RoleBinding binding, AccessSource source) => await ExecuteAsync(
        """
        INSERT INTO bindings (principal_kind, principal_name, role, area, source) VALUES ($kind, $name, $role, $area, $source)
        ON CONFLICT (principal_kind, principal_name, role, area) DO NOTHING
        """,
        [.. BindingParameters(binding), ("$source", SqliteAccessStore.SourceText(source))]).ConfigureAwait(false) == 1;

    /// <summary>Adds a grant for the policy, taking over an identical one made through the CLI or API.</summary>
    public Task<int> UpsertPolicyBindingAsync(RoleBinding binding) => ExecuteAsync(
        """
        INSERT INTO bindings (principal_kind, principal_name, role, area, source) VALUES ($kind, $name, $role, $area, 'policy')
        ON CONFLICT (principal_kind, principal_name, role, area) DO UPDATE SET source = 'policy'
        """,
        BindingParameters(binding));

    public async Task<bool> DeleteBindingAsync(RoleBinding binding) => await ExecuteAsync(
        "DELETE FROM bindings WHERE principal_kind = $kind AND principal_name = $name AND role = $role AND area = $area",
        BindingParameters(binding)).ConfigureAwait(false) == 1;

    public Task<int> DeleteBindingsOfAsync(PrincipalKind kind, string name) => ExecuteAsync(
        "DELETE FROM bindings WHERE principal_kind = $kind AND principal_name = $name",
        ("$kind", SqliteAccessStore.KindText(kind)), ("$name", name));

    public Task<int> DeletePolicyBindingsAsync() => ExecuteAsync("DELETE FROM bindings WHERE source = 'policy'");

    public async Task<(bool Enabled, AccessSource Source)?> GetPeerAsync(string name)
    {
        await using var command = Command("SELECT enabled, source FROM peers WHERE name = $name", ("$name", name));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? (reader.GetInt64(0) == 1, SqliteAccessStore.ParseSource(reader.GetString(1)))
            : null;
    }

    /// <summary>The peer, other than <paramref name="exceptName"/>, that already uses this fingerprint or common name.</summary>
    public Task<string?> FindPeerUsingAsync(string? fingerprint, string? commonName, string? exceptName) => ScalarAsync<string?>(
        "SELECT name FROM peers WHERE (fingerprint = $fingerprint OR common_name = $commonName) AND ($except IS NULL OR name <> $except) LIMIT 1",
        ("$fingerprint", fingerprint), ("$commonName", commonName), ("$except", exceptName));

    /// <summary>False when the name is taken.</summary>
    public async Task<bool> InsertPeerAsync(string name, string? fingerprint, string? commonName, bool enabled, AccessSource source, PeerOutbound? outbound = null) => await ExecuteAsync(
        """
        INSERT INTO peers (name, fingerprint, common_name, enabled, created_at, source, url, server_pin, server_ca, credential, token_sealed)
        VALUES ($name, $fingerprint, $commonName, $enabled, $now, $source, $url, $serverPin, $serverCa, $credential, $token) ON CONFLICT (name) DO NOTHING
        """,
        ("$name", name), ("$fingerprint", fingerprint), ("$commonName", commonName), ("$enabled", enabled ? 1L : 0L), ("$now", Now),
        ("$source", SqliteAccessStore.SourceText(source)), ("$url", outbound?.Url.ToString()), ("$serverPin", outbound?.ServerPin), ("$serverCa", outbound?.ServerCa),
        ("$credential", outbound?.CredentialName), ("$token", outbound?.SealedToken)).ConfigureAwait(false) == 1;

    /// <summary>Creates or takes over a peer for the policy.</summary>
    public Task<int> UpsertPolicyPeerAsync(string name, string? fingerprint, string? commonName, bool enabled) => ExecuteAsync(
        """
        INSERT INTO peers (name, fingerprint, common_name, enabled, created_at, source)
        VALUES ($name, $fingerprint, $commonName, $enabled, $now, 'policy')
        ON CONFLICT (name) DO UPDATE SET fingerprint = excluded.fingerprint, common_name = excluded.common_name,
            enabled = excluded.enabled, source = 'policy'
        """,
        ("$name", name), ("$fingerprint", fingerprint), ("$commonName", commonName), ("$enabled", enabled ? 1L : 0L), ("$now", Now));

    /// <summary>Creates or takes over a user for the policy; a password and tokens it already has stay.</summary>
    public Task<int> UpsertPolicyUserAsync(string name, bool enabled) => ExecuteAsync(
        """
        INSERT INTO users (name, enabled, created_at, source) VALUES ($name, $enabled, $now, 'policy')
        ON CONFLICT (name) DO UPDATE SET enabled = excluded.enabled, source = 'policy'
        """,
        ("$name", name), ("$enabled", enabled ? 1L : 0L), ("$now", Now));

    public async Task<bool> SetPeerEnabledAsync(string name, bool enabled) =>
        await ExecuteAsync("UPDATE peers SET enabled = $enabled WHERE name = $name", ("$enabled", enabled ? 1L : 0L), ("$name", name)).ConfigureAwait(false) == 1;

    /// <summary>Deletes a peer and its grants.</summary>
    public async Task DeletePeerAsync(string name)
    {
        await DeleteBindingsOfAsync(PrincipalKind.Peer, name).ConfigureAwait(false);
        await ExecuteAsync("DELETE FROM peers WHERE name = $name", ("$name", name)).ConfigureAwait(false);
    }

    /// <summary>Names in <c>users</c>, <c>roles</c> or <c>peers</c> that the policy declared.</summary>
    public async Task<IReadOnlyList<string>> PolicyNamesAsync(PolicyTable table)
    {
        var sql = table switch
        {
            PolicyTable.Users => "SELECT name FROM users WHERE source = 'policy' ORDER BY name",
            PolicyTable.Roles => "SELECT name FROM roles WHERE source = 'policy' AND builtin = 0 ORDER BY name",
            _ => "SELECT name FROM peers WHERE source = 'policy' ORDER BY name",
        };
        await using var command = Command(sql);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var names = new List<string>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    private static (string, object?)[] BindingParameters(RoleBinding binding) =>
    [
        ("$kind", SqliteAccessStore.KindText(binding.Kind)), ("$name", binding.Principal), ("$role", binding.Role), ("$area", binding.Area.Value),
    ];

    private SqliteCommand Command(string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    private async Task<int> ExecuteAsync(string sql, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<T> ScalarAsync<T>(string sql, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(sql, parameters);
        var value = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return value is null or DBNull ? default! : (T)value;
    }
}
