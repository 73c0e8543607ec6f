using Microsoft.Extensions.Time.Testing;
using TurboMft.Engine.Storage;
using TurboMft.Host.Access;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Tests.Access;

/// <summary>
/// What every provider of <see cref="IAccessStore"/> promises (docs/architecture.md, "Ports"): its seeding, authentication,
/// listings, login and write transactions. A provider's test class derives from this and only says how to open its store.
/// </summary>
public abstract class AccessStoreContract : IAsyncLifetime
{
    private readonly List<string> _roots = [];
    private readonly List<IAccessStore> _open = [];

    /// <summary>The store under test, over <see cref="Data"/>.</summary>
    protected IAccessStore Store { get; private set; } = null!;

    /// <summary>A fresh data directory (with its first-start admin token).</summary>
    protected DataDirectory Data { get; private set; } = null!;

    /// <summary>The store's clock.</summary>
    protected FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    /// <summary>The authenticator over <see cref="Store"/> (the rules above the port).</summary>
    protected AccessAuthenticator Auth { get; private set; } = null!;

    /// <summary>The administration service over <see cref="Store"/>, auditing to a recording trail.</summary>
    protected AccessAdministration Admin { get; private set; } = null!;

    private static AdminCaller Caller => AccessFixture.Caller;

    /// <summary>
    /// Opens the provider's store for <paramref name="data"/>: a data directory not seen before gives a new store (seeded
    /// from its admin token), one seen before the same stored state again (the store was closed in between).
    /// </summary>
    protected abstract Task<IAccessStore> OpenAsync(DataDirectory data, AccessStoreOptions options);

    public async ValueTask InitializeAsync()
    {
        Data = NewDataDirectory();
        Store = await OpenTrackedAsync(Data, new AccessStoreOptions { Time = Clock });
        Admin = new AccessAdministration(Store, new RecordingAuditTrail());
        Auth = new AccessAuthenticator(Store);
    }

