using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text;
using TurboMft.Engine.Protocol;
using TurboMft.Host.Access;

namespace TurboMft.Host.Cli;

/// <summary>What the administration commands read from and write to; tests give their own.</summary>
/// <param name="Output">Results.</param>
/// <param name="Error">Errors and prompts.</param>
/// <param name="Input">Where <c>--password-stdin</c> reads.</param>
/// <param name="InputIsTerminal">Whether a password may be prompted for (without echo).</param>
/// <param name="OfflineAudit">The audit log opener for <c>--data</c>; see <see cref="Cli.OfflineAudit"/>.</param>
internal sealed record AdminCliContext(TextWriter Output, TextWriter Error, TextReader Input, bool InputIsTerminal, OfflineAuditOpener? OfflineAudit)
{
    public static AdminCliContext ForConsole(TextWriter output, TextWriter error) =>
        new(output, error, Console.In, !Console.IsInputRedirected, Cli.OfflineAudit.Default);
}

/// <summary>
/// <c>turbomft user|token|role|peer|policy</c>: access administration (docs/security.md, "Administration"), against a running
/// server (<c>--server https://host:port</c> with <c>--ca</c>/<c>--pin</c> and an admin token) or offline against a data
/// directory (<c>--data DIR</c>, for first set-up). Both go through the same rules and are audited alike.
/// </summary>
internal static class AccessCommands
{
    public static IEnumerable<Command> Create(AdminCliContext context) =>
        [UserCommand(context), TokenCommand(context), RoleCommand(context), PeerCommand(context), PolicyCommand(context)];

    private static Command UserCommand(AdminCliContext context)
    {
        var addName = NameArgument("NAME", "The new user's name: lower-case letters, digits, '.', '_', '-'.");
        var prompt = new Option<bool>("--password") { Description = "Give the user a password, asked for twice without echo." };
        var stdin = PasswordStdin();
        var roles = new Option<string[]>("--role") { Description = "Grant a role on an area, e.g. uploader:/ot/plant1 (repeatable).", HelpName = "ROLE:AREA", Arity = ArgumentArity.ZeroOrMore };
        var add = new Command("add", "Add a user, optionally with a password (used only to obtain tokens) and roles.") { addName, prompt, stdin, roles };
        Run(add, context, async (parse, session, target, ct) =>
        {
            var password = parse.GetValue(prompt) || parse.GetValue(stdin)
                ? await ReadPasswordAsync(context, parse.GetValue(stdin), parse.GetRequiredValue(addName)).ConfigureAwait(false)
                : null;
            var assignments = parse.GetValue(roles)?.Select(ParseRoleOnArea).ToList();
            var user = await session.AddUserAsync(new AddUserRequest(parse.GetRequiredValue(addName), password, assignments), ct).ConfigureAwait(false);
            await WriteAsync(context, target, user, $"added user {user.Name}{(user.HasPassword ? " with a password" : string.Empty)}{RolesText(user.Roles, " holding ")}").ConfigureAwait(false);
        });

        var list = new Command("list", "List users, their roles and whether they have a password.");
        Run(list, context, async (_, session, target, ct) =>
        {
            var users = await session.ListUsersAsync(ct).ConfigureAwait(false);
            await WriteAsync(context, target, users, Table(
                ["NAME", "ENABLED", "PASSWORD", "SOURCE", "CREATED", "ROLES"],
                users.Users.Select(u => new[] { u.Name, YesNo(u.Enabled), YesNo(u.HasPassword), u.Source, Time(u.CreatedAt), RolesText(u.Roles, string.Empty) }))).ConfigureAwait(false);
        });

        var disableName = NameArgument("NAME", "The user.");
        var disable = new Command("disable", "Disable a user: its tokens and password stop working (refused for the last admin).") { disableName };
        Run(disable, context, async (parse, session, target, ct) =>
        {
            var name = parse.GetRequiredValue(disableName);
            await session.SetUserEnabledAsync(name, false, ct).ConfigureAwait(false);
            await WriteAsync(context, target, new { user = name, enabled = false }, $"disabled user {name}").ConfigureAwait(false);
        });

        var enableName = NameArgument("NAME", "The user.");
        var enable = new Command("enable", "Enable a user again.") { enableName };
        Run(enable, context, async (parse, session, target, ct) =>
        {
            var name = parse.GetRequiredValue(enableName);
            await session.SetUserEnabledAsync(name, true, ct).ConfigureAwait(false);
            await WriteAsync(context, target, new { user = name, enabled = true }, $"enabled user {name}").ConfigureAwait(false);
        });

        var passwdName = NameArgument("NAME", "The user.");
        var passwdStdin = PasswordStdin();
        var passwd = new Command("passwd", "Set a user's password: asked for twice without echo, or read from standard input.") { passwdName, passwdStdin };
        Run(passwd, context, async (parse, session, target, ct) =>
        {
            var name = parse.GetRequiredValue(passwdName);
            var password = await ReadPasswordAsync(context, parse.GetValue(passwdStdin), name).ConfigureAwait(false);
            await session.SetPasswordAsync(name, password, ct).ConfigureAwait(false);
            await WriteAsync(context, target, new { user = name, password = "set" }, $"set the password of {name}").ConfigureAwait(false);
        });

        return new Command("user", "Manage users.") { add, list, disable, enable, passwd };
    }

