using TurboMft.Host.Audit;

namespace TurboMft.Host.Access;

/// <summary>
/// Every change to users, tokens, roles, grants and peers, with its rules and its audit event: the admin API
/// (<c>/v1/admin</c>), the offline CLI (<c>turbomft user … --data DIR</c>) and the policy file all go through
/// here (docs/security.md). A change and its durable audit record commit together: when the audit trail cannot be
/// written the change is rolled back (fail closed). Refusals are <see cref="AccessException"/>, audited as failures.
/// </summary>
/// <remarks>
/// Guard rail: no change may leave the store without an enabled user holding the admin permission on "/" (disabling the
/// last admin, revoking its grant, or a policy that drops it), so the server can always be administered.
/// </remarks>
public sealed class AccessAdministration
{
    private readonly IAccessStore _store;
    private readonly IAuditTrail _audit;

    /// <summary>Creates the service over <paramref name="store"/>, auditing to <paramref name="audit"/>.</summary>
    public AccessAdministration(IAccessStore store, IAuditTrail audit)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(audit);
        _store = store;
        _audit = audit;
    }

    /// <summary>The store changed.</summary>
    public IAccessStore Store => _store;

    /// <summary>Adds a user, optionally with a password and grants. Audited as <c>user.add</c> (and <c>role.grant</c> per grant).</summary>
    public Task<UserInfo> AddUserAsync(AdminCaller caller, string name, string? password = null, IReadOnlyList<RoleAssignment>? roles = null, CancellationToken cancellationToken = default)
    {
        PasswordHash? hash = null;
        return ChangeAsync(caller, "user.add", null, Subject("user", name), () =>
        {
            AccessNames.Validate(name, "User");
            hash = password is null ? null : PasswordHasher.Hash(password, _store.Options.PasswordIterations);
        }, async tx =>
        {
            if (!await tx.InsertUserAsync(name, hash, AccessSource.Local).ConfigureAwait(false))
            {
                throw new AccessException(AccessError.UserExists, $"User '{name}' exists already.");
            }

            foreach (var role in roles ?? [])
            {
                var binding = new RoleBinding(PrincipalKind.User, name, role.Role, role.Area);
                await RequireRoleAsync(tx, role.Role).ConfigureAwait(false);
                await tx.InsertBindingAsync(binding, AccessSource.Local).ConfigureAwait(false);
                await AuditAsync(caller, "role.grant", AuditOutcome.Success, binding.Area.Value, Describe(binding)).ConfigureAwait(false);
            }

            return password is null ? "no password" : "with password";
        }, cancellationToken, after: () => FindUserAsync(name, cancellationToken));
    }

    /// <summary>Every user with its grants (never a password hash).</summary>
    public Task<IReadOnlyList<UserInfo>> ListUsersAsync(CancellationToken cancellationToken = default) => _store.ListUsersAsync(cancellationToken);

    /// <summary>Disables or enables a user; a disabled user's tokens and password stop working. Audited as <c>user.disable</c>/<c>user.enable</c>.</summary>
    public Task SetUserEnabledAsync(AdminCaller caller, string name, bool enabled, CancellationToken cancellationToken = default) =>
        ChangeAsync(caller, enabled ? "user.enable" : "user.disable", null, Subject("user", name), () => AccessNames.Validate(name, "User"), async tx =>
        {
            var admins = await tx.CountRootAdminsAsync().ConfigureAwait(false);
            if (!await tx.SetUserEnabledAsync(name, enabled).ConfigureAwait(false))
            {
                throw UserNotFound(name);
            }

            await GuardLastAdminAsync(tx, admins, $"disabling '{name}'").ConfigureAwait(false);
            return null;
        }, cancellationToken);

    /// <summary>Sets or replaces a user's password (PBKDF2-SHA256, new salt). Audited as <c>user.passwd</c>.</summary>
    public Task SetPasswordAsync(AdminCaller caller, string name, string password, CancellationToken cancellationToken = default)
    {
        PasswordHash? hash = null;
        return ChangeAsync(caller, "user.passwd", null, Subject("user", name), () =>
        {
            AccessNames.Validate(name, "User");
            hash = PasswordHasher.Hash(password, _store.Options.PasswordIterations);
        }, async tx => await tx.SetPasswordAsync(name, hash!).ConfigureAwait(false) ? null : throw UserNotFound(name), cancellationToken);
    }

    /// <summary>
    /// Issues a token for <paramref name="user"/>; the result holds the secret, shown this once. The scope can only narrow
    /// the user's rights. Audited as <c>token.issue</c> with the token's id (never its secret).
    /// </summary>
    public async Task<IssuedToken> IssueTokenAsync(AdminCaller caller, string user, TokenRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        IssuedToken? issued = null;
        await ChangeAsync(caller, "token.issue", null, Subject("user", user), () =>
        {
            AccessNames.Validate(user, "User");
            request.Validate();
        }, async tx =>
        {
            _ = await tx.GetUserAsync(user).ConfigureAwait(false) ?? throw UserNotFound(user);
            issued = await tx.InsertTokenAsync(user, request).ConfigureAwait(false);
            return $"id={issued.Id} permissions={Permissions.Format(request.Permissions)}"
                + (request.Areas is null ? string.Empty : " areas=" + string.Join(',', request.Areas.Select(a => a.Value)))
                + (issued.ExpiresAt is null ? string.Empty : $" expires={issued.ExpiresAt:O}");
        }, cancellationToken).ConfigureAwait(false);
        return issued!;
    }

    /// <summary>Every token, or <paramref name="user"/>'s; newest first. Never the secret or its hash.</summary>
    public Task<IReadOnlyList<TokenInfo>> ListTokensAsync(string? user = null, CancellationToken cancellationToken = default)
    {
        if (user is not null)
        {
            AccessNames.Validate(user, "User");
        }

        return _store.ListTokensAsync(user, cancellationToken);
    }

    /// <summary>Revokes a token (idempotent). Audited as <c>token.revoke</c>.</summary>
    public Task RevokeTokenAsync(AdminCaller caller, string id, CancellationToken cancellationToken = default) =>
        ChangeAsync(caller, "token.revoke", null, Subject("id", id), () =>
        {
            if (string.IsNullOrEmpty(id) || id.Length > 64 || !id.StartsWith(ApiTokens.IdPrefix, StringComparison.Ordinal) || !id.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
            {
                throw new AccessException(AccessError.InvalidRequest, $"'{Printable(id ?? string.Empty)}' is not a token id (tok_…); list them with 'turbomft token list'.");
            }
        }, async tx =>
        {
            var revoked = await tx.RevokeTokenAsync(id).ConfigureAwait(false)
                ?? throw new AccessException(AccessError.TokenNotFound, $"Token '{id}' does not exist.");
            return $"user={revoked.User}" + (revoked.AlreadyRevoked ? " (already revoked)" : string.Empty);
        }, cancellationToken);

    /// <summary>Every role, built-in ones first.</summary>
    public Task<IReadOnlyList<AccessRole>> ListRolesAsync(CancellationToken cancellationToken = default) => _store.ListRolesAsync(cancellationToken);

    /// <summary>Every grant.</summary>
    public Task<IReadOnlyList<GrantInfo>> ListGrantsAsync(CancellationToken cancellationToken = default) => _store.ListGrantsAsync(cancellationToken);

    /// <summary>Adds a custom role. Audited as <c>role.add</c>.</summary>
    public Task<AccessRole> AddRoleAsync(AdminCaller caller, string name, Permission permissions, CancellationToken cancellationToken = default) =>
        ChangeAsync(caller, "role.add", null, Subject("role", name), () =>
        {
            AccessNames.Validate(name, "Role");
            if (permissions == Permission.None || (permissions & ~Permission.All) != 0)
            {
                throw new AccessException(AccessError.InvalidRequest, $"A role needs at least one of {string.Join(", ", Permissions.AllNames)}.");
            }
        }, async tx =>
        {
            if (await tx.GetRoleAsync(name).ConfigureAwait(false) is { } existing)
            {
                throw existing.BuiltIn
                    ? new AccessException(AccessError.BuiltInRole, $"'{name}' is a built-in role; built-in roles cannot be changed.")
                    : new AccessException(AccessError.RoleExists, $"Role '{name}' exists already.");
            }

            await tx.InsertRoleAsync(name, permissions, AccessSource.Local).ConfigureAwait(false);
            return $"permissions={Permissions.Format(permissions)}";
        }, cancellationToken, after: () => Task.FromResult(new AccessRole(name, permissions, false, AccessSource.Local)));

    /// <summary>Grants a role on an area to a user or peer (idempotent). Audited as <c>role.grant</c>.</summary>
    public Task GrantAsync(AdminCaller caller, RoleBinding binding, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(binding);
        return ChangeAsync(caller, "role.grant", binding.Area.Value, null, () => ValidateBinding(binding), async tx =>
        {
            await RequireRoleAsync(tx, binding.Role).ConfigureAwait(false);
            await RequirePrincipalAsync(tx, binding.Kind, binding.Principal).ConfigureAwait(false);
            var added = await tx.InsertBindingAsync(binding, AccessSource.Local).ConfigureAwait(false);
            return Describe(binding) + (added ? string.Empty : " (already granted)");
        }, cancellationToken);
    }

    /// <summary>Revokes a grant. Refused for the last admin grant on "/" and for grants the policy file declares. Audited as <c>role.revoke</c>.</summary>
    public Task RevokeAsync(AdminCaller caller, RoleBinding binding, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(binding);
        return ChangeAsync(caller, "role.revoke", binding.Area.Value, null, () => ValidateBinding(binding), async tx =>
        {
            var source = await tx.GetBindingSourceAsync(binding).ConfigureAwait(false)
                ?? throw new AccessException(AccessError.GrantNotFound, $"There is no grant of role '{binding.Role}' to {KindName(binding.Kind)} '{binding.Principal}' on {binding.Area.Value}.");
            if (source == AccessSource.Policy)
            {
                throw PolicyManaged($"the grant of '{binding.Role}' to {KindName(binding.Kind)} '{binding.Principal}' on {binding.Area.Value}");
            }

            var admins = await tx.CountRootAdminsAsync().ConfigureAwait(false);
            await tx.DeleteBindingAsync(binding).ConfigureAwait(false);
            await GuardLastAdminAsync(tx, admins, $"revoking '{binding.Role}' on {binding.Area.Value} from '{binding.Principal}'").ConfigureAwait(false);
            return Describe(binding);
        }, cancellationToken);
    }

    /// <summary>
    /// Registers a peer site: inbound by pinned fingerprint or by the common name of a certificate from the client CA, and/or
    /// outbound (<paramref name="outbound"/>: how this node reaches it for replication). Audited as <c>peer.add</c> (never the token).
    /// </summary>
    public Task<PeerInfo> AddPeerAsync(AdminCaller caller, string name, string? fingerprint, string? commonName, CancellationToken cancellationToken = default, PeerOutbound? outbound = null)
    {
        string? pin = null, cn = null;
        return ChangeAsync(caller, "peer.add", null, Subject("peer", name), () =>
        {
            AccessNames.Validate(name, "Peer");
            if (fingerprint is not null && commonName is not null)
            {
                throw new AccessException(AccessError.InvalidRequest, "Give a peer at most one of a fingerprint (sha256:HEX of its certificate) and a common name (of a certificate issued by the client CA).");
            }

            if (fingerprint is null && commonName is null && outbound is null)
            {
                throw new AccessException(AccessError.InvalidRequest, "Give a peer an inbound identity (a fingerprint, sha256:HEX of its certificate, or a common name of a certificate issued by the client CA), an outbound URL, or both.");
            }

            pin = fingerprint is null ? null : AccessParsing.ParseFingerprint(fingerprint);
            cn = commonName is null ? null : AccessParsing.ParseCommonName(commonName);
        }, async tx =>
        {
            if ((pin is not null || cn is not null) && await tx.FindPeerUsingAsync(pin, cn, null).ConfigureAwait(false) is { } other)
            {
                throw new AccessException(AccessError.PeerExists, $"Peer '{other}' already has this {(pin is null ? "common name" : "fingerprint")}.");
            }

            if (!await tx.InsertPeerAsync(name, pin, cn, true, AccessSource.Local, outbound).ConfigureAwait(false))
            {
                throw new AccessException(AccessError.PeerExists, $"Peer '{name}' exists already.");
            }

            var inbound = pin is not null ? $"fingerprint={pin}" : cn is not null ? $"commonName={Printable(cn)}" : null;
            var outward = outbound is null ? null : $"url={Printable(outbound.Url.ToString())} credential={outbound.CredentialName}";
            return Join(inbound, outward);
        }, cancellationToken, after: async () => (await _store.ListPeersAsync(cancellationToken).ConfigureAwait(false)).First(p => p.Name == name));
    }

    /// <summary>Every peer with its grants.</summary>
    public Task<IReadOnlyList<PeerInfo>> ListPeersAsync(CancellationToken cancellationToken = default) => _store.ListPeersAsync(cancellationToken);

    /// <summary>Disables or enables a peer; a disabled peer fails authentication. Audited as <c>peer.disable</c>/<c>peer.enable</c>.</summary>
    public Task SetPeerEnabledAsync(AdminCaller caller, string name, bool enabled, CancellationToken cancellationToken = default) =>
        ChangeAsync(caller, enabled ? "peer.enable" : "peer.disable", null, Subject("peer", name), () => AccessNames.Validate(name, "Peer"),
            async tx => await tx.SetPeerEnabledAsync(name, enabled).ConfigureAwait(false) ? null : throw PeerNotFound(name), cancellationToken);

    /// <summary>Removes a peer and its grants. Refused for peers the policy file declares. Audited as <c>peer.remove</c>.</summary>
    public Task RemovePeerAsync(AdminCaller caller, string name, CancellationToken cancellationToken = default) =>
        ChangeAsync(caller, "peer.remove", null, Subject("peer", name), () => AccessNames.Validate(name, "Peer"), async tx =>
        {
            var peer = await tx.GetPeerAsync(name).ConfigureAwait(false) ?? throw PeerNotFound(name);
            if (peer.Source == AccessSource.Policy)
            {
                throw PolicyManaged($"peer '{name}'");
            }

            await tx.DeletePeerAsync(name).ConfigureAwait(false);
            return null;
        }, cancellationToken);

    /// <summary>
    /// Applies a validated policy file as a whole, in one transaction: what it declares is created or taken over (marked
    /// source=policy; a user's password and tokens stay), what an earlier policy declared and this one does not is removed
    /// (a removed user loses its tokens), and entries made through the CLI or API stay. Running it twice changes nothing.
    /// Audited as <c>policy.load</c>.
    /// </summary>
    /// <exception cref="PolicyFileException">An entry conflicts with the store (a fingerprint another peer uses), with its line.</exception>
    /// <exception cref="AccessException">The result would leave no admin, or a removed role is still granted through the CLI or API.</exception>
    public Task ApplyPolicyAsync(AdminCaller caller, AccessPolicy policy, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return ChangeAsync(caller, "policy.load", null, $"file={Printable(Path.GetFileName(policy.Path))}", null, async tx =>
        {
            var admins = await tx.CountRootAdminsAsync().ConfigureAwait(false);
            await tx.DeletePolicyBindingsAsync().ConfigureAwait(false);

            foreach (var role in policy.Roles)
            {
                if (await tx.UpsertPolicyRoleAsync(role.Name, role.Permissions).ConfigureAwait(false) == 0)
                {
                    throw new PolicyFileException(policy.Path, role.At.Line, role.At.Column, $"'{role.Name}' is a built-in role and cannot be redefined");
                }
            }

            foreach (var gone in (await tx.PolicyNamesAsync(PolicyTable.Roles).ConfigureAwait(false)).Except(policy.Roles.Select(r => r.Name)))
            {
                if ((await tx.BindingsOfRoleAsync(gone).ConfigureAwait(false)).FirstOrDefault() is { } used)
                {
                    throw new AccessException(AccessError.RoleInUse,
                        $"Role '{gone}' is no longer in {policy.Path}, but {KindName(used.Kind)} '{used.Principal}' holds it on {used.Area.Value} through a grant made with the CLI or API; revoke that grant first or keep the role in the policy.");
                }

                await tx.DeleteRoleAsync(gone).ConfigureAwait(false);
            }

            foreach (var user in policy.Users)
            {
                await tx.UpsertPolicyUserAsync(user.Name, user.Enabled).ConfigureAwait(false);
            }

            foreach (var gone in (await tx.PolicyNamesAsync(PolicyTable.Users).ConfigureAwait(false)).Except(policy.Users.Select(u => u.Name)))
            {
                await tx.DeleteUserAsync(gone).ConfigureAwait(false);
            }

            foreach (var peer in policy.Peers)
            {
                if (await tx.FindPeerUsingAsync(peer.Fingerprint, peer.CommonName, peer.Name).ConfigureAwait(false) is { } other)
                {
                    throw new PolicyFileException(policy.Path, peer.At.Line, peer.At.Column,
                        $"peer '{other}' (made with the CLI or API) already has this {(peer.Fingerprint is null ? "common name" : "fingerprint")}; remove it or change the policy");
                }

                await tx.UpsertPolicyPeerAsync(peer.Name, peer.Fingerprint, peer.CommonName, peer.Enabled).ConfigureAwait(false);
            }

            foreach (var gone in (await tx.PolicyNamesAsync(PolicyTable.Peers).ConfigureAwait(false)).Except(policy.Peers.Select(p => p.Name)))
            {
                await tx.DeletePeerAsync(gone).ConfigureAwait(false);
            }

            foreach (var grant in policy.Grants)
            {
                await tx.UpsertPolicyBindingAsync(grant.Binding).ConfigureAwait(false);
            }

            await GuardLastAdminAsync(tx, admins, $"applying {policy.Path}").ConfigureAwait(false);
            return $"roles={policy.Roles.Count} users={policy.Users.Count} peers={policy.Peers.Count} grants={policy.Grants.Count}";
        }, cancellationToken);
    }

    private Task ChangeAsync(AdminCaller caller, string action, string? path, string? subject, Action? prepare, Func<IAccessTransaction, Task<string?>> change, CancellationToken cancellationToken) =>
        ChangeAsync(caller, action, path, subject, prepare, change, cancellationToken, after: () => Task.FromResult(true));

    /// <summary>
    /// Runs <paramref name="prepare"/> (validation and slow work such as PBKDF2, outside the write lock), then
    /// <paramref name="change"/> in a write transaction, appending its durable audit event before the commit so that a change
    /// is never committed unaudited. A refusal is audited as a failure without waiting for the fsync: nothing changed.
    /// </summary>
    private async Task<T> ChangeAsync<T>(
        AdminCaller caller, string action, string? path, string? subject, Action? prepare, Func<IAccessTransaction, Task<string?>> change, CancellationToken cancellationToken, Func<Task<T>> after)
    {
        ArgumentNullException.ThrowIfNull(caller);
        try
        {
            prepare?.Invoke();
            await _store.WriteAsync(
                async tx =>
                {
                    var detail = await change(tx).ConfigureAwait(false);
                    await _audit.AppendDurableAsync(Event(caller, action, AuditOutcome.Success, path, Join(subject, detail)), cancellationToken).ConfigureAwait(false);
                    return true;
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AccessException or PolicyFileException)
        {
            _audit.Append(Event(caller, action, AuditOutcome.Failure, path, Join(subject, e is AccessException a ? a.Problem.Type : "invalid-policy")));
            throw;
        }

        return await after().ConfigureAwait(false);
    }

    private Task AuditAsync(AdminCaller caller, string action, string outcome, string? path, string? detail) =>
        _audit.AppendDurableAsync(Event(caller, action, outcome, path, detail)).AsTask();

    private static AuditEvent Event(AdminCaller caller, string action, string outcome, string? path, string? detail) => new()
    {
        Action = action,
        Actor = caller.Actor,
        Outcome = outcome,
        Path = path,
        CorrelationId = caller.CorrelationId,
        Detail = detail,
    };

    private static string Subject(string key, string? value) => $"{key}={Printable(value ?? "(none)")}";

    private static string? Join(string? a, string? b) => (a, b) switch
    {
        (null, _) => b,
        (_, null) => a,
        _ => a + " " + b,
    };

    /// <summary>A name as sent, made safe for a one-line audit detail even when it failed validation.</summary>
    private static string Printable(string text)
    {
        var cut = text.Length > 80 ? text[..80] + "…" : text;
        return string.Concat(cut.Select(c => char.IsControl(c) || c == ' ' ? '?' : c));
    }

    private static string Describe(RoleBinding binding) => $"role={binding.Role} {KindName(binding.Kind)}={binding.Principal} area={binding.Area.Value}";

    private static string KindName(PrincipalKind kind) => kind == PrincipalKind.User ? "user" : "peer";

    private static void ValidateBinding(RoleBinding binding)
    {
        AccessNames.Validate(binding.Role, "Role");
        AccessNames.Validate(binding.Principal, binding.Kind == PrincipalKind.User ? "User" : "Peer");
        _ = binding.Area ?? throw new AccessException(AccessError.InvalidArea, "A grant needs an area.");
    }

    private static async Task RequireRoleAsync(IAccessTransaction tx, string role)
    {
        AccessNames.Validate(role, "Role");
        _ = await tx.GetRoleAsync(role).ConfigureAwait(false)
            ?? throw new AccessException(AccessError.RoleNotFound, $"Role '{role}' does not exist; see 'turbomft role list'.");
    }

    private static async Task RequirePrincipalAsync(IAccessTransaction tx, PrincipalKind kind, string name)
    {
        var exists = kind == PrincipalKind.User
            ? await tx.GetUserAsync(name).ConfigureAwait(false) is not null
            : await tx.GetPeerAsync(name).ConfigureAwait(false) is not null;
        if (!exists)
        {
            throw kind == PrincipalKind.User ? UserNotFound(name) : PeerNotFound(name);
        }
    }

    private static async Task GuardLastAdminAsync(IAccessTransaction tx, long before, string what)
    {
        if (before > 0 && await tx.CountRootAdminsAsync().ConfigureAwait(false) == 0)
        {
            throw new AccessException(AccessError.LastAdmin,
                $"Refused: {what} would leave no enabled user with the admin permission on /; grant role admin on / to another user first.");
        }
    }

    private async Task<UserInfo> FindUserAsync(string name, CancellationToken cancellationToken) =>
        (await _store.ListUsersAsync(cancellationToken).ConfigureAwait(false)).First(u => u.Name == name);

    private static AccessException UserNotFound(string name) => new(AccessError.UserNotFound, $"User '{name}' does not exist; see 'turbomft user list'.");

    private static AccessException PeerNotFound(string name) => new(AccessError.PeerNotFound, $"Peer '{name}' does not exist; see 'turbomft peer list'.");

    private static AccessException PolicyManaged(string what) =>
        new(AccessError.PolicyManaged, $"{char.ToUpperInvariant(what[0])}{what[1..]} is declared in the policy file; change it there (it is applied at every server start).");
}
