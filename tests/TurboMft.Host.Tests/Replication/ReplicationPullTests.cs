using System.Text;
using Microsoft.Extensions.DependencyInjection;
using TurboMft.Engine.Client;
using TurboMft.Engine.Datasets;
using TurboMft.Engine.Protocol;
using TurboMft.Host.Metrics;
using TurboMft.Host.Replication;

namespace TurboMft.Host.Tests.Replication;

/// <summary>Pull replication (the pulling node opens every connection) and the replication metrics.</summary>
public sealed class ReplicationPullTests() : ReplicationTestBase("site-b", "site-c")
{
    private ReplicationNode B => Node("site-b");

    private ReplicationNode C => Node("site-c");

    [Fact]
    public async Task C_pulls_what_it_lacks_from_B_without_B_ever_connecting_to_C_and_the_metrics_count_it()
    {
        var ct = TestContext.Current.CancellationToken;

        // B only lets C read; B knows nothing of how to reach C.
        await B.AcceptAsync(C, "/export", "downloader");
        await C.AddOutboundAsync(B);
        var items = new List<TransferItem>();
        foreach (var (name, size) in new[] { ("a.csv", 1_000L), ("b.csv", 6L * 1024 * 1024 + 5), ("sub/c.csv", 0L), ("skip.tmp", 10L) })
        {
            var local = Path.Combine(Work, name.Replace('/', '_'));
            await DatasetGenerator.WriteFileAsync(local, DatasetKind.HistorianCsv, size, seed: size + 1);
            items.Add(new TransferItem(local, "/export/" + name));
        }

        using (var client = B.AdminClient())
        {
            await client.PushAsync(items, cancellationToken: ct);
        }

        await C.AddRuleAsync(new AddReplicationRuleRequest("from-b", "/export", B.Site, Mode: "pull", Target: "/import/b", Exclude: ["*.tmp"]));
        await ReplicationNode.WaitUntilAsync(async () => (await C.ListAsync("/import")).Count(f => f.Value.State == "released") == 3, TimeSpan.FromSeconds(60), "three files pulled and released at C");
        var source = await B.ListAsync("/export");
        var pulled = await C.ListAsync("/import");
        foreach (var name in new[] { "a.csv", "b.csv", "sub/c.csv" })
        {
            Assert.Equal(source["/export/" + name].Digest, pulled["/import/b/" + name].Digest);
        }

        Assert.DoesNotContain("/import/b/skip.tmp", pulled.Keys);
        using (var atC = C.AdminClient())
        {
            var head = await atC.HeadAsync("/import/b/b.csv", ct);
            Assert.Equal("site-b", head!.Provenance!.Site);
            Assert.Equal("/export/b.csv", head.Provenance.Path);
        }

        // A poll now (the worker's own polls go on beside it) finds nothing new: no job is added.
        var rule = Assert.Single(await C.Outbox.ListRulesAsync(ct), r => r.Name == "from-b");
        Assert.Equal(0, await C.Running.Services.GetRequiredService<PullReplicator>().PollAsync(rule, ct));
        Assert.Equal(3, (await C.Outbox.ListJobsAsync(B.Site, 100, ct)).Count);

        await ReplicationNode.WaitUntilAsync(
            async () => (await C.AuditAsync()).Count(r => r.Action == "replication.received") >= 3 && (await B.AuditAsync()).Any(r => r.Action == "file.download" && r.Actor.Peer == "site-c"),
            TimeSpan.FromSeconds(30),
            "3 receipts audited at C and C's downloads at B");
        Assert.DoesNotContain(C.Audit(), r => r.Actor.Peer is not null);
        Assert.Contains(B.Audit(), r => r.Action == "file.download" && r.Actor.Peer == "site-c");
        var received = C.Audit().Where(r => r.Action == "replication.received").ToList();
        Assert.Equal(3, received.Count);

        // Metrics: bytes pulled and jobs done per peer, backlog back at zero.
        var registry = C.Running.Services.GetRequiredService<ServerMetrics>().Registry;
        await ReplicationNode.WaitUntilAsync(async () => (await ExportAsync(registry)).Contains("turbomft_replication_backlog{peer=\"site-b\"} 0", StringComparison.Ordinal), TimeSpan.FromSeconds(10), "backlog metric at zero");
        var text = await ExportAsync(registry);
        Assert.Contains("turbomft_replication_jobs_total{peer=\"site-b\",outcome=\"done\"} 3", text, StringComparison.Ordinal);
        Assert.Contains($"turbomft_replication_bytes_total{{peer=\"site-b\",direction=\"pull\"}} {1_000 + (6L * 1024 * 1024) + 5}", text, StringComparison.Ordinal);
        Assert.Contains("turbomft_replication_oldest_pending_seconds{peer=\"site-b\"} 0", text, StringComparison.Ordinal);
    }

    private static async Task<string> ExportAsync(Prometheus.CollectorRegistry registry)
    {
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