    private static Command TokenCommand(AdminCliContext context)
    {
        var user = NameArgument("USER", "Whose rights the token carries.");
        var label = new Option<string?>("--label") { Description = "What the token is for, shown in listings.", HelpName = "TEXT" };
        var expires = new Option<double?>("--expires-in")
        {
            Description = "Lifetime, e.g. 90m, 12h or 30d (default: until revoked).",
            HelpName = "DURATION",
            CustomParser = ParseHours,
        };
        var permissions = new Option<string?>("--permissions") { Description = "Narrow the token to these of the user's permissions, e.g. list,read.", HelpName = "LIST" };
        var areas = new Option<string[]>("--area") { Description = "Narrow the token to this area (repeatable).", HelpName = "AREA", Arity = ArgumentArity.ZeroOrMore };
        var create = new Command("create", "Issue a token for a user and print its secret, once. The token can only narrow the user's rights.") { user, label, expires, permissions, areas };
        Run(create, context, async (parse, session, target, ct) =>
        {
            var chosenAreas = parse.GetValue(areas);
            var issued = await session.IssueTokenAsync(
                new IssueTokenRequest(parse.GetRequiredValue(user), parse.GetValue(label), parse.GetValue(expires), parse.GetValue(permissions), chosenAreas is { Length: > 0 } ? chosenAreas : null),
                ct).ConfigureAwait(false);
            if (target.Json)
            {
                await context.Output.WriteLineAsync(CliJson.Serialize(issued)).ConfigureAwait(false);
                return;
            }

            // The secret alone on stdout, so that TOKEN=$(turbomft token create …) works; the rest on stderr.
            await context.Output.WriteLineAsync(issued.Token).ConfigureAwait(false);
            await context.Error.WriteLineAsync(
                $"token {issued.Id} for {issued.User}{(issued.ExpiresAt is { } at ? $", expires {Time(at)}" : string.Empty)}; the secret above is shown only now").ConfigureAwait(false);
        });

        var of = new Option<string?>("--user") { Description = "Only this user's tokens.", HelpName = "NAME" };
        var list = new Command("list", "List tokens (never their secrets).") { of };
        Run(list, context, async (parse, session, target, ct) =>
        {
            var tokens = await session.ListTokensAsync(parse.GetValue(of), ct).ConfigureAwait(false);
            await WriteAsync(context, target, tokens, Table(
                ["ID", "USER", "LABEL", "CREATED", "EXPIRES", "REVOKED", "LAST USED", "SCOPE"],
                tokens.Tokens.Select(t => new[]
                {
                    t.Id, t.User, t.Label ?? "-", Time(t.CreatedAt), Time(t.ExpiresAt), Time(t.RevokedAt), Time(t.LastUsedAt),
                    t.Permissions + (t.Areas is null ? string.Empty : " on " + string.Join(',', t.Areas)),
                }))).ConfigureAwait(false);
        });

        var id = new Argument<string>("ID") { Description = "The token's id (tok_…), as token list shows it." };
        var revoke = new Command("revoke", "Revoke a token.") { id };
        Run(revoke, context, async (parse, session, target, ct) =>
        {
            await session.RevokeTokenAsync(parse.GetRequiredValue(id), ct).ConfigureAwait(false);
            await WriteAsync(context, target, new { revoked = parse.GetRequiredValue(id) }, $"revoked {parse.GetRequiredValue(id)}").ConfigureAwait(false);
        });

        return new Command("token", "Manage API tokens.") { create, list, revoke };
    }