    public virtual async ValueTask DisposeAsync()
    {
        Auth.Dispose();
        foreach (var store in _open)
        {
            await store.DisposeAsync();
        }

        foreach (var root in _roots)
        {
            Directory.Delete(root, recursive: true);
        }

        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task A_new_store_holds_the_built_in_roles_and_nothing_custom()
    {
        var roles = await Store.ListRolesAsync();

        Assert.Equal(AccessRole.BuiltIns.OrderBy(r => r.Name, StringComparer.Ordinal), roles);
        Assert.Equal(
            [
                "admin=list,read,write,delete,approve,audit,admin,metrics", "approver=list,read,approve", "auditor=list,audit", "downloader=list,read",
                "monitor=metrics", "operator=list,read,write,delete", "uploader=list,write",
            ],
            roles.Select(r => $"{r.Name}={Permissions.Format(r.Permissions)}"));
        Assert.Equal(["admin"], (await Store.ListUsersAsync()).Select(u => u.Name));
        Assert.Empty(await Store.ListPeersAsync());
    }

    [Fact]
    public async Task The_plain_reads_return_what_is_stored_and_judge_nothing()
    {
        await Admin.AddUserAsync(Caller, "tess", "tess's long password");
        await Admin.AddUserAsync(Caller, "uma");
        var scoped = await Admin.IssueTokenAsync(Caller, "tess", new TokenRequest("scoped", TimeSpan.FromHours(2), Permission.List, [RemotePath.Parse("/ot")]));
        await Admin.RevokeTokenAsync(Caller, scoped.Id);
        await Admin.SetUserEnabledAsync(Caller, "tess", false);
        var pin = "sha256:" + new string('b', 64);
        await Admin.AddPeerAsync(Caller, "site-p", pin, null);
        await Admin.AddPeerAsync(Caller, "site-q", null, "site-q.example");

        var token = await Store.FindTokenAsync(ApiTokens.Hash(scoped.Secret));
        Assert.NotNull(token);
        Assert.Equal((scoped.Id, "tess", false, Permission.List), (token.Id, token.User, token.UserEnabled, token.Scope));
        Assert.Equal(ApiTokens.Hash(scoped.Secret), token.SecretSha256);
        Assert.Equal([RemotePath.Parse("/ot")], token.ScopeAreas!);
        Assert.NotNull(token.RevokedAt);
        Assert.Equal(Clock.GetUtcNow().AddHours(2).ToUnixTimeMilliseconds(), token.ExpiresAt?.ToUnixTimeMilliseconds());
        Assert.Null(await Store.FindTokenAsync(ApiTokens.Hash(DataDirectory.NewToken())));

        var at = Clock.GetUtcNow();
        await Store.RecordTokenUseAsync(scoped.Id, at);
        await Store.RecordTokenUseAsync(scoped.Id, at.AddMinutes(-5));
        Assert.Equal(at.ToUnixTimeMilliseconds(), (await Store.ListTokensAsync("tess")).Single().LastUsedAt?.ToUnixTimeMilliseconds());

        Assert.Equal(new StoredPeer("site-p", pin, true), await Store.FindPeerByFingerprintAsync(pin));
        Assert.Equal(new StoredPeer("site-q", "site-q.example", true), await Store.FindPeerByCommonNameAsync("site-q.example"));
        Assert.Null(await Store.FindPeerByFingerprintAsync("sha256:" + new string('c', 64)));
        Assert.Null(await Store.FindPeerByCommonNameAsync("site-p"));

        var tess = await Store.GetCredentialAsync("tess");
        Assert.False(tess!.Enabled);
        Assert.True(PasswordHasher.Verify("tess's long password", tess.Password!));
        Assert.Equal(new StoredCredential(true, null), await Store.GetCredentialAsync("uma"));
        Assert.Null(await Store.GetCredentialAsync("nobody"));
    }

    [Fact]
    public async Task The_first_start_admin_token_authenticates_as_admin_with_every_permission_on_root()
    {
        var outcome = await Auth.AuthenticateTokenAsync(Data.ReadAdminToken());

        var principal = Assert.IsType<Principal>(outcome.Principal);
        Assert.Equal(PrincipalKind.User, principal.Kind);
        Assert.Equal("admin", principal.Name);
        Assert.Equal("tok_admin", principal.TokenId);
        Assert.True(principal.Grants.Allows(Permission.Admin, RemotePath.Root));
        Assert.True(principal.Grants.Allows(Permission.All, RemotePath.Parse("/ot/plant1/x.csv")));
        var token = Assert.Single(await Store.ListTokensAsync("admin"));
        Assert.Equal("first-start admin token", token.Label);
        Assert.Null(token.ExpiresAt);
        Assert.Equal([new GrantInfo(new RoleBinding(PrincipalKind.User, "admin", "admin", RemotePath.Root), AccessSource.Local)], await Store.ListGrantsAsync());
    }

    [Fact]
    public async Task Revoking_tok_admin_ends_the_first_start_token()
    {
        await Admin.RevokeTokenAsync(Caller, "tok_admin");

        var outcome = await Auth.AuthenticateTokenAsync(Data.ReadAdminToken());

        Assert.Null(outcome.Principal);
        Assert.Equal("revoked", outcome.FailureReason);
        Assert.NotNull(Assert.Single(await Store.ListTokensAsync("admin")).RevokedAt);
    }

    [Fact]
    public async Task An_issued_token_authenticates_with_exactly_its_users_grants()
    {
        await Admin.AddUserAsync(Caller, "alice", roles: [new RoleAssignment("uploader", RemotePath.Parse("/ot/plant1"))]);
        await Admin.GrantAsync(Caller, new RoleBinding(PrincipalKind.User, "alice", "downloader", RemotePath.Parse("/it/reports")));

        var issued = await Admin.IssueTokenAsync(Caller, "alice", new TokenRequest("ci job"));
        var principal = (await Auth.AuthenticateTokenAsync(issued.Secret)).Principal!;

        Assert.StartsWith("tmf_", issued.Secret, StringComparison.Ordinal);
        Assert.Matches("^tok_[a-z2-7]{12}$", issued.Id);
        Assert.Equal(new Principal(PrincipalKind.User, "alice", issued.Id, principal.Grants), principal);
        Assert.True(principal.Grants.Allows(Permission.Write, RemotePath.Parse("/ot/plant1/historian/a.csv")));
        Assert.True(principal.Grants.Allows(Permission.Read, RemotePath.Parse("/it/reports/q3.pdf")));
        Assert.False(principal.Grants.Allows(Permission.Read, RemotePath.Parse("/ot/plant1/historian/a.csv")));
        Assert.False(principal.Grants.Allows(Permission.Write, RemotePath.Parse("/ot/plant10/a.csv")));
        Assert.False(principal.Grants.Allows(Permission.Admin, RemotePath.Root));
    }

    [Fact]
    public async Task Grants_changed_after_issue_apply_to_the_next_request()
    {
        await Admin.AddUserAsync(Caller, "bob");
        var issued = await Admin.IssueTokenAsync(Caller, "bob", new TokenRequest());
        var area = RemotePath.Parse("/ot/plant2");
        Assert.Empty((await Auth.AuthenticateTokenAsync(issued.Secret)).Principal!.Grants.Grants);

        await Admin.GrantAsync(Caller, new RoleBinding(PrincipalKind.User, "bob", "operator", area));

        Assert.True((await Auth.AuthenticateTokenAsync(issued.Secret)).Principal!.Grants.Allows(Permission.Delete, RemotePath.Parse("/ot/plant2/x")));
    }

    [Fact]
    public async Task Expired_revoked_disabled_and_unknown_tokens_fail_with_their_reason()
    {
        await Admin.AddUserAsync(Caller, "dave", roles: [new RoleAssignment("downloader", RemotePath.Root)]);
        var shortLived = await Admin.IssueTokenAsync(Caller, "dave", new TokenRequest(ExpiresIn: TimeSpan.FromHours(1)));
        var revoked = await Admin.IssueTokenAsync(Caller, "dave", new TokenRequest());
        var forDisabled = await Admin.IssueTokenAsync(Caller, "dave", new TokenRequest());
        await Admin.RevokeTokenAsync(Caller, revoked.Id);
        Assert.NotNull((await Auth.AuthenticateTokenAsync(shortLived.Secret)).Principal);

        Clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal("expired", (await Auth.AuthenticateTokenAsync(shortLived.Secret)).FailureReason);
        Assert.Equal("revoked", (await Auth.AuthenticateTokenAsync(revoked.Secret)).FailureReason);
        Assert.NotNull((await Auth.AuthenticateTokenAsync(forDisabled.Secret)).Principal);

        await Admin.SetUserEnabledAsync(Caller, "dave", enabled: false);
        Assert.Equal("user-disabled", (await Auth.AuthenticateTokenAsync(forDisabled.Secret)).FailureReason);
        Assert.Equal("unknown-token", (await Auth.AuthenticateTokenAsync(DataDirectory.NewToken())).FailureReason);
        Assert.Equal("unknown-token", (await Auth.AuthenticateTokenAsync(string.Empty)).FailureReason);

        await Admin.SetUserEnabledAsync(Caller, "dave", enabled: true);
        Assert.Equal("dave", (await Auth.AuthenticateTokenAsync(forDisabled.Secret)).Principal?.Name);
    }

    [Fact]
    public async Task A_token_scope_narrows_and_never_widens()
    {
        await Admin.AddUserAsync(Caller, "erin", roles: [new RoleAssignment("downloader", RemotePath.Parse("/ot"))]);
        var wants = await Admin.IssueTokenAsync(Caller, "erin", new TokenRequest(Permissions: Permission.Admin | Permission.Read | Permission.Write, Areas: [RemotePath.Root]));
        var narrow = await Admin.IssueTokenAsync(Caller, "erin", new TokenRequest(Permissions: Permission.List, Areas: [RemotePath.Parse("/ot/plant1"), RemotePath.Parse("/it")]));

        var widened = (await Auth.AuthenticateTokenAsync(wants.Secret)).Principal!.Grants;
        var narrowed = (await Auth.AuthenticateTokenAsync(narrow.Secret)).Principal!.Grants;

        Assert.False(widened.HoldsAnywhere(Permission.Admin));
        Assert.False(widened.HoldsAnywhere(Permission.Write));
        Assert.False(widened.Allows(Permission.Read, RemotePath.Parse("/it/x")));
        Assert.True(widened.Allows(Permission.Read, RemotePath.Parse("/ot/plant9/x")));
        Assert.False(widened.HoldsAnywhere(Permission.List));
        Assert.True(narrowed.Allows(Permission.List, RemotePath.Parse("/ot/plant1/x")));
        Assert.False(narrowed.Allows(Permission.List, RemotePath.Parse("/ot/plant2/x")));
        Assert.False(narrowed.Allows(Permission.Read, RemotePath.Parse("/ot/plant1/x")));
        Assert.False(narrowed.Allows(Permission.List, RemotePath.Parse("/it/x")));
        var listed = (await Store.ListTokensAsync("erin")).Single(t => t.Id == narrow.Id);
        Assert.Equal(Permission.List, listed.ScopePermissions);
        Assert.Equal(["/ot/plant1", "/it"], listed.ScopeAreas!.Select(a => a.Value));
    }

    [Fact]
    public async Task Last_used_time_is_written_at_most_once_a_minute()
    {
        await Admin.AddUserAsync(Caller, "frank");
        var issued = await Admin.IssueTokenAsync(Caller, "frank", new TokenRequest());
        Assert.Null((await Store.ListTokensAsync("frank")).Single().LastUsedAt);
        var first = Clock.GetUtcNow();

        await Auth.AuthenticateTokenAsync(issued.Secret);
        Clock.Advance(TimeSpan.FromSeconds(59));
        await Auth.AuthenticateTokenAsync(issued.Secret);
        Assert.Equal(first.ToUnixTimeMilliseconds(), (await Store.ListTokensAsync("frank")).Single().LastUsedAt?.ToUnixTimeMilliseconds());

        Clock.Advance(TimeSpan.FromSeconds(2));
        await Auth.AuthenticateTokenAsync(issued.Secret);
        Assert.Equal(Clock.GetUtcNow().ToUnixTimeMilliseconds(), (await Store.ListTokensAsync("frank")).Single().LastUsedAt?.ToUnixTimeMilliseconds());
    }

    [Fact]
    public async Task Login_issues_a_token_for_the_right_password_only()
    {
        await Admin.AddUserAsync(Caller, "grace", "grace's long password", [new RoleAssignment("auditor", RemotePath.Root)]);
        await Admin.AddUserAsync(Caller, "heidi");

        var ok = await Auth.LoginAsync("grace", "grace's long password", new TokenRequest("login", TimeSpan.FromHours(8)));
        var wrong = await Auth.LoginAsync("grace", "grace's long passwore", new TokenRequest());
        var unknown = await Auth.LoginAsync("mallory", "grace's long password", new TokenRequest());
        var noPassword = await Auth.LoginAsync("heidi", "whatever password", new TokenRequest());

        Assert.Null(ok.FailureReason);
        var principal = (await Auth.AuthenticateTokenAsync(ok.Token!.Secret)).Principal!;
        Assert.Equal("grace", principal.Name);
        Assert.True(principal.Grants.Allows(Permission.Audit, RemotePath.Root));
        Assert.Equal(Clock.GetUtcNow().AddHours(8).ToUnixTimeMilliseconds(), ok.Token.ExpiresAt?.ToUnixTimeMilliseconds());
        Assert.Equal("login", (await Store.ListTokensAsync("grace")).Single().Label);
        Assert.Equal(new LoginResult(null, "wrong-password"), wrong);
        Assert.Equal(new LoginResult(null, "unknown-user"), unknown);
        Assert.Equal(new LoginResult(null, "no-password"), noPassword);

        await Admin.SetUserEnabledAsync(Caller, "grace", enabled: false);
        Assert.Equal(new LoginResult(null, "user-disabled"), await Auth.LoginAsync("grace", "grace's long password", new TokenRequest()));
    }

    [Fact]
    public async Task A_peer_is_recognised_by_its_pinned_fingerprint_and_gets_its_grants()
    {
        using var site = TestCertificates.CreateSelfSigned("site-b");
        using var other = TestCertificates.CreateSelfSigned("site-b");
        await Admin.AddPeerAsync(Caller, "site-b", TlsCertificate.Fingerprint(site).ToUpperInvariant().Replace("SHA256:", "sha256:", StringComparison.Ordinal), null);
        await Admin.GrantAsync(Caller, new RoleBinding(PrincipalKind.Peer, "site-b", "uploader", RemotePath.Parse("/replica/site-b")));

        var outcome = await Auth.AuthenticatePeerAsync(site);
        var wrongPin = await Auth.AuthenticatePeerAsync(other);

        Assert.Equal(new Principal(PrincipalKind.Peer, "site-b", null, outcome.Principal!.Grants), outcome.Principal);
        Assert.True(outcome.Principal.Grants.Allows(Permission.Write, RemotePath.Parse("/replica/site-b/x")));
        Assert.False(outcome.Principal.Grants.Allows(Permission.Read, RemotePath.Parse("/replica/site-b/x")));
        Assert.Equal(TlsCertificate.Fingerprint(site), (await Store.ListPeersAsync()).Single().Fingerprint);
        Assert.Equal("unknown-certificate", wrongPin.FailureReason);

        await Admin.SetPeerEnabledAsync(Caller, "site-b", enabled: false);
        Assert.Equal("peer-disabled", (await Auth.AuthenticatePeerAsync(site)).FailureReason);
    }

    [Fact]
    public async Task A_peer_is_recognised_by_the_common_name_of_a_certificate_from_the_client_ca_only()
    {
        using var ca = TestCertificates.CreateCa("Peer CA");
        using var otherCa = TestCertificates.CreateCa("Peer CA");
        var withCa = await OpenTrackedAsync(NewDataDirectory(), new AccessStoreOptions { Time = Clock, ClientCaFile = TestCertificates.WritePem(Path.Combine(Data.Root, "client-ca.pem"), ca) });
        var admin = new AccessAdministration(withCa, new RecordingAuditTrail());
        using var withCaAuth = new AccessAuthenticator(withCa);
        await admin.AddPeerAsync(Caller, "site-c", null, "site-c.example");
        await admin.GrantAsync(Caller, new RoleBinding(PrincipalKind.Peer, "site-c", "downloader", RemotePath.Parse("/outbound/site-c")));
        using var good = TestCertificates.CreateClient(ca, "site-c.example");
        using var forged = TestCertificates.CreateClient(otherCa, "site-c.example");
        using var unregistered = TestCertificates.CreateClient(ca, "site-d.example");
        using var serverOnly = TestCertificates.CreateClient(ca, "site-c.example", clientAuth: false);
        using var caItself = TestCertificates.CreateCa("site-c.example");

        var accepted = await withCaAuth.AuthenticatePeerAsync(good);

        Assert.Equal("site-c", accepted.Principal?.Name);
        Assert.True(accepted.Principal!.Grants.Allows(Permission.Read, RemotePath.Parse("/outbound/site-c/a.bin")));
        Assert.Equal("untrusted-certificate", (await withCaAuth.AuthenticatePeerAsync(forged)).FailureReason);
        Assert.Equal("unknown-peer", (await withCaAuth.AuthenticatePeerAsync(unregistered)).FailureReason);
        Assert.Equal("untrusted-certificate", (await withCaAuth.AuthenticatePeerAsync(serverOnly)).FailureReason);
        Assert.Equal("untrusted-certificate", (await withCaAuth.AuthenticatePeerAsync(caItself)).FailureReason);
        Assert.Equal("unknown-certificate", (await Auth.AuthenticatePeerAsync(good)).FailureReason);

        await admin.SetPeerEnabledAsync(Caller, "site-c", enabled: false);
        Assert.Equal("peer-disabled", (await withCaAuth.AuthenticatePeerAsync(good)).FailureReason);
    }

    [Fact]
    public async Task User_and_peer_grants_are_computed_alike()
    {
        await Admin.AddUserAsync(Caller, "judy", roles: [new RoleAssignment("approver", RemotePath.Parse("/a"))]);
        await Admin.AddPeerAsync(Caller, "judy", "sha256:" + new string('a', 64), null);
        await Admin.GrantAsync(Caller, new RoleBinding(PrincipalKind.Peer, "judy", "uploader", RemotePath.Parse("/b")));

        var user = await Store.GrantsForUserAsync("judy");
        var peer = await Store.GrantsForPeerAsync("judy");

        Assert.Equal([new AccessGrant(RemotePath.Parse("/a"), Permission.List | Permission.Read | Permission.Approve)], user.Grants);
        Assert.Equal([new AccessGrant(RemotePath.Parse("/b"), Permission.List | Permission.Write)], peer.Grants);
        Assert.Empty((await Store.GrantsForUserAsync("nobody")).Grants);
    }

    [Fact]
    public async Task Inserts_answer_false_for_a_taken_name_or_an_existing_grant()
    {
        var binding = new RoleBinding(PrincipalKind.User, "kim", "uploader", RemotePath.Parse("/in"));

        var first = await Store.WriteAsync(async tx => (
            await tx.InsertUserAsync("kim", null, AccessSource.Local),
            await tx.InsertRoleAsync("reader", Permission.List | Permission.Read, AccessSource.Local),
            await tx.InsertPeerAsync("site-k", "sha256:" + new string('b', 64), null, true, AccessSource.Local),
            await tx.InsertBindingAsync(binding, AccessSource.Local)));
        var again = await Store.WriteAsync(async tx => (
            await tx.InsertUserAsync("kim", null, AccessSource.Policy),
            await tx.InsertRoleAsync("reader", Permission.All, AccessSource.Policy),
            await tx.InsertPeerAsync("site-k", null, "site-k.example", false, AccessSource.Policy),
            await tx.InsertBindingAsync(binding, AccessSource.Policy)));
        var builtIn = await Store.WriteAsync(async tx => (await tx.InsertRoleAsync("admin", Permission.List, AccessSource.Local), await tx.UpsertPolicyRoleAsync("admin", Permission.List)));

        Assert.Equal((true, true, true, true), first);
        Assert.Equal((false, false, false, false), again);
        Assert.Equal((false, 0), builtIn);
        Assert.Equal(AccessSource.Local, (await Store.ListUsersAsync()).Single(u => u.Name == "kim").Source);
        Assert.Equal(Permission.List | Permission.Read, (await Store.ListRolesAsync()).Single(r => r.Name == "reader").Permissions);
        Assert.Equal(Permission.All, (await Store.ListRolesAsync()).Single(r => r.Name == "admin").Permissions);
        var peer = (await Store.ListPeersAsync()).Single();
        Assert.Equal(("sha256:" + new string('b', 64), null, true), (peer.Fingerprint, peer.CommonName, peer.Enabled));
        Assert.Equal(AccessSource.Local, (await Store.ListGrantsAsync()).Single(g => g.Binding == binding).Source);
    }

    [Fact]
    public async Task A_write_that_throws_changes_nothing()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Store.WriteAsync<bool>(async tx =>
        {
            await tx.InsertUserAsync("lena", null, AccessSource.Local);
            await tx.InsertTokenAsync("lena", new TokenRequest());
            await tx.RevokeTokenAsync(ApiTokens.AdminTokenId);
            throw new InvalidOperationException("refused");
        }));

