using System.Text;
using TurboMft.Engine.Storage;
using TurboMft.Host.Access;

namespace TurboMft.Host.Tests.Access;

public sealed class AccessPolicyFileTests : IAsyncLifetime
{
    private const string Pin = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    private const string Valid = """
        {
          // Plant 1: historian exports go out, reports come in.
          "roles": [
            { "name": "historian-reader", "permissions": "list,read" }
          ],
          "users": [
            { "name": "alice" },
            { "name": "bob", "enabled": false }
          ],
          "peers": [
            { "name": "site-b", "fingerprint": "sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" },
            { "name": "site-c", "commonName": "site-c.example" }
          ],
          "grants": [
            { "role": "uploader", "user": "alice", "area": "/ot/plant1" },
            { "role": "historian-reader", "user": "bob", "area": "/ot/plant1/historian" },
            { "role": "downloader", "peer": "site-b", "area": "/outbound/site-b" },
          ]
        }
        """;

    private AccessFixture _f = null!;

    public async ValueTask InitializeAsync() => _f = await AccessFixture.CreateAsync();

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    [Fact]
    public void A_valid_file_parses_into_its_model()
    {
        var policy = Parse(Valid);

        Assert.Equal(new PolicyRole("historian-reader", Permission.List | Permission.Read, new PolicyPosition(4, 5)), Assert.Single(policy.Roles));
        Assert.Equal([("alice", true), ("bob", false)], policy.Users.Select(u => (u.Name, u.Enabled)));
        Assert.Equal([("site-b", Pin, null), ("site-c", null, "site-c.example")], policy.Peers.Select(p => (p.Name, p.Fingerprint, p.CommonName)));
        Assert.Equal(
            [
                new RoleBinding(PrincipalKind.User, "alice", "uploader", RemotePath.Parse("/ot/plant1")),
                new RoleBinding(PrincipalKind.User, "bob", "historian-reader", RemotePath.Parse("/ot/plant1/historian")),
                new RoleBinding(PrincipalKind.Peer, "site-b", "downloader", RemotePath.Parse("/outbound/site-b")),
            ],
            policy.Grants.Select(g => g.Binding));
        Assert.Equal(new PolicyPosition(15, 5), policy.Grants[0].At);
    }