    private static Command RoleCommand(AdminCliContext context)
    {
        var list = new Command("list", "List roles and grants.");
        Run(list, context, async (_, session, target, ct) =>
        {
            var roles = await session.ListRolesAsync(ct).ConfigureAwait(false);
            var grants = await session.ListGrantsAsync(ct).ConfigureAwait(false);
            var text = Table(["ROLE", "PERMISSIONS", "SOURCE"], roles.Roles.Select(r => new[] { r.Name, r.Permissions, r.Source }))
                + "\n" + Table(["GRANT", "TO", "AREA", "SOURCE"], grants.Grants.Select(g => new[] { g.Role, g.User is null ? "peer " + g.Peer : "user " + g.User, g.Area, g.Source }));
            await WriteAsync(context, target, new { roles = roles.Roles, grants = grants.Grants }, text).ConfigureAwait(false);
        });

        var addName = NameArgument("NAME", "The new role's name.");
        var permissions = new Option<string>("--permissions") { Description = "What the role allows: some of list, read, write, delete, approve, audit, admin, metrics.", HelpName = "LIST", Required = true };
        var add = new Command("add", "Add a custom role.") { addName, permissions };
        Run(add, context, async (parse, session, target, ct) =>
        {
            var role = await session.AddRoleAsync(new AddRoleRequest(parse.GetRequiredValue(addName), parse.GetRequiredValue(permissions)), ct).ConfigureAwait(false);
            await WriteAsync(context, target, role, $"added role {role.Name}: {role.Permissions}").ConfigureAwait(false);
        });

        return new Command("role", "Manage roles and grant them on areas.") { list, add, GrantCommand(context, revoke: false), GrantCommand(context, revoke: true) };
    }

    private static Command GrantCommand(AdminCliContext context, bool revoke)
    {
        var role = NameArgument("ROLE", "The role.");
        var user = new Option<string?>("--user") { Description = "To or from this user.", HelpName = "NAME" };
        var peer = new Option<string?>("--peer") { Description = "To or from this peer site.", HelpName = "NAME" };
        var area = new Option<string>("--area") { Description = "The area: a path prefix such as /ot/plant1, or / for everything.", HelpName = "AREA", Required = true };
        var command = new Command(revoke ? "revoke" : "grant", revoke ? "Revoke a role on an area from a user or peer." : "Grant a role on an area to a user or peer.") { role, user, peer, area };
        command.Validators.Add(r =>
        {
            if ((r.GetResult(user) is null) == (r.GetResult(peer) is null))
            {
                r.AddError("Name exactly one of --user and --peer.");
            }
        });
        Run(command, context, async (parse, session, target, ct) =>
        {
            var request = new GrantRequest(parse.GetRequiredValue(role), parse.GetValue(user), parse.GetValue(peer), parse.GetRequiredValue(area));
            await (revoke ? session.RevokeGrantAsync(request, ct) : session.GrantAsync(request, ct)).ConfigureAwait(false);
            var who = request.User is null ? $"peer {request.Peer}" : $"user {request.User}";
            await WriteAsync(context, target, request, revoke ? $"revoked {request.Role} on {request.Area} from {who}" : $"granted {request.Role} on {request.Area} to {who}").ConfigureAwait(false);
        });
        return command;
    }

