using System.Net.Http.Json;
using System.Text.Json;
using TurboMft.Engine.Protocol;
using TurboMft.Host.Audit;
using TurboMft.Host.Cli;
using TurboMft.Host.Cluster;
using TurboMft.Host.Tests.Postgres;
using TurboMft.Host.Tests.Server;

namespace TurboMft.Host.Tests.Cluster;

/// <summary>
/// Background work once per cluster, end to end: two servers on one database share the leases (one holder each), the
/// listing shows them per node, a clean stop hands them to the other node, and <c>turbomft cluster status</c> prints them.
/// </summary>
public sealed class ClusterLeaseServerTests(PostgresServer postgres)
{
    private static readonly string[] ClusterWork = [LeaseNames.ScanSweep, LeaseNames.UploadExpiry, LeaseNames.OrphanSweep];
    private readonly CancellationToken _cancel = TestContext.Current.CancellationToken;

    [Fact]
    public async Task Two_nodes_on_one_database_run_each_background_job_on_one_node_and_it_moves_when_that_node_stops()
    {
        var connection = await postgres.CreateDatabaseAsync("leaseservers");
        var a = await ServerFixture.StartAsync(configure: s => { s.Postgres = connection; s.Node = "node-a"; });
        await using var b = await ServerFixture.StartAsync(configure: s => { s.Postgres = connection; s.Node = "node-b"; });
        // b's own data directory token was never registered (a seeded the database): a's works on every node.
        using var onB = ServerFixture.CreateClient(b.Server.Fingerprint, a.Token, System.Net.HttpVersion.Version11);
        try
        {
            // Node a started first and its services asked first: it holds the cluster's work; b holds none of it.
            var listing = await WaitForAsync(onB, b, l => ClusterWork.All(w => HolderOf(l, w) is not null));
            Assert.All(ClusterWork, w => Assert.Equal("node-a", HolderOf(listing, w)));
            Assert.DoesNotContain(listing.Nodes.Single(n => n.Name == "node-b").Leases, l => ClusterWork.Contains(l.Name));
            var tokens = ClusterWork.ToDictionary(w => w, w => listing.Nodes.SelectMany(n => n.Leases).Single(l => l.Name == w).Token);

            await a.DisposeAsync();

            // The clean stop released them: b's next renewal round (every 5 s) takes each over, with a larger token.
            var moved = await WaitForAsync(onB, b, l => ClusterWork.All(w => HolderOf(l, w) == "node-b"));
            Assert.All(ClusterWork, w => Assert.True(moved.Nodes.Single(n => n.Name == "node-b").Leases.Single(l => l.Name == w).Token > tokens[w]));
            Assert.DoesNotContain(moved.Nodes, n => n.Name == "node-a");
        }
        finally
        {
            if (a.IsRunning)
            {
                await a.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Cluster_status_prints_the_nodes_with_their_leases_as_a_table_and_as_json()
    {
        await using var server = await ServerFixture.StartAsync(configure: s => s.Node = "solo-1");
        await WaitForAsync(server.Client, server, l => ClusterWork.Take(2).All(w => HolderOf(l, w) == "solo-1"));
        var tokenFile = Path.Combine(server.DataPath, "admin.token");
        string[] target = ["--server", server.Address.ToString().TrimEnd('/'), "--pin", server.Server.Fingerprint, "--token-file", tokenFile];

        var table = await RunAsync(["cluster", "status", .. target]);
        Assert.Equal(0, table.ExitCode);
        var lines = table.Output.TrimEnd('\n').Split('\n');
        Assert.StartsWith("NODE", lines[0], StringComparison.Ordinal);
        Assert.Contains("LEASES", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("solo-1 *", lines[1], StringComparison.Ordinal);
        Assert.Contains("scan-sweep#1", lines[1], StringComparison.Ordinal);
        Assert.Contains("upload-expiry#1", lines[1], StringComparison.Ordinal);

        var json = await RunAsync(["cluster", "status", "--json", .. target]);
        Assert.Equal(0, json.ExitCode);
        using var parsed = JsonDocument.Parse(json.Output);
        Assert.Equal("solo-1", parsed.RootElement.GetProperty("node").GetString());
        var node = parsed.RootElement.GetProperty("nodes").EnumerateArray().Single();
        Assert.True(node.GetProperty("live").GetBoolean());
        Assert.Contains(node.GetProperty("leases").EnumerateArray(), l => l.GetProperty("name").GetString() == "scan-sweep" && l.GetProperty("token").GetInt64() == 1);
    }

    private static string? HolderOf(NodeListing listing, string lease) =>
        listing.Nodes.FirstOrDefault(n => n.Leases.Any(l => l.Name == lease))?.Name;

    private async Task<NodeListing> WaitForAsync(HttpClient client, ServerFixture server, Func<NodeListing, bool> done)
    {
        // Polls the listing (the outcome), not a sleep: a renewal round is 5 s, a handover at most one round.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var listing = (await client.GetFromJsonAsync<NodeListing>(server.Url("/v1/admin/nodes"), _cancel))!;
            if (done(listing))
            {
                return listing;
            }

            Assert.True(DateTime.UtcNow < deadline, $"the leases did not settle: {JsonSerializer.Serialize(listing)}");
            await Task.Delay(200, _cancel);
        }
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await TurboMftCommand.RunAsync(args, new AdminCliContext(output, error, new StringReader(string.Empty), InputIsTerminal: false, (_, _) => ValueTask.FromResult<IAuditTrail>(new Access.RecordingAuditTrail())));
        return (code, output.ToString().ReplaceLineEndings("\n"), error.ToString().ReplaceLineEndings("\n"));
    }
}
