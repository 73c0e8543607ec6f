using TurboMft.Engine.Storage;
using TurboMft.Host.Access;
using TurboMft.Host.Audit;

namespace TurboMft.Host.Tests.Access;

public sealed class AccessAdministrationTests : IAsyncLifetime
{
    private static readonly RemotePath Plant1 = RemotePath.Parse("/ot/plant1");
    private AccessFixture _f = null!;

    public async ValueTask InitializeAsync() => _f = await AccessFixture.CreateAsync();

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    private static AdminCaller Caller => AccessFixture.Caller;

    [Fact]
    public async Task Adding_a_user_lists_it_with_its_roles_and_audits_durably_without_secrets()
    {
        var user = await _f.Admin.AddUserAsync(Caller, "alice", "alice's long password", [new RoleAssignment("uploader", Plant1)]);
        var token = await _f.Admin.IssueTokenAsync(Caller, "alice", new TokenRequest("laptop"));

        Assert.Equal(new RoleAssignment("uploader", Plant1), Assert.Single(user.Roles));
        Assert.True(user.HasPassword);
        Assert.True(user.Enabled);
        Assert.Equal(AccessSource.Local, user.Source);
        Assert.Equal(["admin", "alice"], (await _f.Admin.ListUsersAsync()).Select(u => u.Name));
        Assert.Equal(
            ["role.grant success role=uploader user=alice area=/ot/plant1", "user.add success user=alice with password", $"token.issue success user=alice id={token.Id} permissions=list,read,write,delete,approve,audit,admin,metrics"],
            _f.Audit.Durable.Select(e => $"{e.Action} {e.Outcome} {e.Detail}"));
        Assert.All(_f.Audit.Events, e =>
        {
            Assert.Equal(Caller.Actor, e.Actor);
            Assert.Equal("test-correlation", e.CorrelationId);
            Assert.DoesNotContain(token.Secret, e.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain("alice's long password", e.ToString(), StringComparison.Ordinal);
        });
        Assert.Equal("/ot/plant1", _f.Audit.Events.Single(e => e.Action == "role.grant").Path);
        Assert.DoesNotContain(token.Secret, token.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Alice")]
    [InlineData("-alice")]
    [InlineData("al ice")]
    [InlineData("al/ice")]
    [InlineData("alice\n")]
    [InlineData("ali\u0441e")]
    [InlineData("")]
    [InlineData("a2345678901234567890123456789012345678901234567890123456789012345")]
    public async Task Bad_names_are_refused_and_audited_as_failures(string name)
    {
        var error = await Assert.ThrowsAsync<AccessException>(() => _f.Admin.AddUserAsync(Caller, name));

        Assert.Equal(AccessError.InvalidName, error.Error);
        Assert.Equal(("invalid-name", 400), error.Problem);
        var audited = Assert.Single(_f.Audit.Events);
        Assert.Equal(("user.add", AuditOutcome.Failure), (audited.Action, audited.Outcome));
        Assert.Empty(_f.Audit.Durable);
        Assert.Equal(["admin"], (await _f.Admin.ListUsersAsync()).Select(u => u.Name));
    }

    [Fact]
    public async Task Duplicates_and_unknown_references_are_typed_errors()
    {
        await _f.Admin.AddUserAsync(Caller, "bob");

        Assert.Equal(AccessError.UserExists, (await Assert.ThrowsAsync<AccessException>(() => _f.Admin.AddUserAsync(Caller, "bob"))).Error);
        Assert.Equal(AccessError.UserNotFound, (await Assert.ThrowsAsync<AccessException>(() => _f.Admin.SetUserEnabledAsync(Caller, "nobody", false))).Error);
        Assert.Equal(AccessError.UserNotFound, (await Assert.ThrowsAsync<AccessException>(() => _f.Admin.IssueTokenAsync(Caller, "nobody", new TokenRequest()))).Error);
        Assert.Equal(AccessError.RoleNotFound, (await Assert.ThrowsAsync<AccessException>(() => _f.Admin.GrantAsync(Caller, new RoleBinding(PrincipalKind.User, "bob", "uploadr", Plant1)))).Error);
        Assert.Equal(AccessError.PeerNotFound, (await Assert.ThrowsAsync<AccessException>(() => _f.Admin.GrantAsync(Caller, new RoleBinding(PrincipalKind.Peer, "bob", "uploader", Plant1)))).Error);
        Assert.Equal(AccessError.GrantNotFound, (await Assert.ThrowsAsync<AccessException>(() => _f.Admin.RevokeAsync(Caller, new RoleBinding(PrincipalKind.User, "bob", "uploader", Plant1)))).Error);
        Assert.Equal(AccessError.TokenNotFound, (await Assert.ThrowsAsync<AccessException>(() => _f.Admin.RevokeTokenAsync(Caller, "tok_aaaaaaaaaaaa"))).Error);
        Assert.Equal(AccessError.InvalidRequest, (await Assert.ThrowsAsync<AccessException>(() => _f.Admin.RevokeTokenAsync(Caller, "tmf_secret"))).Error);
        Assert.Equal(AccessError.InvalidRequest, (await Assert.ThrowsAsync<AccessException>(() => _f.Admin.SetPasswordAsync(Caller, "bob", "short"))).Error);
        Assert.Equal(AccessError.InvalidRequest, (await Assert.ThrowsAsync<AccessException>(() => _f.Admin.IssueTokenAsync(Caller, "bob", new TokenRequest(ExpiresIn: TimeSpan.Zero)))).Error);
    }

    [Fact]
    public async Task Granting_twice_is_idempotent_and_revoking_removes_the_rights()
    {
        await _f.Admin.AddUserAsync(Caller, "carol");
        var binding = new RoleBinding(PrincipalKind.User, "carol", "operator", Plant1);

        await _f.Admin.GrantAsync(Caller, binding);
        await _f.Admin.GrantAsync(Caller, binding);
        Assert.Single(await _f.Admin.ListGrantsAsync(), g => g.Binding.Principal == "carol");
        Assert.True((await _f.Store.GrantsForUserAsync("carol")).Allows(Permission.Delete, RemotePath.Parse("/ot/plant1/x")));

        await _f.Admin.RevokeAsync(Caller, binding);
        Assert.Empty((await _f.Store.GrantsForUserAsync("carol")).Grants);
        Assert.EndsWith("(already granted)", _f.Audit.Durable.Where(e => e.Action == "role.grant").Last().Detail, StringComparison.Ordinal);
        Assert.Equal("role.revoke", _f.Audit.Durable[^1].Action);
    }

    [Fact]
    public async Task The_last_admin_cannot_be_disabled_nor_lose_its_admin_grant_on_root()
    {
        var adminOnRoot = new RoleBinding(PrincipalKind.User, "admin", "admin", RemotePath.Root);

        var disable = await Assert.ThrowsAsync<AccessException>(() => _f.Admin.SetUserEnabledAsync(Caller, "admin", false));
        var revoke = await Assert.ThrowsAsync<AccessException>(() => _f.Admin.RevokeAsync(Caller, adminOnRoot));

        Assert.Equal(AccessError.LastAdmin, disable.Error);
        Assert.Equal(("last-admin", 409), revoke.Problem);
        Assert.Contains("no enabled user with the admin permission on /", disable.Message, StringComparison.Ordinal);
        Assert.True((await _f.Admin.ListUsersAsync()).Single().Enabled);
        Assert.Contains(adminOnRoot, (await _f.Admin.ListGrantsAsync()).Select(g => g.Binding));
        Assert.Equal(["last-admin", "last-admin"], _f.Audit.Events.Select(e => e.Detail!.Split(' ')[^1]));

        // With a second admin on "/", the first can go; an admin grant on a sub-area does not count.
        await _f.Admin.AddUserAsync(Caller, "root2", roles: [new RoleAssignment("admin", RemotePath.Parse("/ot"))]);
        await Assert.ThrowsAsync<AccessException>(() => _f.Admin.SetUserEnabledAsync(Caller, "admin", false));
        await _f.Admin.GrantAsync(Caller, new RoleBinding(PrincipalKind.User, "root2", "admin", RemotePath.Root));
        await _f.Admin.SetUserEnabledAsync(Caller, "admin", false);
        Assert.False((await _f.Admin.ListUsersAsync()).Single(u => u.Name == "admin").Enabled);
        Assert.Equal(AccessError.LastAdmin, (await Assert.ThrowsAsync<AccessException>(() => _f.Admin.SetUserEnabledAsync(Caller, "root2", false))).Error);
    }

    [Fact]
    public async Task A_change_whose_audit_record_cannot_be_written_is_rolled_back()
    {
        _f.Audit.Fail = true;

        await Assert.ThrowsAsync<AuditUnavailableException>(() => _f.Admin.AddUserAsync(Caller, "dave", roles: [new RoleAssignment("uploader", Plant1)]));
        await Assert.ThrowsAsync<AuditUnavailableException>(() => _f.Admin.RevokeTokenAsync(Caller, "tok_admin"));

        _f.Audit.Fail = false;
        Assert.Equal(["admin"], (await _f.Admin.ListUsersAsync()).Select(u => u.Name));
        Assert.Null((await _f.Admin.ListTokensAsync("admin")).Single().RevokedAt);
        Assert.DoesNotContain(await _f.Admin.ListGrantsAsync(), g => g.Binding.Principal == "dave");
    }

    [Fact]
    public async Task Custom_roles_can_be_added_but_built_in_roles_cannot_be_redefined()
    {
        var role = await _f.Admin.AddRoleAsync(Caller, "historian-reader", Permission.List | Permission.Read);
        await _f.Admin.AddUserAsync(Caller, "erin", roles: [new RoleAssignment("historian-reader", Plant1)]);

        Assert.Equal(new AccessRole("historian-reader", Permission.List | Permission.Read, false, AccessSource.Local), role);
        Assert.True((await _f.Store.GrantsForUserAsync("erin")).Allows(Permission.Read, RemotePath.Parse("/ot/plant1/h.csv")));
        Assert.Equal(AccessError.BuiltInRole, (await Assert.ThrowsAsync<AccessException>(() => _f.Admin.AddRoleAsync(Caller, "uploader", Permission.All))).Error);
        Assert.Equal(AccessError.RoleExists, (await Assert.ThrowsAsync<AccessException>(() => _f.Admin.AddRoleAsync(Caller, "historian-reader", Permission.List))).Error);
        Assert.Equal(AccessError.InvalidRequest, (await Assert.ThrowsAsync<AccessException>(() => _f.Admin.AddRoleAsync(Caller, "empty", Permission.None))).Error);
        Assert.Equal(Permission.List | Permission.Write, (await _f.Admin.ListRolesAsync()).Single(r => r.Name == "uploader").Permissions);
    }

    [Fact]
    public async Task Peers_need_exactly_one_key_that_no_other_peer_has_and_removal_drops_their_grants()
    {
        var pin = "sha256:" + new string('b', 64);
        var peer = await _f.Admin.AddPeerAsync(Caller, "site-b", pin, null);
        await _f.Admin.GrantAsync(Caller, new RoleBinding(PrincipalKind.Peer, "site-b", "uploader", Plant1));

        Assert.Equal(pin, peer.Fingerprint);
        Assert.Equal(AccessError.InvalidRequest, (await Assert.ThrowsAsync<AccessException>(() => _f.Admin.AddPeerAsync(Caller, "site-x", pin, "site-x"))).Error);
        Assert.Equal(AccessError.InvalidRequest, (await Assert.ThrowsAsync<AccessException>(() => _f.Admin.AddPeerAsync(Caller, "site-x", null, null))).Error);
        Assert.Equal(AccessError.InvalidRequest, (await Assert.ThrowsAsync<AccessException>(() => _f.Admin.AddPeerAsync(Caller, "site-x", "sha256:1234", null))).Error);
        Assert.Equal(AccessError.PeerExists, (await Assert.ThrowsAsync<AccessException>(() => _f.Admin.AddPeerAsync(Caller, "site-x", pin.ToUpperInvariant().Replace("SHA256", "sha256", StringComparison.Ordinal), null))).Error);
        Assert.Equal(AccessError.PeerExists, (await Assert.ThrowsAsync<AccessException>(() => _f.Admin.AddPeerAsync(Caller, "site-b", null, "site-b.example"))).Error);

        await _f.Admin.RemovePeerAsync(Caller, "site-b");

        Assert.Empty(await _f.Admin.ListPeersAsync());
        Assert.DoesNotContain(await _f.Admin.ListGrantsAsync(), g => g.Binding.Kind == PrincipalKind.Peer);
        Assert.Equal(AccessError.PeerNotFound, (await Assert.ThrowsAsync<AccessException>(() => _f.Admin.RemovePeerAsync(Caller, "site-b"))).Error);
        Assert.Equal(["peer.add", "role.grant", "peer.remove"], _f.Audit.Durable.Select(e => e.Action));
    }

    [Fact]
    public async Task Revoking_a_token_twice_is_harmless_and_audited_once_as_a_revocation()
    {
        await _f.Admin.AddUserAsync(Caller, "frank");
        var token = await _f.Admin.IssueTokenAsync(Caller, "frank", new TokenRequest("ci", TimeSpan.FromDays(1), Permission.List | Permission.Read, [Plant1]));

        await _f.Admin.RevokeTokenAsync(Caller, token.Id);
        await _f.Admin.RevokeTokenAsync(Caller, token.Id);

        var listed = Assert.Single(await _f.Admin.ListTokensAsync("frank"));
        Assert.Equal(("ci", Permission.List | Permission.Read), (listed.Label, listed.ScopePermissions));
        Assert.NotNull(listed.RevokedAt);
        Assert.Equal(["id=" + token.Id + " user=frank", "id=" + token.Id + " user=frank (already revoked)"], _f.Audit.Durable.Where(e => e.Action == "token.revoke").Select(e => e.Detail));
    }
}