    [Fact]
    public void A_syntax_error_names_its_line_and_column()
    {
        var text = """
            {
              "users": [
                { "name": "alice" }
                { "name": "bob" }
              ]
            }
            """;

        var error = Assert.Throws<PolicyFileException>(() => Parse(text));

        Assert.Equal((4, 5), (error.Line, error.Column));
        Assert.StartsWith("policy.json:4:5: invalid JSON: ", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void An_unknown_role_names_its_line_and_column()
    {
        var text = """
            {
              "users": [ { "name": "alice" } ],
              "grants": [
                { "role": "uploader", "user": "alice", "area": "/ot/plant1" },
                { "user": "alice",
                  "role": "uploadr", "area": "/ot/plant2" }
              ]
            }
            """;

        var error = Assert.Throws<PolicyFileException>(() => Parse(text));

        Assert.Equal("policy.json:6:15: unknown role 'uploadr'; use a built-in role (admin, operator, uploader, downloader, auditor, approver, monitor) or one declared under \"roles\"", error.Message);
        Assert.Equal((6, 15), (error.Line, error.Column));
    }

    [Theory]
    [InlineData("""{ "roles": [ { "name": "r1", "permissions": "list,raed" } ] }""", 1, 45, "unknown permission 'raed'")]
    [InlineData("""{ "roles": [ { "name": "uploader", "permissions": "list" } ] }""", 1, 24, "'uploader' is a built-in role")]
    [InlineData("""{ "users": [ { "name": "Alice" } ] }""", 1, 24, "user name 'Alice' is not allowed")]
    [InlineData("""{ "users": [ { "name": "a" }, { "name": "a" } ] }""", 1, 41, "user 'a' is declared twice")]
    [InlineData("""{ "users": [ { "nmae": "a" } ] }""", 1, 16, "unknown property 'nmae' in user")]
    [InlineData("""{ "user": [] }""", 1, 3, "unknown property 'user'")]
    [InlineData("""{ "users": [ { "name": "a", "enabled": "yes" } ] }""", 1, 40, "'enabled' must be true or false")]
    [InlineData("""{ "users": [ { "name": "a" } ], "grants": [ { "role": "uploader", "user": "a", "area": "/ot/../etc" } ] }""", 1, 88, "area '/ot/../etc' is not a valid path")]
    [InlineData("""{ "users": [ { "name": "a" } ], "grants": [ { "role": "uploader", "user": "b", "area": "/x" } ] }""", 1, 75, "unknown user 'b'")]
    [InlineData("""{ "grants": [ { "role": "uploader", "peer": "p", "area": "/x" } ] }""", 1, 45, "unknown peer 'p'")]
    [InlineData("""{ "grants": [ { "role": "uploader", "area": "/x" } ] }""", 1, 15, "exactly one of \"user\" and \"peer\"")]
    [InlineData("""{ "peers": [ { "name": "p" } ] }""", 1, 14, "exactly one of \"fingerprint\"")]
    [InlineData("""{ "peers": [ { "name": "p", "fingerprint": "sha256:12" } ] }""", 1, 44, "after 'sha256:' come exactly 64 hex digits")]
    [InlineData("""[]""", 1, 1, "must be a JSON object")]
    [InlineData("", 1, 1, "invalid JSON")]
    public void Semantic_errors_name_their_token(string text, int line, int column, string expected)
    {
        var error = Assert.Throws<PolicyFileException>(() => Parse(text));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Equal((line, column), (error.Line, error.Column));
    }

    [Fact]
    public async Task Load_reads_a_file_and_reports_its_path_as_given()
    {
        var path = Path.Combine(_f.Root, "policy.json");
        await File.WriteAllTextAsync(path, "\uFEFF" + Valid.Replace("\"uploader\"", "\"uploadr\"", StringComparison.Ordinal));

        var error = Assert.Throws<PolicyFileException>(() => AccessPolicyFile.Load(path));

        Assert.StartsWith($"{path}:15:15: unknown role 'uploadr';", error.Message, StringComparison.Ordinal);
        Assert.Throws<FileNotFoundException>(() => AccessPolicyFile.Load(Path.Combine(_f.Root, "missing.json")));
    }

    [Fact]
    public async Task Applying_a_policy_creates_its_entries_and_applying_it_again_changes_nothing()
    {
        var policy = Parse(Valid);

        await _f.Admin.ApplyPolicyAsync(AdminCaller.System, policy);
        var first = await SnapshotAsync();
        await _f.Admin.ApplyPolicyAsync(AdminCaller.System, policy);

        Assert.Equal(first, await SnapshotAsync());
        Assert.Contains("user alice enabled policy", first);
        Assert.Contains("user bob disabled policy", first);
        Assert.Contains("role historian-reader list,read policy", first);
        Assert.Contains("peer site-c site-c.example policy", first);
        Assert.Contains("grant downloader peer site-b /outbound/site-b policy", first);
        Assert.True((await _f.Store.GrantsForUserAsync("alice")).Allows(Permission.Write, RemotePath.Parse("/ot/plant1/a")));
        var load = _f.Audit.Durable[^1];
        Assert.Equal(("policy.load", "success", "file=policy.json roles=1 users=2 peers=2 grants=3"), (load.Action, load.Outcome, load.Detail));
        Assert.Equal("system", load.Actor.User);
    }

    [Fact]
    public async Task Entries_dropped_from_the_policy_are_removed_and_entries_made_with_the_cli_stay()
    {
        await _f.Admin.ApplyPolicyAsync(AdminCaller.System, Parse(Valid));
        var aliceToken = await _f.Admin.IssueTokenAsync(AccessFixture.Caller, "alice", new TokenRequest());
        var bobToken = await _f.Admin.IssueTokenAsync(AccessFixture.Caller, "bob", new TokenRequest());
        await _f.Admin.AddUserAsync(AccessFixture.Caller, "local-user", roles: [new RoleAssignment("downloader", RemotePath.Parse("/ot"))]);
        await _f.Admin.GrantAsync(AccessFixture.Caller, new RoleBinding(PrincipalKind.User, "alice", "auditor", RemotePath.Root));

        var smaller = """
            {
              "users": [ { "name": "alice" } ],
              "grants": [ { "role": "downloader", "user": "alice", "area": "/ot/plant1" } ]
            }
            """;
        await _f.Admin.ApplyPolicyAsync(AdminCaller.System, Parse(smaller));

        var snapshot = await SnapshotAsync();
        Assert.DoesNotContain(snapshot, s => s.Contains("bob", StringComparison.Ordinal));
        Assert.DoesNotContain(snapshot, s => s.Contains("site-", StringComparison.Ordinal));
        Assert.DoesNotContain(snapshot, s => s.Contains("historian-reader", StringComparison.Ordinal));
        Assert.DoesNotContain("grant uploader user alice /ot/plant1 policy", snapshot);
        Assert.Contains("grant downloader user alice /ot/plant1 policy", snapshot);
        Assert.Contains("grant auditor user alice / local", snapshot);
        Assert.Contains("user local-user enabled local", snapshot);
        Assert.Contains("grant downloader user local-user /ot local", snapshot);
        Assert.Equal("unknown-token", (await _f.Auth.AuthenticateTokenAsync(bobToken.Secret)).FailureReason);
        Assert.Equal("alice", (await _f.Auth.AuthenticateTokenAsync(aliceToken.Secret)).Principal?.Name);
    }

    [Fact]
    public async Task Policy_entries_cannot_be_changed_through_the_cli_and_a_policy_cannot_drop_the_last_admin()
    {
        await _f.Admin.ApplyPolicyAsync(AdminCaller.System, Parse(Valid));

        var revoke = await Assert.ThrowsAsync<AccessException>(() => _f.Admin.RevokeAsync(AccessFixture.Caller, new RoleBinding(PrincipalKind.User, "alice", "uploader", RemotePath.Parse("/ot/plant1"))));
        var remove = await Assert.ThrowsAsync<AccessException>(() => _f.Admin.RemovePeerAsync(AccessFixture.Caller, "site-b"));
        Assert.Equal(("policy-managed", 409), revoke.Problem);
        Assert.Equal(AccessError.PolicyManaged, remove.Error);

        // Declaring the admin user takes it over; dropping it again would delete it, and with it the last admin.
        await _f.Admin.ApplyPolicyAsync(AdminCaller.System, Parse("""{ "users": [ { "name": "admin" } ] }"""));
        var before = await SnapshotAsync();
        var lastAdmin = await Assert.ThrowsAsync<AccessException>(() => _f.Admin.ApplyPolicyAsync(AdminCaller.System, Parse("{}")));

        Assert.Equal(AccessError.LastAdmin, lastAdmin.Error);
        Assert.Equal(before, await SnapshotAsync());
        Assert.Equal(("policy.load", "failure"), (_f.Audit.Events[^1].Action, _f.Audit.Events[^1].Outcome));
    }

    [Fact]
    public async Task A_role_dropped_from_the_policy_but_granted_through_the_cli_is_a_clear_error()
    {
        await _f.Admin.ApplyPolicyAsync(AdminCaller.System, Parse(Valid));
        await _f.Admin.AddUserAsync(AccessFixture.Caller, "kim", roles: [new RoleAssignment("historian-reader", RemotePath.Parse("/x"))]);

        var error = await Assert.ThrowsAsync<AccessException>(() => _f.Admin.ApplyPolicyAsync(AdminCaller.System, Parse("{}")));

        Assert.Equal(AccessError.RoleInUse, error.Error);
        Assert.Contains("user 'kim' holds it on /x", error.Message, StringComparison.Ordinal);
        Assert.Contains("role historian-reader list,read policy", await SnapshotAsync());
    }

    [Fact]
    public async Task A_policy_peer_whose_fingerprint_a_cli_peer_has_points_at_its_line()
    {
        await _f.Admin.AddPeerAsync(AccessFixture.Caller, "old-site", Pin, null);

        var error = await Assert.ThrowsAsync<PolicyFileException>(() => _f.Admin.ApplyPolicyAsync(AdminCaller.System, Parse(Valid)));

        Assert.Equal((11, 5), (error.Line, error.Column));
        Assert.Contains("peer 'old-site'", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(await _f.Admin.ListUsersAsync(), u => u.Name == "alice");
    }

    private static AccessPolicy Parse(string text) => AccessPolicyFile.Parse(Encoding.UTF8.GetBytes(text), "policy.json");

    private async Task<List<string>> SnapshotAsync()
    {
        var lines = new List<string>();
        lines.AddRange((await _f.Admin.ListUsersAsync()).Select(u => $"user {u.Name} {(u.Enabled ? "enabled" : "disabled")} {u.Source.ToString().ToLowerInvariant()}"));
        lines.AddRange((await _f.Admin.ListRolesAsync()).Select(r => $"role {r.Name} {Permissions.Format(r.Permissions)} {r.Source.ToString().ToLowerInvariant()}"));
        lines.AddRange((await _f.Admin.ListPeersAsync()).Select(p => $"peer {p.Name} {p.Fingerprint ?? p.CommonName} {p.Source.ToString().ToLowerInvariant()}"));
        lines.AddRange((await _f.Admin.ListGrantsAsync()).Select(g => $"grant {g.Binding.Role} {g.Binding.Kind.ToString().ToLowerInvariant()} {g.Binding.Principal} {g.Binding.Area.Value} {g.Source.ToString().ToLowerInvariant()}"));
        return lines;
    }
}