    private static Command PeerCommand(AdminCliContext context)
    {
        var addName = NameArgument("NAME", "The peer site's name.");
        var fingerprint = new Option<string?>("--fingerprint") { Description = "Pin the peer's client certificate: sha256:HEX of its DER.", HelpName = "sha256:HEX" };
        var commonName = new Option<string?>("--common-name") { Description = "Accept a certificate with this subject CN issued by the server's client CA (ClientCaFile).", HelpName = "CN" };
        var url = new Option<string?>("--url") { Description = "Outbound: the peer's address for replication, https://host:port.", HelpName = "URL" };
        var serverPin = new Option<string?>("--server-pin") { Description = "Outbound: trust the peer's server certificate with this SHA-256 (as its 'turbomft serve' prints it).", HelpName = "sha256:HEX" };
        var serverCa = new Option<string?>("--server-ca") { Description = "Outbound: trust the peer's server through this CA file (an absolute path on the server).", HelpName = "FILE" };
        var peerToken = new Option<FileInfo?>("--peer-token-file") { Description = "Outbound: authenticate with this token the peer issued (stored sealed under the master key) instead of the node certificate (mTLS, the default).", HelpName = "FILE" };
        var add = new Command("add", "Register a peer site: inbound by its TLS client certificate (--fingerprint or --common-name), outbound for replication (--url with --server-pin or --server-ca), or both.")
        {
            addName, fingerprint, commonName, url, serverPin, serverCa, peerToken,
        };
        add.Validators.Add(r =>
        {
            if (r.GetResult(fingerprint) is not null && r.GetResult(commonName) is not null)
            {
                r.AddError("Name at most one of --fingerprint and --common-name.");
            }

            if (r.GetResult(fingerprint) is null && r.GetResult(commonName) is null && r.GetResult(url) is null)
            {
                r.AddError("Name --fingerprint or --common-name (inbound), --url (outbound), or both.");
            }

            if (r.GetResult(url) is null && (r.GetResult(serverPin) is not null || r.GetResult(serverCa) is not null || r.GetResult(peerToken) is not null))
            {
                r.AddError("--server-pin, --server-ca and --peer-token-file go with --url.");
            }
        });
        Run(add, context, async (parse, session, target, ct) =>
        {
            var token = parse.GetValue(peerToken) is { } file ? (await File.ReadAllTextAsync(file.FullName, ct).ConfigureAwait(false)).Trim() : null;
            var ca = parse.GetValue(serverCa) is { } caPath ? Path.GetFullPath(caPath) : null;
            var request = new AddPeerRequest(parse.GetRequiredValue(addName), parse.GetValue(fingerprint), parse.GetValue(commonName), parse.GetValue(url), parse.GetValue(serverPin), ca, token is null ? null : "token", token);
            var peer = await session.AddPeerAsync(request, ct).ConfigureAwait(false);
            await WriteAsync(context, target, peer, $"added peer {peer.Name} ({PeerText(peer)})").ConfigureAwait(false);
        });

        var list = new Command("list", "List peer sites and their roles.");
        Run(list, context, async (_, session, target, ct) =>
        {
            var peers = await session.ListPeersAsync(ct).ConfigureAwait(false);
            await WriteAsync(context, target, peers, Table(
                ["NAME", "ENABLED", "INBOUND CERTIFICATE", "OUTBOUND", "SOURCE", "ROLES"],
                peers.Peers.Select(p => new[]
                {
                    p.Name, YesNo(p.Enabled), p.Fingerprint ?? (p.CommonName is null ? "-" : "CN=" + p.CommonName),
                    p.Url is null ? "-" : $"{p.Url} ({p.Credential}, {(p.ServerPin is null ? "ca " + (p.ServerCa ?? "system") : "pin")})", p.Source, RolesText(p.Roles, string.Empty),
                }))).ConfigureAwait(false);
        });

        return new Command("peer", "Manage peer sites (mTLS).") { add, list, PeerState(context, "disable"), PeerState(context, "enable"), PeerState(context, "remove") };
    }

