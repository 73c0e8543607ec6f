using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Npgsql;
using TurboMft.Engine.Client;
using TurboMft.Engine.Protocol;
using TurboMft.Host.Cluster;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Metadata;
using TurboMft.Host.Tests.Cli;
using TurboMft.Host.Tests.Server;

namespace TurboMft.Host.Tests.Postgres;

/// <summary>
/// The server on PostgreSQL, end to end on the Kestrel tier: a file pushed and pulled back through the real client with
/// its metadata, access and replication state in the database and no SQLite file in the data directory; the state kept
/// across a restart; a token issued, used and revoked through one node and refused by another on the same database at
/// once; a bad connection string refused before anything is created.
/// </summary>
public sealed class ServerOnPostgresTests(PostgresServer postgres) : IAsyncLifetime
{
    private readonly CancellationToken _cancel = TestContext.Current.CancellationToken;
    private readonly string _root = Directory.CreateTempSubdirectory("tmf-onpg-").FullName;
    private string _connection = null!;

    public async ValueTask InitializeAsync() => _connection = await postgres.CreateDatabaseAsync("server");

    public ValueTask DisposeAsync()
    {
        Directory.Delete(_root, recursive: true);
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task A_file_pushed_to_a_server_on_postgres_pulls_back_identical_and_outlives_a_restart()
    {
        await using var server = await ServerFixture.StartAsync(configure: s => s.Postgres = _connection);
        var local = Path.Combine(server.Scratch, "historian.bin");
        await File.WriteAllBytesAsync(local, RandomNumberGenerator.GetBytes((9 << 20) + 17), _cancel);
        using (var client = Client(server))
        {
            var pushed = await client.UploadFileAsync(local, "/in/historian.bin", cancellationToken: _cancel);
            Assert.Equal((9L << 20) + 17, pushed.Bytes);
        }

        Assert.False(File.Exists(Path.Combine(server.DataPath, SqliteMetadataStore.FileName)), "metadata.db must not exist on PostgreSQL");
        Assert.False(File.Exists(Path.Combine(server.DataPath, "access.db")), "access.db must not exist on PostgreSQL");
        Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM versions WHERE path = '/in/historian.bin' AND is_current"));

        await server.RestartAsync();

        var back = Path.Combine(server.Scratch, "historian.back");
        using (var client = Client(server))
        {
            await client.DownloadFileAsync("/in/historian.bin", back, cancellationToken: _cancel);
        }

        Assert.Equal(SHA256.HashData(await File.ReadAllBytesAsync(local, _cancel)), SHA256.HashData(await File.ReadAllBytesAsync(back, _cancel)));
    }

    [Fact]
    public async Task Many_small_files_commit_in_batches_and_a_file_on_the_deny_list_is_quarantined_with_its_verdict_in_the_database()
    {
        var evil = RandomNumberGenerator.GetBytes(4096);
        var denyList = Path.Combine(_root, "deny.txt");
        await File.WriteAllTextAsync(denyList, Convert.ToHexStringLower(SHA256.HashData(evil)) + "  evil.bin\n", _cancel);
        await using var server = await ServerFixture.StartAsync(configure: s =>
        {
            s.Postgres = _connection;
            s.Content.DenyListFile = denyList;
        });
        var items = new List<TransferItem>();
        for (var i = 0; i < 300; i++)
        {
            var path = Path.Combine(server.Scratch, $"f{i:D3}.csv");
            await File.WriteAllTextAsync(path, $"t,v\n{i},{i * 7}\n", _cancel);
            items.Add(new TransferItem(path, $"/in/many/f{i:D3}.csv"));
        }

        var evilPath = Path.Combine(server.Scratch, "evil.bin");
        await File.WriteAllBytesAsync(evilPath, evil, _cancel);
        items.Add(new TransferItem(evilPath, "/in/many/evil.bin"));

        using var client = Client(server);
        var quarantined = await Assert.ThrowsAsync<FileQuarantinedException>(() => client.PushAsync(items, cancellationToken: _cancel));

        Assert.Equal("/in/many/evil.bin", Assert.Single(quarantined.Files).Path);
        var listed = await client.ListAsync("/in/many", _cancel);
        Assert.Equal(301, listed.Count);
        Assert.Equal(300, listed.Count(f => f.IsReleased));
        Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM versions WHERE path = '/in/many/evil.bin' AND is_current AND release_state = 'quarantined'"));
        Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM scan_verdicts v JOIN versions r USING (version_id) WHERE r.path = '/in/many/evil.bin' AND v.outcome = 'infected'"));
        using var refused = await server.Client.GetAsync(server.Url("/v1/files/in/many/evil.bin"), _cancel);
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
    }

    [Fact]
    public async Task A_token_issued_through_one_node_works_on_another_and_its_revocation_is_refused_there_at_once()
    {
        await using var a = await ServerFixture.StartAsync(configure: s => { s.Postgres = _connection; s.Site = "node-a"; });
        await using var b = await ServerFixture.StartAsync(configure: s => { s.Postgres = _connection; s.Site = "node-b"; });

        using var issue = await a.Client.PostAsJsonAsync(a.Url("/v1/admin/tokens"), new { user = "admin", label = "shared" }, _cancel);
        Assert.Equal(HttpStatusCode.Created, issue.StatusCode);
        var issued = await issue.Content.ReadFromJsonAsync<JsonElement>(_cancel);
        var token = issued.GetProperty("token").GetString()!;
        using var onB = ServerFixture.CreateClient(b.Server.Fingerprint, token, HttpVersion.Version11);

        using (var listed = await onB.GetAsync(b.Url("/v1/admin/users"), _cancel))
        {
            Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        }

        using (var revoke = await a.Client.DeleteAsync(a.Url($"/v1/admin/tokens/{issued.GetProperty("id").GetString()}"), _cancel))
        {
            Assert.True(revoke.IsSuccessStatusCode, $"{(int)revoke.StatusCode}");
        }

        // No cache of tokens on any node: the next request on B already meets the revocation.
        using var refused = await onB.GetAsync(b.Url("/v1/admin/users"), _cancel);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task Nodes_on_one_database_list_each_other_answer_ready_and_a_stopped_node_leaves_the_list()
    {
        await using var a = await ServerFixture.StartAsync(configure: s => { s.Postgres = _connection; s.Node = "node-a"; });
        await using var b = await ServerFixture.StartAsync(configure: s => { s.Postgres = _connection; s.Node = "node-b"; });
        using var onB = ServerFixture.CreateClient(b.Server.Fingerprint, a.Token, HttpVersion.Version11);

        var listing = await onB.GetFromJsonAsync<NodeListing>(b.Url("/v1/admin/nodes"), _cancel);
        Assert.Equal("node-b", listing!.Node);
        Assert.Equal(["node-a", "node-b"], listing.Nodes.Select(n => n.Name));
        Assert.All(listing.Nodes, n => Assert.True(n.Live));
        Assert.All(listing.Nodes, n => Assert.Equal(ProductInfo.Version, n.Version));
        Assert.Equal("ready\n", await a.Client.GetStringAsync(a.Url("/readyz"), _cancel));

        await a.StopAsync();
        var after = await onB.GetFromJsonAsync<NodeListing>(b.Url("/v1/admin/nodes"), _cancel);
        Assert.Equal(["node-b"], after!.Nodes.Select(n => n.Name));

        // A second node under a live node's name stops at start.
        var clash = await Assert.ThrowsAsync<NodeNameTakenException>(() => ServerFixture.StartAsync(configure: s => { s.Postgres = _connection; s.Node = "node-b"; }));
        Assert.Contains("'node-b' is held by a live node", clash.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Host=127.0.0.1;Database=turbomft;Password=never-shown-9f;Bogus=1", "is invalid")]
    [InlineData("Password=never-shown-9f;Database=turbomft", "names no Host")]
    public async Task Serve_with_a_bad_connection_string_exits_2_with_one_line_and_creates_nothing(string connection, string says)
    {
        var data = Path.Combine(_root, "data");

        var run = await TurboMftProcess.RunAsync("serve", "--data", data, "--listen", "127.0.0.1:0", "--postgres", connection);

        Assert.Equal(2, run.ExitCode);
        var line = Assert.Single(run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("turbomft: error: The PostgreSQL connection string (--postgres, TURBOMFT_POSTGRES", line, StringComparison.Ordinal);
        Assert.Contains(says, line, StringComparison.Ordinal);
        Assert.DoesNotContain("never-shown-9f", run.ToString(), StringComparison.Ordinal);
        Assert.False(Directory.Exists(data));
    }

    [Fact]
    public async Task Serve_with_a_wrong_password_fails_naming_the_database_and_not_the_password()
    {
        var wrong = new NpgsqlConnectionStringBuilder(_connection) { Password = "wrong-" + postgres.Password }.ConnectionString;

        var run = await TurboMftProcess.RunAsync(
            new Dictionary<string, string?> { ["TURBOMFT_POSTGRES"] = wrong },
            "serve", "--data", Path.Combine(_root, "data"), "--listen", "127.0.0.1:0");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("password authentication failed", run.Error, StringComparison.Ordinal);
        Assert.Contains($"database {new NpgsqlConnectionStringBuilder(_connection).Database} on 127.0.0.1:{postgres.Port}", run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(postgres.Password, run.ToString(), StringComparison.Ordinal);
    }

    private static TurboMftClient Client(ServerFixture server) => new(new TurboMftClientOptions
    {
        BaseAddress = server.Address,
        Token = server.Token,
        PinSha256 = server.Server.Fingerprint,
        ChunkSize = 4 << 20,
    });

    private async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_connection);
        await connection.OpenAsync(_cancel);
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync(_cancel))!;
    }
}