        Assert.Equal("refused", error.Message);
        Assert.Equal(["admin"], (await Store.ListUsersAsync()).Select(u => u.Name));
        Assert.Null(Assert.Single(await Store.ListTokensAsync(null)).RevokedAt);
        Assert.Equal("admin", (await Auth.AuthenticateTokenAsync(Data.ReadAdminToken())).Principal?.Name);
    }

    [Fact]
    public async Task Concurrent_write_transactions_do_not_interleave()
    {
        // Each transaction reads, then writes on what it read: exactly one may find the user missing.
        var created = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => Store.WriteAsync(async tx =>
        {
            if (await tx.GetUserAsync("once") is not null)
            {
                return false;
            }

            await tx.InsertTokenAsync("admin", new TokenRequest("before once"));
            return await tx.InsertUserAsync("once", null, AccessSource.Local);
        }))));

        Assert.Single(created, c => c);
        Assert.Equal(2, (await Store.ListTokensAsync("admin")).Count);
    }

    [Fact]
    public async Task Tokens_are_issued_for_their_user_and_revoked_once()
    {
        await Admin.AddUserAsync(Caller, "mia");
        Clock.Advance(TimeSpan.FromSeconds(1));

        var issued = await Store.WriteAsync(tx => tx.InsertTokenAsync("mia", new TokenRequest("nightly", TimeSpan.FromDays(1), Permission.List | Permission.Read, [RemotePath.Parse("/out")])));
        var revoked = await Store.WriteAsync(tx => tx.RevokeTokenAsync(issued.Id));
        var again = await Store.WriteAsync(tx => tx.RevokeTokenAsync(issued.Id));
        var unknown = await Store.WriteAsync(tx => tx.RevokeTokenAsync("tok_unknown00000"));

        Assert.Equal(("mia", Clock.GetUtcNow().AddDays(1).ToUnixTimeMilliseconds()), (issued.User, issued.ExpiresAt?.ToUnixTimeMilliseconds()));
        Assert.Equal(("mia", false), revoked);
        Assert.Equal(("mia", true), again);
        Assert.Null(unknown);
        var listed = Assert.Single(await Store.ListTokensAsync("mia"));
        Assert.Equal((issued.Id, "mia", "nightly", Permission.List | Permission.Read), (listed.Id, listed.User, listed.Label, listed.ScopePermissions));
        Assert.Equal(Clock.GetUtcNow().ToUnixTimeMilliseconds(), listed.CreatedAt.ToUnixTimeMilliseconds());
        Assert.Equal(Clock.GetUtcNow().ToUnixTimeMilliseconds(), listed.RevokedAt?.ToUnixTimeMilliseconds());
        Assert.Equal([issued.Id, ApiTokens.AdminTokenId], (await Store.ListTokensAsync(null)).Select(t => t.Id));
    }

    [Fact]
    public async Task Deleting_a_user_or_peer_takes_its_tokens_and_grants()
    {
        await Admin.AddUserAsync(Caller, "nora", roles: [new RoleAssignment("uploader", RemotePath.Parse("/n"))]);
        var token = await Admin.IssueTokenAsync(Caller, "nora", new TokenRequest());
        await Admin.AddPeerAsync(Caller, "site-n", "sha256:" + new string('c', 64), null);
        await Admin.GrantAsync(Caller, new RoleBinding(PrincipalKind.Peer, "site-n", "downloader", RemotePath.Parse("/n")));

        await Store.WriteAsync(async tx =>
        {
            await tx.DeleteUserAsync("nora");
            await tx.DeletePeerAsync("site-n");
            return true;
        });

        Assert.Equal("unknown-token", (await Auth.AuthenticateTokenAsync(token.Secret)).FailureReason);
        Assert.Empty(await Store.ListTokensAsync("nora"));
        Assert.Empty(await Store.ListPeersAsync());
        Assert.Equal(["admin"], (await Store.ListGrantsAsync()).Select(g => g.Binding.Principal));
        Assert.Empty((await Store.GrantsForPeerAsync("site-n")).Grants);
    }

    [Fact]
    public async Task Reads_in_a_transaction_see_users_roles_peers_grants_and_root_admins()
    {
        var binding = new RoleBinding(PrincipalKind.Peer, "site-o", "auditor", RemotePath.Parse("/o"));
        await Admin.AddPeerAsync(Caller, "site-o", null, "site-o.example");
        await Admin.GrantAsync(Caller, binding);
        await Admin.AddUserAsync(Caller, "olga", roles: [new RoleAssignment("admin", RemotePath.Root)]);
        await Admin.AddUserAsync(Caller, "otto", roles: [new RoleAssignment("admin", RemotePath.Parse("/o"))]);

        var seen = await Store.WriteAsync(async tx => new
        {
            Admins = await tx.CountRootAdminsAsync(),
            AdminsWhenOlgaIsDisabled = await tx.SetUserEnabledAsync("olga", false) ? await tx.CountRootAdminsAsync() : -1,
            User = await tx.GetUserAsync("olga"),
            NoUser = await tx.GetUserAsync("nobody"),
            Peer = await tx.GetPeerAsync("site-o"),
            Role = await tx.GetRoleAsync("auditor"),
            NoRole = await tx.GetRoleAsync("nothing"),
            Bindings = await tx.BindingsOfRoleAsync("auditor"),
            Source = await tx.GetBindingSourceAsync(binding),
            NoSource = await tx.GetBindingSourceAsync(binding with { Area = RemotePath.Parse("/p") }),
            ByName = await tx.FindPeerUsingAsync(null, "site-o.example", null),
            ExceptItself = await tx.FindPeerUsingAsync(null, "site-o.example", "site-o"),
            Unused = await tx.FindPeerUsingAsync("sha256:" + new string('d', 64), null, null),
        });

        Assert.Equal(2, seen.Admins);
        Assert.Equal(1, seen.AdminsWhenOlgaIsDisabled);
        Assert.Equal((false, AccessSource.Local), seen.User);
        Assert.Null(seen.NoUser);
        Assert.Equal((true, AccessSource.Local), seen.Peer);
        Assert.Equal(AccessRole.BuiltIns.Single(r => r.Name == "auditor"), seen.Role);
        Assert.Null(seen.NoRole);
        Assert.Equal([binding], seen.Bindings);
        Assert.Equal(AccessSource.Local, seen.Source);
        Assert.Null(seen.NoSource);
        Assert.Equal("site-o", seen.ByName);
        Assert.Null(seen.ExceptItself);
        Assert.Null(seen.Unused);
    }

    [Fact]
    public async Task Policy_entries_are_marked_taken_over_and_listed_by_kind()
    {
        await Admin.AddUserAsync(Caller, "pat", "pat's long password");
        var local = new RoleBinding(PrincipalKind.User, "pat", "uploader", RemotePath.Parse("/p"));
        var declared = new RoleBinding(PrincipalKind.User, "pat", "reviewer", RemotePath.Parse("/p"));
        await Admin.GrantAsync(Caller, local);

        await Store.WriteAsync(async tx =>
        {
            await tx.UpsertPolicyUserAsync("pat", enabled: true);
            await tx.UpsertPolicyUserAsync("quinn", enabled: false);
            await tx.UpsertPolicyRoleAsync("reviewer", Permission.List | Permission.Approve);
            await tx.UpsertPolicyPeerAsync("site-p", "sha256:" + new string('e', 64), null, enabled: true);
            await tx.UpsertPolicyBindingAsync(local);
            await tx.UpsertPolicyBindingAsync(declared);
            return true;
        });
        var names = await Store.WriteAsync(async tx => (
            Users: await tx.PolicyNamesAsync(PolicyTable.Users),
            Roles: await tx.PolicyNamesAsync(PolicyTable.Roles),
            Peers: await tx.PolicyNamesAsync(PolicyTable.Peers)));

        Assert.Equal(["pat", "quinn"], names.Users);
        Assert.Equal(["reviewer"], names.Roles);
        Assert.Equal(["site-p"], names.Peers);
        Assert.All(await Store.ListGrantsAsync(), g => Assert.Equal(g.Binding.Principal == "pat" ? AccessSource.Policy : AccessSource.Local, g.Source));
        Assert.NotNull((await Auth.LoginAsync("pat", "pat's long password", new TokenRequest())).Token);
        Assert.False((await Store.ListUsersAsync()).Single(u => u.Name == "quinn").Enabled);

        var removed = await Store.WriteAsync(tx => tx.DeletePolicyBindingsAsync());

        Assert.Equal(2, removed);
        Assert.Equal(["admin"], (await Store.ListGrantsAsync()).Select(g => g.Binding.Principal));
        Assert.Equal(1, await Store.WriteAsync(tx => tx.DeleteRoleAsync("reviewer")));
        Assert.Equal(0, await Store.WriteAsync(tx => tx.DeleteRoleAsync("admin")));
    }

    [Fact]
    public async Task The_outbound_side_of_an_enabled_peer_is_read_back_as_stored()
    {
        var outbound = new PeerOutbound(new Uri("https://site-r.example:8443/"), "sha256:" + new string('f', 64), null, PeerCredential.Token, [1, 2, 3, 4]);
        await Store.WriteAsync(async tx =>
        {
            await tx.InsertPeerAsync("site-r", null, null, true, AccessSource.Local, outbound);
            await tx.InsertPeerAsync("site-s", "sha256:" + new string('0', 64), null, true, AccessSource.Local);
            return await tx.InsertPeerAsync("site-t", null, null, false, AccessSource.Local, outbound with { Credential = PeerCredential.Mtls, SealedToken = null });
        });

        var read = await Store.GetOutboundPeerAsync("site-r");

        Assert.Equal((outbound.Url, outbound.ServerPin, outbound.ServerCa, outbound.Credential), (read!.Url, read.ServerPin, read.ServerCa, read.Credential));
        Assert.Equal(outbound.SealedToken, read.SealedToken);
        Assert.Null(await Store.GetOutboundPeerAsync("site-s"));
        Assert.Null(await Store.GetOutboundPeerAsync("site-t"));
        Assert.Null(await Store.GetOutboundPeerAsync("nobody"));
        Assert.Equal(PeerCredential.Mtls, (await Store.ListPeersAsync()).Single(p => p.Name == "site-t").Outbound?.Credential);
    }

    [Fact]
    public async Task Everything_stored_survives_closing_and_opening_the_store()
    {
        await Admin.AddUserAsync(Caller, "rosa", "rosa's long password", [new RoleAssignment("downloader", RemotePath.Parse("/r"))]);
        await Admin.AddRoleAsync(Caller, "lister", Permission.List);
        var token = await Admin.IssueTokenAsync(Caller, "rosa", new TokenRequest("kept"));
        await Admin.AddPeerAsync(Caller, "site-u", null, "site-u.example", outbound: new PeerOutbound(new Uri("https://site-u.example/"), null, null, PeerCredential.Mtls, null));
        await Admin.RevokeTokenAsync(Caller, ApiTokens.AdminTokenId);
        var before = await ListEverythingAsync();

        await Store.DisposeAsync();
        _open.Remove(Store);
        Store = await OpenTrackedAsync(Data, new AccessStoreOptions { Time = Clock });
        Auth.Dispose();
        Auth = new AccessAuthenticator(Store);

        Assert.Equal(before, await ListEverythingAsync());
        Assert.Equal("rosa", (await Auth.AuthenticateTokenAsync(token.Secret)).Principal?.Name);
        Assert.Equal("revoked", (await Auth.AuthenticateTokenAsync(Data.ReadAdminToken())).FailureReason);
        Assert.NotNull((await Auth.LoginAsync("rosa", "rosa's long password", new TokenRequest())).Token);
    }

    /// <summary>Every listing as text, so that two reads compare by value (the listings hold lists).</summary>
    private async Task<IReadOnlyList<string>> ListEverythingAsync()
    {
        static string Roles(IReadOnlyList<RoleAssignment> roles) => string.Join(',', roles.Select(r => $"{r.Role}@{r.Area.Value}"));
        return
        [
            .. (await Store.ListUsersAsync()).Select(u => $"user {u.Name} {u.Enabled} {u.HasPassword} {u.CreatedAt.ToUnixTimeMilliseconds()} {u.Source} {Roles(u.Roles)}"),
            .. (await Store.ListTokensAsync(null)).Select(t => $"token {t.Id} {t.User} {t.Label} {t.CreatedAt.ToUnixTimeMilliseconds()} {t.ExpiresAt} {t.RevokedAt?.ToUnixTimeMilliseconds()} {t.ScopePermissions}"),
            .. (await Store.ListRolesAsync()).Select(r => r.ToString()),
            .. (await Store.ListGrantsAsync()).Select(g => $"grant {g.Binding.Kind} {g.Binding.Principal} {g.Binding.Role} {g.Binding.Area.Value} {g.Source}"),
            .. (await Store.ListPeersAsync()).Select(p => $"peer {p.Name} {p.Fingerprint} {p.CommonName} {p.Enabled} {p.Source} {p.Outbound?.Url} {p.Outbound?.Credential} {Roles(p.Roles)}"),
        ];
    }

    private DataDirectory NewDataDirectory()
    {
        var root = Directory.CreateTempSubdirectory("tmf-access-contract-").FullName;
        _roots.Add(root);
        return DataDirectory.Open(root);
    }

    private async Task<IAccessStore> OpenTrackedAsync(DataDirectory data, AccessStoreOptions options)
    {
        var store = await OpenAsync(data, options);
        _open.Add(store);
        return store;
    }
}
