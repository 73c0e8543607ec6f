using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Client;
using TurboMft.Engine.Protocol;

namespace TurboMft.Host.Cli;

/// <summary>
/// <c>turbomft replication rule add|list|remove</c> and <c>turbomft replication status</c> (docs/replication.md) against a
/// running server: <c>--server https://host:port</c> with <c>--ca</c>/<c>--pin</c> and an admin token.
/// </summary>
internal static class ReplicationCommands
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var name = new Argument<string>("NAME") { Description = "The rule's name: lower-case letters, digits, '.', '_', '-'." };
        var area = new Option<string>("--area") { Description = "The source area: local for push, on the peer for pull.", HelpName = "PATH", Required = true };
        var peer = new Option<string>("--peer") { Description = "The peer (registered with 'turbomft peer add NAME --url …').", HelpName = "NAME", Required = true };
        var mode = new Option<string>("--mode") { Description = "push (this node sends) or pull (this node fetches; the peer never connects here).", HelpName = "push|pull", DefaultValueFactory = _ => "push" };
        mode.AcceptOnlyFromAmong("push", "pull");
        var target = new Option<string?>("--target") { Description = "The destination prefix the area maps to (default: the same path).", HelpName = "PATH" };
        var deletes = new Option<bool>("--propagate-deletes") { Description = "Push: delete on the peer what is deleted here (only while the peer holds the same digest)." };
        var interval = new Option<long?>("--interval") { Description = "Run every DURATION (e.g. 15m, 2h) instead of continuously.", HelpName = "DURATION", CustomParser = ParseSeconds };
        var bandwidth = new Option<long?>("--bandwidth") { Description = "Limit the rule's transfers to SIZE per second (e.g. 50MiB).", HelpName = "SIZE", CustomParser = ParseSize };
        var include = new Option<string[]>("--include") { Description = "Only paths matching GLOB, relative to the area (repeatable; *.csv, **/daily/*).", HelpName = "GLOB", Arity = ArgumentArity.ZeroOrMore };
        var exclude = new Option<string[]>("--exclude") { Description = "Leave out paths matching GLOB (repeatable).", HelpName = "GLOB", Arity = ArgumentArity.ZeroOrMore };
        var add = new Command("add", "Add a replication rule.") { name, area, peer, mode, target, deletes, interval, bandwidth, include, exclude };
        Run(add, output, error, async (parse, client, json, ct) =>
        {
            var request = new AddReplicationRuleRequest(
                parse.GetRequiredValue(name), parse.GetRequiredValue(area), parse.GetRequiredValue(peer), parse.GetValue(mode), parse.GetValue(target),
                parse.GetValue(deletes), parse.GetValue(interval), parse.GetValue(bandwidth), parse.GetValue(include), parse.GetValue(exclude));
            var rule = await client.AddReplicationRuleAsync(request, ct).ConfigureAwait(false);
            await output.WriteLineAsync(json ? CliJson.Serialize(rule) : $"added rule {rule.Name}: {Describe(rule)}").ConfigureAwait(false);
        });

        var list = new Command("list", "List replication rules.");
        Run(list, output, error, async (_, client, json, ct) =>
        {
            var rules = await client.ListReplicationRulesAsync(ct).ConfigureAwait(false);
            await output.WriteLineAsync(json ? CliJson.Serialize(new ReplicationRuleList(rules)) : AccessCommands.Table(
                ["NAME", "MODE", "PEER", "AREA", "TARGET", "SCHEDULE", "DELETES", "BANDWIDTH", "PATTERNS"],
                rules.Select(r => new[]
                {
                    r.Name, r.Mode, r.Peer, r.Area, r.Target, r.IntervalSeconds == 0 ? "continuous" : $"every {r.IntervalSeconds}s", r.PropagateDeletes ? "yes" : "no",
                    r.BandwidthBytesPerSecond == 0 ? "-" : ByteSize.Format(r.BandwidthBytesPerSecond) + "/s", Patterns(r),
                })).TrimEnd('\n')).ConfigureAwait(false);
        });

        var removeName = new Argument<string>("NAME") { Description = "The rule." };
        var remove = new Command("remove", "Remove a replication rule and its pending jobs.") { removeName };
        Run(remove, output, error, async (parse, client, json, ct) =>
        {
            var rule = parse.GetRequiredValue(removeName);
            await client.RemoveReplicationRuleAsync(rule, ct).ConfigureAwait(false);
            await output.WriteLineAsync(json ? CliJson.Serialize(new { rule, action = "remove" }) : $"removed rule {rule}").ConfigureAwait(false);
        });

        var status = new Command("status", "Backlog, oldest pending age, last error and bytes per second per peer.");
        Run(status, output, error, async (_, client, json, ct) =>
        {
            var report = await client.ReplicationStatusAsync(ct).ConfigureAwait(false);
            await output.WriteLineAsync(json ? CliJson.Serialize(report) : $"site {report.Site}\n" + AccessCommands.Table(
                ["PEER", "BACKLOG", "RUNNING", "OLDEST", "RATE", "DONE", "SKIPPED", "FAILED", "LAST ERROR"],
                report.Peers.Select(p => new[]
                {
                    p.Peer, Count(p.Backlog), p.Running.ToString(CultureInfo.InvariantCulture), p.OldestPendingSeconds == 0 ? "-" : $"{p.OldestPendingSeconds:0}s",
                    ByteSize.Format(p.BytesPerSecond) + "/s", Count(p.Done), Count(p.Skipped), Count(p.FailedPermanent), p.LastError ?? "-",
                })).TrimEnd('\n')).ConfigureAwait(false);
        });

        return new Command("replication", "Replicate areas to and from peer sites (docs/replication.md).")
        {
            new Command("rule", "Manage replication rules.") { add, list, remove },
            status,
        };
    }

    private static string Count(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Describe(ReplicationRuleView rule) =>
        $"{rule.Mode} {rule.Area} {(rule.Mode == "pull" ? "from" : "to")} {rule.Peer}:{rule.Target}"
        + (rule.IntervalSeconds == 0 ? ", continuous" : $", every {rule.IntervalSeconds}s")
        + (rule.PropagateDeletes ? ", deletes propagate" : string.Empty)
        + (rule.BandwidthBytesPerSecond == 0 ? string.Empty : $", at most {ByteSize.Format(rule.BandwidthBytesPerSecond)}/s");

    private static string Patterns(ReplicationRuleView rule) =>
        rule.Include.Count + rule.Exclude.Count == 0 ? "-" : string.Join(' ', rule.Include.Select(p => "+" + p).Concat(rule.Exclude.Select(p => "-" + p)));

    private static void Run(Command command, TextWriter output, TextWriter error, Func<ParseResult, TurboMftAdminClient, bool, CancellationToken, Task> action)
    {
        var server = new Option<string>("--server") { Description = "The server, https://host:port; needs --ca or --pin and an admin token (--token-file or TURBOMFT_TOKEN).", HelpName = "URL", Required = true };
        var access = new ServerAccessOptions();
        var json = CliOptions.Json();
        command.Options.Add(server);
        access.AddTo(command);
        command.Options.Add(json);
        command.SetAction((parse, cancellationToken) => CliErrors.GuardAsync(error, async () =>
        {
            using var client = access.OpenAdminClient(parse, parse.GetRequiredValue(server));
            await action(parse, client, parse.GetValue(json), cancellationToken).ConfigureAwait(false);
            return ExitCodes.Ok;
        }));
    }

    private static long? ParseSeconds(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value.Trim() : string.Empty;
        var unit = text.Length > 0 ? char.ToLowerInvariant(text[^1]) : ' ';
        var factor = unit switch { 's' => 1, 'm' => 60, 'h' => 3600, 'd' => 86400, _ => 0 };
        if (factor == 0 || !long.TryParse(text[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value <= 0)
        {
            result.AddError($"--interval '{text}' is not a duration; write e.g. 90s, 15m, 2h or 1d.");
            return null;
        }

        return value * factor;
    }

    private static long? ParseSize(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value.Trim() : string.Empty;
        if (!ByteSize.TryParse(text, out var bytes) || bytes < 1024)
        {
            result.AddError($"--bandwidth '{text}' is not a size of at least 1KiB per second; write e.g. 512KiB or 50MiB.");
            return null;
        }

        return bytes;
    }
}