    private static string PeerText(PeerView peer)
    {
        var inbound = peer.Fingerprint ?? (peer.CommonName is null ? null : "CN=" + peer.CommonName);
        var outbound = peer.Url is null ? null : $"outbound {peer.Url} by {peer.Credential}";
        return string.Join("; ", new[] { inbound, outbound }.Where(t => t is not null));
    }

    private static Command PeerState(AdminCliContext context, string verb)
    {
        var name = NameArgument("NAME", "The peer.");
        var command = new Command(verb, verb switch
        {
            "disable" => "Disable a peer: its certificate stops working.",
            "enable" => "Enable a peer again.",
            _ => "Remove a peer and its grants.",
        }) { name };
        Run(command, context, async (parse, session, target, ct) =>
        {
            var peer = parse.GetRequiredValue(name);
            await (verb == "remove" ? session.RemovePeerAsync(peer, ct) : session.SetPeerEnabledAsync(peer, verb == "enable", ct)).ConfigureAwait(false);
            await WriteAsync(context, target, new { peer, action = verb }, $"{(verb == "remove" ? "removed" : verb + "d")} peer {peer}").ConfigureAwait(false);
        });
        return command;
    }

    private static Command PolicyCommand(AdminCliContext context)
    {
        var file = new Argument<string>("FILE") { Description = "The JSON policy file." };
        var json = CliOptions.Json();
        var check = new Command("check", "Validate a policy file as the server does at start; errors name FILE:LINE:COLUMN.") { file, json };
        check.SetAction((parse, _) => CliErrors.GuardAsync(context.Error, async () =>
        {
            var policy = AccessPolicyFile.Load(parse.GetRequiredValue(file));
            var summary = new { file = policy.Path, roles = policy.Roles.Count, users = policy.Users.Count, peers = policy.Peers.Count, grants = policy.Grants.Count };
            await context.Output.WriteLineAsync(parse.GetValue(json)
                ? CliJson.Serialize(summary)
                : $"{policy.Path}: ok ({summary.roles} roles, {summary.users} users, {summary.peers} peers, {summary.grants} grants)").ConfigureAwait(false);
            return ExitCodes.Ok;
        }));
        return new Command("policy", "Check access policy files.") { check };
    }

