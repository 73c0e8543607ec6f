using System.CommandLine;
using System.Globalization;
using TurboMft.Engine.Protocol;

namespace TurboMft.Host.Cli;

/// <summary>
/// <c>turbomft cluster status</c> (docs/operations.md, "Cluster status") against a running node: the registered nodes with
/// their version, last heartbeat, liveness and the leases each holds, as a table or <c>--json</c>.
/// </summary>
internal static class ClusterCommands
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var server = new Option<string>("--server") { Description = "The server, https://host:port; needs --ca or --pin and an admin token (--token-file or TURBOMFT_TOKEN).", HelpName = "URL", Required = true };
        var access = new ServerAccessOptions();
        var json = CliOptions.Json();
        var status = new Command("status", "Live nodes, their version, last heartbeat and the leases each holds.") { server, json };
        access.AddTo(status);
        status.SetAction((parse, cancellationToken) => CliErrors.GuardAsync(error, async () =>
        {
            using var client = access.OpenAdminClient(parse, parse.GetRequiredValue(server));
            var listing = await client.ListNodesAsync(cancellationToken).ConfigureAwait(false);
            await output.WriteLineAsync(parse.GetValue(json) ? CliJson.Serialize(listing) : Format(listing)).ConfigureAwait(false);
            return ExitCodes.Ok;
        }));
        return new Command("cluster", "The nodes of the service (docs/cluster.md).") { status };
    }

    /// <summary>The table: one row per node; the answering node is marked with '*'.</summary>
    internal static string Format(NodeListing listing) => AccessCommands.Table(
        ["NODE", "SITE", "VERSION", "LIVE", "LAST HEARTBEAT", "LEASES"],
        listing.Nodes.Select(n => new[]
        {
            n.Name + (n.Name == listing.Node ? " *" : string.Empty), n.Site, n.Version, n.Live ? "yes" : "no",
            n.HeartbeatAt.UtcDateTime.ToString("u", CultureInfo.InvariantCulture),
            n.Leases.Count == 0 ? "-" : string.Join(' ', n.Leases.Select(l => $"{l.Name}#{l.Token}")),
        })).TrimEnd('\n');
}
