using Npgsql;
using TurboMft.Engine.Storage;
using TurboMft.Host.Access;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Tests.Postgres;

namespace TurboMft.Host.Tests.Access;

/// <summary>
/// What the PostgreSQL provider adds for several nodes on one database (the port itself is <see cref="AccessStoreContract"/>):
/// two stores over two pools on one database are two nodes; each sees the other's changes on its next read, races between
/// them end with one winner and a typed error for the other, and a database that goes away is unavailable, then serves again.
/// </summary>
public sealed class PostgresAccessStoreTests(PostgresServer server) : IAsyncLifetime
{
    private const int Races = 30;

    private readonly CancellationToken _cancel = TestContext.Current.CancellationToken;
    private readonly List<IAsyncDisposable> _owned = [];
    private readonly byte[] _adminToken = ApiTokens.Hash(DataDirectory.NewToken());

    private static AdminCaller Caller => AccessFixture.Caller;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        // Stores before the databases they stand on.
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }
    }

    [Fact]
    public async Task A_token_issued_through_one_node_authenticates_through_the_other_at_once()
    {
        var (one, other) = await TwoNodesAsync("issue");
        await one.Admin.AddUserAsync(Caller, "alice", roles: [new RoleAssignment("uploader", RemotePath.Parse("/ot"))]);

        var issued = await one.Admin.IssueTokenAsync(Caller, "alice", new TokenRequest("ci"));
        var principal = (await other.Auth.AuthenticateTokenAsync(issued.Secret)).Principal;

        Assert.Equal("alice", principal?.Name);
        Assert.True(principal!.Grants.Allows(Permission.Write, RemotePath.Parse("/ot/x.csv")));
        Assert.Equal([issued.Id], (await other.Store.ListTokensAsync("alice")).Select(t => t.Id));
    }

    [Fact]
    public async Task A_token_revoked_through_one_node_is_refused_by_the_other_on_its_next_lookup()
    {
        var (one, other) = await TwoNodesAsync("revoke");
        await one.Admin.AddUserAsync(Caller, "bob", roles: [new RoleAssignment("downloader", RemotePath.Root)]);
        var issued = await one.Admin.IssueTokenAsync(Caller, "bob", new TokenRequest());
        Assert.Equal("bob", (await other.Auth.AuthenticateTokenAsync(issued.Secret)).Principal?.Name);

        await one.Admin.RevokeTokenAsync(Caller, issued.Id);

        Assert.Equal("revoked", (await other.Auth.AuthenticateTokenAsync(issued.Secret)).FailureReason);
        Assert.Equal("revoked", (await one.Auth.AuthenticateTokenAsync(issued.Secret)).FailureReason);
    }

    [Fact]
    public async Task A_user_disabled_through_one_node_is_refused_by_the_other()
    {
        var (one, other) = await TwoNodesAsync("disable");
        await one.Admin.AddUserAsync(Caller, "carol", "carol's long password", [new RoleAssignment("auditor", RemotePath.Root)]);
        var issued = await one.Admin.IssueTokenAsync(Caller, "carol", new TokenRequest());
        Assert.Equal("carol", (await other.Auth.AuthenticateTokenAsync(issued.Secret)).Principal?.Name);

        await one.Admin.SetUserEnabledAsync(Caller, "carol", enabled: false);

        Assert.Equal("user-disabled", (await other.Auth.AuthenticateTokenAsync(issued.Secret)).FailureReason);
        Assert.Equal(new LoginResult(null, "user-disabled"), await other.Auth.LoginAsync("carol", "carol's long password", new TokenRequest()));
    }

    [Fact]
    public async Task A_last_used_time_recorded_by_two_nodes_only_moves_forward()
    {
        var (one, other) = await TwoNodesAsync("lastused");
        await one.Admin.AddUserAsync(Caller, "fay");
        var issued = await one.Admin.IssueTokenAsync(Caller, "fay", new TokenRequest());
        var at = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

        await one.Store.RecordTokenUseAsync(issued.Id, at, _cancel);
        await other.Store.RecordTokenUseAsync(issued.Id, at.AddMinutes(-5), _cancel);

        Assert.Equal(at, (await other.Store.ListTokensAsync("fay", _cancel)).Single().LastUsedAt);
        await other.Store.RecordTokenUseAsync(issued.Id, at.AddMinutes(1), _cancel);
        Assert.Equal(at.AddMinutes(1), (await one.Store.ListTokensAsync("fay", _cancel)).Single().LastUsedAt);
    }

    [Fact]
    public async Task Two_nodes_disabling_the_last_two_root_admins_at_once_leave_exactly_one()
    {
        var (one, other) = await TwoNodesAsync("lastadmin");
        await one.Admin.AddUserAsync(Caller, "root-a", roles: [new RoleAssignment("admin", RemotePath.Root)]);
        await one.Admin.AddUserAsync(Caller, "root-b", roles: [new RoleAssignment("admin", RemotePath.Root)]);
        await one.Admin.SetUserEnabledAsync(Caller, "admin", enabled: false);
        Assert.Equal(2, await CountRootAdminsAsync(other));

        for (var race = 0; race < Races; race++)
        {
            var outcomes = await RaceAsync(
                () => one.Admin.SetUserEnabledAsync(Caller, "root-a", enabled: false),
                () => other.Admin.SetUserEnabledAsync(Caller, "root-b", enabled: false));

            var refusal = Assert.IsType<AccessException>(Assert.Single(outcomes, o => o is not null));
            Assert.Equal(AccessError.LastAdmin, refusal.Error);
            Assert.Equal(1, await CountRootAdminsAsync(one));
            var disabled = outcomes[0] is null ? "root-a" : "root-b";
            Assert.False((await other.Store.GetCredentialAsync(disabled))!.Enabled);
            await other.Admin.SetUserEnabledAsync(Caller, disabled, enabled: true);
            Assert.Equal(2, await CountRootAdminsAsync(one));
        }
    }

    [Fact]
    public async Task Two_nodes_adding_the_same_user_at_once_give_one_user_and_one_exists_error()
    {
        var (one, other) = await TwoNodesAsync("sameuser");

        for (var race = 0; race < Races; race++)
        {
            var name = $"user-{race}";
            var outcomes = await RaceAsync(
                () => one.Admin.AddUserAsync(Caller, name, roles: [new RoleAssignment("uploader", RemotePath.Parse("/a"))]),
                () => other.Admin.AddUserAsync(Caller, name, roles: [new RoleAssignment("downloader", RemotePath.Parse("/b"))]));

            var refusal = Assert.IsType<AccessException>(Assert.Single(outcomes, o => o is not null));
            Assert.Equal(AccessError.UserExists, refusal.Error);
            var user = Assert.Single(await one.Store.ListUsersAsync(), u => u.Name == name);
            Assert.Equal(outcomes[0] is null ? "uploader" : "downloader", Assert.Single(user.Roles).Role);
        }
    }

    [Fact]
    public async Task Nodes_that_open_a_new_database_together_migrate_and_seed_it_once()
    {
        var connection = await server.CreateDatabaseAsync("openall");
        var tokens = Enumerable.Range(0, 4).Select(_ => DataDirectory.NewToken()).ToArray();
        var databases = tokens.Select(_ => Own(PostgresDatabase.Create(connection, "turbomft-test"))).ToArray();

        var stores = await Task.WhenAll(databases.Select((database, i) =>
            PostgresAccessStore.OpenAsync(database, new AccessStoreOptions { AdminTokenSha256 = ApiTokens.Hash(tokens[i]) }, _cancel)));
        foreach (var store in stores)
        {
            Own(store);
        }

        Assert.Equal(PostgresAccessStore.SchemaVersion, await databases[0].ReadVersionAsync(PostgresAccessStore.VersionTable, _cancel));
        Assert.Equal(AccessRole.BuiltIns.OrderBy(r => r.Name, StringComparer.Ordinal), await stores[3].ListRolesAsync(_cancel));
        Assert.Equal([ApiTokens.AdminTokenId], (await stores[2].ListTokensAsync(null, _cancel)).Select(t => t.Id));

        // The node that created the schema seeded its token; the others' tokens are no token at all.
        var found = await Task.WhenAll(tokens.Select(token => stores[1].FindTokenAsync(ApiTokens.Hash(token), _cancel)));
        Assert.Single(found, t => t is not null);
    }

    [Fact]
    public async Task A_schema_newer_than_the_build_is_refused_with_both_versions_and_left_as_it_is()
    {
        var connection = await server.CreateDatabaseAsync("toonew");
        var database = Own(PostgresDatabase.Create(connection, "turbomft-test"));
        Own(await PostgresAccessStore.OpenAsync(database, new AccessStoreOptions { AdminTokenSha256 = _adminToken }, _cancel));
        var newer = PostgresAccessStore.SchemaVersion + 1;
        await ExecuteAsync(database, $"UPDATE {PostgresAccessStore.VersionTable} SET version = {newer}");

        var ex = await Assert.ThrowsAsync<IOException>(() => PostgresAccessStore.OpenAsync(database, new AccessStoreOptions(), _cancel));

        Assert.IsNotType<StoreUnavailableException>(ex);
        Assert.Contains($"schema version {newer}, newer than this build's {PostgresAccessStore.SchemaVersion}", ex.Message, StringComparison.Ordinal);
        Assert.Contains(database.Description, ex.Message, StringComparison.Ordinal);
        Assert.Equal(newer, await database.ReadVersionAsync(PostgresAccessStore.VersionTable, _cancel));
        await using var read = await database.OpenAsync(_cancel);
        await using var tokens = new NpgsqlCommand("SELECT count(*) FROM tokens", read);
        Assert.Equal(1L, (long)(await tokens.ExecuteScalarAsync(_cancel))!);
    }

    [Fact]
    public async Task A_stopped_database_is_unavailable_and_the_store_serves_again_once_it_is_started()
    {
        // A server of its own: stopping the shared one would fail the tests beside this one.
        await using var own = new PostgresServer();
        var database = Own(PostgresDatabase.Create(await own.CreateDatabaseAsync("away"), "turbomft-test"));
        var node = Node(Own(await PostgresAccessStore.OpenAsync(database, new AccessStoreOptions { AdminTokenSha256 = _adminToken }, _cancel)), database);
        await node.Admin.AddUserAsync(Caller, "dora");
        var issued = await node.Admin.IssueTokenAsync(Caller, "dora", new TokenRequest());

        await own.StopAsync();
        await Assert.ThrowsAsync<StoreUnavailableException>(async () => await node.Auth.AuthenticateTokenAsync(issued.Secret));
        await Assert.ThrowsAsync<StoreUnavailableException>(() => node.Admin.AddUserAsync(Caller, "lost"));
        await Assert.ThrowsAsync<StoreUnavailableException>(() => node.Store.ListUsersAsync(_cancel));
        await Assert.ThrowsAsync<StoreUnavailableException>(() => node.Store.RecordTokenUseAsync(issued.Id, DateTimeOffset.UtcNow, _cancel));

        await own.StartAsync();
        Assert.Equal("dora", (await node.Auth.AuthenticateTokenAsync(issued.Secret)).Principal?.Name);
        await node.Admin.AddUserAsync(Caller, "after");
        Assert.Equal(["admin", "after", "dora"], (await node.Store.ListUsersAsync(_cancel)).Select(u => u.Name));
    }

    [Fact]
    public async Task Constraint_violations_the_port_does_not_answer_with_false_are_typed_access_errors()
    {
        var (one, _) = await TwoNodesAsync("violations");
        var pin = "sha256:" + new string('a', 64);
        await one.Admin.AddPeerAsync(Caller, "site-a", pin, null);

        var samePin = await Assert.ThrowsAsync<AccessException>(() => one.Store.WriteAsync(tx => tx.InsertPeerAsync("site-b", pin, null, true, AccessSource.Local)));
        var noUser = await Assert.ThrowsAsync<AccessException>(() => one.Store.WriteAsync(tx => tx.InsertTokenAsync("nobody", new TokenRequest())));
        var noRole = await Assert.ThrowsAsync<AccessException>(() => one.Store.WriteAsync(tx => tx.InsertBindingAsync(new RoleBinding(PrincipalKind.User, "admin", "nothing", RemotePath.Root), AccessSource.Local)));

        Assert.Equal((AccessError.PeerExists, AccessError.UserNotFound, AccessError.RoleNotFound), (samePin.Error, noUser.Error, noRole.Error));
        Assert.Equal(["site-a"], (await one.Store.ListPeersAsync(_cancel)).Select(p => p.Name));
    }

    [Fact]
    public async Task Only_the_sha256_of_a_secret_is_stored()
    {
        var (one, _) = await TwoNodesAsync("secret");
        await one.Admin.AddUserAsync(Caller, "erin");
        var issued = await one.Admin.IssueTokenAsync(Caller, "erin", new TokenRequest());

        await using var read = await one.Database.OpenAsync(_cancel);
        await using var command = new NpgsqlCommand("SELECT secret_sha256, strpos(t::text, $2) FROM tokens t WHERE id = $1", read);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = issued.Id });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = issued.Secret });
        await using var reader = await command.ExecuteReaderAsync(_cancel);

        Assert.True(await reader.ReadAsync(_cancel));
        Assert.Equal(ApiTokens.Hash(issued.Secret), reader.GetFieldValue<byte[]>(0));
        Assert.Equal(0, reader.GetInt32(1));
    }

    /// <summary>Runs both at once (each on its own thread, released together); each outcome is null or what it threw.</summary>
    private static async Task<Exception?[]> RaceAsync(Func<Task> first, Func<Task> second)
    {
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async Task<Exception?> RunAsync(Func<Task> work)
        {
            await start.Task;
            try
            {
                await work();
                return null;
            }
            catch (AccessException e)
            {
                return e;
            }
        }

        var both = new[] { Task.Run(() => RunAsync(first)), Task.Run(() => RunAsync(second)) };
        start.SetResult();
        return await Task.WhenAll(both);
    }

    private static Task<long> CountRootAdminsAsync(AccessNode node) => node.Store.WriteAsync(tx => tx.CountRootAdminsAsync());

    private async Task<(AccessNode One, AccessNode Other)> TwoNodesAsync(string purpose)
    {
        var connection = await server.CreateDatabaseAsync(purpose);
        var one = Own(PostgresDatabase.Create(connection, "turbomft-test"));
        var other = Own(PostgresDatabase.Create(connection, "turbomft-test"));
        var options = new AccessStoreOptions { AdminTokenSha256 = _adminToken };
        return (Node(Own(await PostgresAccessStore.OpenAsync(one, options, _cancel)), one), Node(Own(await PostgresAccessStore.OpenAsync(other, options, _cancel)), other));
    }

    private AccessNode Node(PostgresAccessStore store, PostgresDatabase database)
    {
        var node = new AccessNode(store, database, new AccessAdministration(store, new RecordingAuditTrail()), new AccessAuthenticator(store));
        _owned.Add(node);
        return node;
    }

    private T Own<T>(T resource)
        where T : IAsyncDisposable
    {
        _owned.Add(resource);
        return resource;
    }

    private async Task ExecuteAsync(PostgresDatabase database, string sql)
    {
        await using var connection = await database.OpenAsync(_cancel);
        await PostgresDatabase.ExecuteAsync(connection, null, sql, _cancel);
    }

    /// <summary>One node: its store over its own pool, with the administration and authentication above it.</summary>
    private sealed record AccessNode(PostgresAccessStore Store, PostgresDatabase Database, AccessAdministration Admin, AccessAuthenticator Auth) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            Auth.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