    /// <summary>Adds the target options to <paramref name="command"/> and runs <paramref name="action"/> against the chosen target.</summary>
    private static void Run(Command command, AdminCliContext context, Func<ParseResult, IAdminSession, AdminTarget, CancellationToken, Task> action)
    {
        var options = new AdminTargetOptions();
        options.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliErrors.GuardAsync(context.Error, async () =>
        {
            var target = options.Read(parse);
            var session = await options.OpenAsync(parse, context, cancellationToken).ConfigureAwait(false);
            await using (session.ConfigureAwait(false))
            {
                await action(parse, session, target, cancellationToken).ConfigureAwait(false);
            }

            return ExitCodes.Ok;
        }));
    }

    private static Argument<string> NameArgument(string name, string description) => new(name) { Description = description };

    private static Option<bool> PasswordStdin() => new("--password-stdin") { Description = "Read the password from the first line of standard input (never from the command line)." };

    private static RoleAssignmentView ParseRoleOnArea(string text)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        return colon > 0
            ? new RoleAssignmentView(text[..colon], text[(colon + 1)..])
            : throw new ArgumentException($"--role '{text}' is not ROLE:AREA (for example uploader:/ot/plant1, or admin:/ for everything).");
    }

    private static double? ParseHours(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value.Trim() : string.Empty;
        var unit = text.Length > 0 ? char.ToLowerInvariant(text[^1]) : ' ';
        var factor = unit switch { 'm' => 1.0 / 60, 'h' => 1.0, 'd' => 24.0, _ => 0 };
        if (factor == 0 || !double.TryParse(text[..^1], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || value <= 0)
        {
            result.AddError($"--expires-in '{text}' is not a duration; write e.g. 90m, 12h or 30d.");
            return null;
        }

        return value * factor;
    }

    private static async Task<string> ReadPasswordAsync(AdminCliContext context, bool fromStdin, string user)
    {
        if (fromStdin)
        {
            var line = await context.Input.ReadLineAsync().ConfigureAwait(false);
            return string.IsNullOrEmpty(line)
                ? throw new ArgumentException("--password-stdin: standard input held no password (give it on the first line).")
                : line;
        }

        if (!context.InputIsTerminal)
        {
            throw new ArgumentException("There is no terminal to ask for the password on; pipe it in with --password-stdin.");
        }

        var first = Prompt(context.Error, $"New password for {user}: ");
        var again = Prompt(context.Error, "Again: ");
        return first == again ? first : throw new ArgumentException("The two passwords differ; nothing was changed.");
    }

    /// <summary>Reads one line from the terminal without echoing it.</summary>
    private static string Prompt(TextWriter error, string prompt)
    {
        error.Write(prompt);
        error.Flush();
        var typed = new StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                break;
            }

            if (key.Key == ConsoleKey.Backspace)
            {
                typed.Length = Math.Max(0, typed.Length - 1);
            }
            else if (!char.IsControl(key.KeyChar))
            {
                typed.Append(key.KeyChar);
            }
        }

        error.WriteLine();
        return typed.ToString();
    }

    private static async Task WriteAsync<T>(AdminCliContext context, AdminTarget target, T value, string text) =>
        await context.Output.WriteLineAsync(target.Json ? CliJson.Serialize(value) : text.TrimEnd('\n')).ConfigureAwait(false);

    private static string RolesText(IReadOnlyList<RoleAssignmentView> roles, string prefix) =>
        roles.Count == 0 ? (prefix.Length == 0 ? "-" : string.Empty) : prefix + string.Join(", ", roles.Select(r => $"{r.Role}:{r.Area}"));

    private static string YesNo(bool value) => value ? "yes" : "no";

    internal static string Time(DateTimeOffset? time) => time is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm'Z'", CultureInfo.InvariantCulture) : "-";

    internal static string Table(string[] header, IEnumerable<string[]> rows)
    {
        var all = new List<string[]> { header };
        all.AddRange(rows);
        var widths = header.Select((_, i) => all.Max(r => r[i].Length)).ToArray();
        var text = new StringBuilder();
        foreach (var row in all)
        {
            text.AppendJoin("  ", row.Select((cell, i) => i == row.Length - 1 ? cell : cell.PadRight(widths[i]))).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>Whether a command prints JSON.</summary>
    private sealed record AdminTarget(bool Json);

    /// <summary><c>--server URL</c> (with trust and token) or <c>--data DIR</c>, and <c>--json</c>.</summary>
    private sealed class AdminTargetOptions
    {
        private readonly Option<string?> _server = new("--server") { Description = "The server, https://host:port; needs --ca or --pin and an admin token (--token-file or TURBOMFT_TOKEN).", HelpName = "URL" };
        private readonly Option<string?> _data = new("--data") { Description = "Act on this data directory directly instead (first set-up); initialised if new.", HelpName = "DIR" };
        private readonly ServerAccessOptions _access = new();
        private readonly Option<bool> _json = CliOptions.Json();

        public void AddTo(Command command)
        {
            command.Options.Add(_server);
            _access.AddTo(command);
            command.Options.Add(_data);
            command.Options.Add(_json);
            command.Validators.Add(r =>
            {
                if ((r.GetResult(_server) is null) == (r.GetResult(_data) is null))
                {
                    r.AddError("Name exactly one of --server URL (a running server) and --data DIR (its data directory, offline).");
                }
            });
        }

        public AdminTarget Read(ParseResult parse) => new(parse.GetValue(_json));

        public async Task<IAdminSession> OpenAsync(ParseResult parse, AdminCliContext context, CancellationToken cancellationToken)
        {
            if (parse.GetValue(_data) is { } data)
            {
                return await OfflineAdminSession.OpenAsync(data, context.OfflineAudit, cancellationToken).ConfigureAwait(false);
            }

            return new OnlineAdminSession(_access.OpenAdminClient(parse, parse.GetValue(_server)!));
        }
    }
}
