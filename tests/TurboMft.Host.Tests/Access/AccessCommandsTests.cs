using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using TurboMft.Host.Access;
using TurboMft.Host.Audit;
using TurboMft.Host.Cli;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Tests.Cli;
using TurboMft.Host.Tests.Server;

namespace TurboMft.Host.Tests.Access;

/// <summary>
/// <c>turbomft user|token|role|peer|policy</c>: the real command tree in process (offline against a data directory with a
/// recording audit trail, and online against a real server), and the real executable where nothing needs the audit log.
/// </summary>
public sealed class AccessCommandsTests : IDisposable
{
    private const string BadPolicy = """
        {
          "users": [ { "name": "alice" } ],
          "grants": [
            { "role": "uploadr", "user": "alice", "area": "/ot/plant1" }
          ]
        }
        """;

    private readonly string _root = Directory.CreateTempSubdirectory("tmf-access-cli-").FullName;
    private readonly RecordingAuditTrail _audit = new();

    private string DataPath => Path.Combine(_root, "data");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Offline_user_add_reads_the_password_from_stdin_and_lists_the_user_as_json()
    {
        var add = await RunAsync("alice's long password\n", "user", "add", "alice", "--password-stdin", "--role", "uploader:/ot/plant1", "--data", DataPath);
        var list = await RunAsync(null, "user", "list", "--data", DataPath, "--json");

        Assert.Equal(0, add.ExitCode);
        Assert.Equal("added user alice with a password holding uploader:/ot/plant1\n", add.Output);
        Assert.Equal(0, list.ExitCode);
        using var json = JsonDocument.Parse(list.Output);
        var alice = json.RootElement.GetProperty("users").EnumerateArray().Single(u => u.GetProperty("name").GetString() == "alice");
        Assert.True(alice.GetProperty("hasPassword").GetBoolean());
        Assert.Equal("/ot/plant1", alice.GetProperty("roles")[0].GetProperty("area").GetString());
        Assert.Equal(["role.grant", "user.add"], _audit.Durable.Select(e => e.Action));
        Assert.All(_audit.Durable, e => Assert.Equal(AuditActor.System, e.Actor));
        Assert.DoesNotContain(_audit.Events, e => e.ToString().Contains("alice's long password", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Offline_token_create_prints_a_secret_that_authenticates_with_the_granted_role()
    {
        await RunAsync(null, "user", "add", "bob", "--data", DataPath);
        var grant = await RunAsync(null, "role", "grant", "downloader", "--user", "bob", "--area", "/it/reports", "--data", DataPath);
        var create = await RunAsync(null, "token", "create", "bob", "--label", "nightly", "--expires-in", "12h", "--data", DataPath);

        Assert.Equal((0, "granted downloader on /it/reports to user bob\n"), (grant.ExitCode, grant.Output));
        Assert.Equal(0, create.ExitCode);
        var secret = create.Output.TrimEnd('\n');
        Assert.Matches("^tmf_[A-Za-z0-9_-]{43}$", secret);
        Assert.Matches("^token tok_[a-z2-7]{12} for bob, expires .*shown only now\n$", create.Error);
        await using var store = await SqliteAccessStore.OpenAsync(DataDirectory.Open(DataPath));
        var principal = (await new AccessAuthenticator(store).AuthenticateTokenAsync(secret)).Principal!;
        Assert.Equal("bob", principal.Name);
        Assert.True(principal.Grants.Allows(Permission.Read, Engine.Storage.RemotePath.Parse("/it/reports/q3.pdf")));
        var list = await RunAsync(null, "token", "list", "--user", "bob", "--data", DataPath);
        Assert.Contains("nightly", list.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, list.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Offline_refusals_are_one_line_with_the_right_exit_code()
    {
        var lastAdmin = await RunAsync(null, "user", "disable", "admin", "--data", DataPath);
        var badRole = await RunAsync(null, "user", "add", "carol", "--role", "uploader", "--data", DataPath);
        var badName = await RunAsync(null, "user", "add", "Carol", "--data", DataPath);
        var noTerminal = await RunAsync(null, "user", "passwd", "admin", "--data", DataPath);
        var bothTargets = await RunAsync(null, "user", "list", "--data", DataPath, "--server", "https://127.0.0.1:1");
        var unknownRole = await RunAsync(null, "role", "grant", "uploadr", "--user", "admin", "--area", "/", "--data", DataPath);

        Assert.Equal(1, lastAdmin.ExitCode);
        Assert.Matches("^turbomft: error: Refused: disabling 'admin' would leave no enabled user with the admin permission on /.*\n$", lastAdmin.Error);
        Assert.Equal(2, badRole.ExitCode);
        Assert.Contains("ROLE:AREA", badRole.Error, StringComparison.Ordinal);
        Assert.Equal(2, badName.ExitCode);
        Assert.Contains("User name 'Carol' is not allowed", badName.Error, StringComparison.Ordinal);
        Assert.Equal(2, noTerminal.ExitCode);
        Assert.Contains("--password-stdin", noTerminal.Error, StringComparison.Ordinal);
        Assert.Equal(2, bothTargets.ExitCode);
        Assert.Equal(1, unknownRole.ExitCode);
        Assert.Contains("Role 'uploadr' does not exist", unknownRole.Error, StringComparison.Ordinal);
        Assert.All(new[] { lastAdmin, badRole, badName, noTerminal, unknownRole }, r => Assert.Single(r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    [Fact]
    public async Task Offline_commands_refuse_to_run_unaudited()
    {
        var run = await RunAsync(null, opener: null, "user", "add", "dave", "--data", DataPath);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("audit log", run.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(DataPath));
    }

    [Fact]
    public async Task Roles_and_peers_can_be_added_and_listed_offline()
    {
        var role = await RunAsync(null, "role", "add", "historian-reader", "--permissions", "list,read", "--data", DataPath);
        var peer = await RunAsync(null, "peer", "add", "site-b", "--common-name", "site-b.example", "--data", DataPath);
        var grant = await RunAsync(null, "role", "grant", "historian-reader", "--peer", "site-b", "--area", "/ot/plant1/historian", "--data", DataPath);
        var roles = await RunAsync(null, "role", "list", "--data", DataPath);
        var peers = await RunAsync(null, "peer", "list", "--data", DataPath, "--json");
        var remove = await RunAsync(null, "peer", "remove", "site-b", "--data", DataPath);

        Assert.Equal([0, 0, 0, 0, 0, 0], new[] { role, peer, grant, roles, peers, remove }.Select(r => r.ExitCode));
        Assert.Contains("historian-reader  list,read", roles.Output, StringComparison.Ordinal);
        Assert.Contains("historian-reader  peer site-b  /ot/plant1/historian", roles.Output, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(peers.Output);
        Assert.Equal("site-b.example", json.RootElement.GetProperty("peers")[0].GetProperty("commonName").GetString());
        Assert.Equal("removed peer site-b\n", remove.Output);
    }

    [Fact]
    public async Task Online_commands_work_against_a_running_server_with_an_admin_token()
    {
        await using var fixture = await ServerFixture.StartAsync(DataPath, logging: _ => { }, services: s => s.AddSingleton<IAuditTrail>(_audit));
        var server = fixture.Server;
        var target = new[] { "--server", server.Address.ToString().TrimEnd('/'), "--pin", server.Fingerprint, "--token-file", fixture.Data.AdminTokenPath };

        var add = await RunAsync("erin's long password\n", ["user", "add", "erin", "--password-stdin", .. target]);
        var create = await RunAsync(null, ["token", "create", "erin", "--permissions", "list", "--area", "/ot", "--json", .. target]);
        var duplicate = await RunAsync(null, ["user", "add", "erin", .. target]);

        Assert.Equal(0, add.ExitCode);
        Assert.Equal(0, create.ExitCode);
        using var issued = JsonDocument.Parse(create.Output);
        var principal = (await server.Services.GetRequiredService<IAccessAuthenticator>().AuthenticateTokenAsync(issued.RootElement.GetProperty("token").GetString()!)).Principal!;
        Assert.Equal("erin", principal.Name);
        Assert.Equal(1, duplicate.ExitCode);
        Assert.Contains("409 user-exists", duplicate.Error, StringComparison.Ordinal);
        Assert.Contains(_audit.Durable, e => e.Action == "user.add" && e.Detail == "user=erin with password");
    }

    [Fact]
    public async Task Policy_check_accepts_a_good_file_and_names_the_line_of_an_unknown_role()
    {
        var good = Path.Combine(_root, "good.json");
        var bad = Path.Combine(_root, "policy.json");
        await File.WriteAllTextAsync(good, BadPolicy.Replace("uploadr", "uploader", StringComparison.Ordinal));
        await File.WriteAllTextAsync(bad, BadPolicy);

        var ok = await TurboMftProcess.RunAsync("policy", "check", good);
        var error = await TurboMftProcess.RunAsync("policy", "check", bad);

        Assert.True(ok.ExitCode == 0, ok.ToString());
        Assert.Equal($"{good}: ok (0 roles, 1 users, 0 peers, 1 grants)\n", ok.Output);
        Assert.Equal(2, error.ExitCode);
        Assert.StartsWith($"turbomft: error: {bad}:4:15: unknown role 'uploadr'", error.Error, StringComparison.Ordinal);
        Assert.Single(error.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Serve_with_a_bad_policy_fails_at_start_with_exit_code_2_and_one_line()
    {
        var bad = Path.Combine(_root, "policy.json");
        await File.WriteAllTextAsync(bad, BadPolicy);

        var run = await TurboMftProcess.RunAsync("serve", "--data", DataPath, "--listen", "127.0.0.1:0", "--policy", bad);

        Assert.Equal(2, run.ExitCode);
        Assert.Equal($"turbomft: error: {bad}:4:15: unknown role 'uploadr'", run.Error.Split(';')[0]);
        Assert.Single(run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.False(Directory.Exists(DataPath));
    }

    [Fact]
    public async Task Offline_process_user_add_token_create_and_role_grant()
    {
        var add = await TurboMftProcess.RunAsync("user", "add", "frank", "--data", DataPath);
        var grant = await TurboMftProcess.RunAsync("role", "grant", "uploader", "--user", "frank", "--area", "/ot/plant1", "--data", DataPath);
        var create = await TurboMftProcess.RunAsync("token", "create", "frank", "--data", DataPath);

        Assert.True(add.ExitCode == 0, add.ToString());
        Assert.True(grant.ExitCode == 0, grant.ToString());
        Assert.True(create.ExitCode == 0, create.ToString());
        await using var store = await SqliteAccessStore.OpenAsync(DataDirectory.Open(DataPath));
        var principal = (await new AccessAuthenticator(store).AuthenticateTokenAsync(create.Output.Trim())).Principal!;
        Assert.True(principal.Grants.Allows(Permission.Write, Engine.Storage.RemotePath.Parse("/ot/plant1/x")));
    }

    [Fact]
    public async Task Offline_changes_are_refused_while_a_server_holds_the_audit_log_and_audited_when_none_does()
    {
        await using (var server = await Server.ServerFixture.StartAsync(DataPath))
        {
            var refused = await TurboMftProcess.RunAsync("user", "add", "gina", "--data", DataPath);
            Assert.Equal(1, refused.ExitCode);
            Assert.Contains("running server", refused.Error, StringComparison.Ordinal);
            var users = await server.Client.GetFromJsonAsync<JsonElement>(server.Url("/v1/admin/users"));
            Assert.DoesNotContain("\"gina\"", users.GetRawText(), StringComparison.Ordinal);
        }

        var added = await TurboMftProcess.RunAsync("user", "add", "gina", "--data", DataPath);
        Assert.True(added.ExitCode == 0, added.ToString());
        var records = new AuditFileReader(Path.Combine(DataPath, "audit")).Read().ToList();
        var record = Assert.Single(records, r => r.Action == "user.add");
        Assert.Contains("gina", record.Detail, StringComparison.Ordinal);
        Assert.Equal("system", record.Actor.User);
    }

    private Task<CliRun> RunAsync(string? stdin, params string[] args) => RunAsync(stdin, (_, _) => ValueTask.FromResult<IAuditTrail>(_audit), args);

    private static async Task<CliRun> RunAsync(string? stdin, OfflineAuditOpener? opener, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var input = new StringReader(stdin ?? string.Empty);
        var code = await TurboMftCommand.RunAsync(args, new AdminCliContext(output, error, input, InputIsTerminal: false, opener));
        return new CliRun(code, output.ToString().ReplaceLineEndings("\n"), error.ToString().ReplaceLineEndings("\n"));
    }
}
