using System.Text;
using Microsoft.Extensions.DependencyInjection;
using TurboMft.Engine.Client;
using TurboMft.Engine.Datasets;
using TurboMft.Host.Metrics;

namespace TurboMft.Host.Tests.Replication;

/// <summary>Pull replication (the pulling node opens every connection) and the replication metrics.</summary>
public sealed class ReplicationPullTests : IAsyncLifetime
{
    private ReplicationNode _b = null!;
    private ReplicationNode _c = null!;
    private string _work = null!;

    public async ValueTask InitializeAsync()
    {
        _b = await ReplicationNode.StartAsync("site-b");
        _c = await ReplicationNode.StartAsync("site-c");
        _work = Directory.CreateTempSubdirectory("tmf-repl-pull-").FullName;
    }

    public async ValueTask DisposeAsync()
    {
        await _b.DisposeAsync();
        await _c.DisposeAsync();
        Directory.Delete(_work, recursive: true);
    }

    [Fact]
    public async Task C_pulls_what_it_lacks_from_B_without_B_ever_connecting_to_C_and_the_metrics_count_it()
    {
        var ct = TestContext.Current.CancellationToken;

        // B only lets C read; B knows nothing of how to reach C.
        await _b.AcceptAsync(_c, "/export", "downloader");
        await _c.AddOutboundAsync(_b);
        var items = new List<TransferItem>();
        foreach (var (name, size) in new[] { ("a.csv", 1_000L), ("b.csv", 6L * 1024 * 1024 + 5), ("sub/c.csv", 0L), ("skip.tmp", 10L) })
        {
            var local = Path.Combine(_work, name.Replace('/', '_'));
            await DatasetGenerator.WriteFileAsync(local, DatasetKind.HistorianCsv, size, seed: size + 1);
            items.Add(new TransferItem(local, "/export/" + name));
        }

        using (var client = _b.AdminClient())
        {
            await client.PushAsync(items, cancellationToken: ct);
        }

        await _c.AddRuleAsync(new AddReplicationRuleRequest("from-b", "/export", _b.Site, Mode: "pull", Target: "/import/b", Exclude: ["*.tmp"]));
        await ReplicationNode.WaitUntilAsync(async () => (await _c.ListAsync("/import")).Count(f => f.Value.State == "released") == 3, TimeSpan.FromSeconds(60), "three files pulled and released at C");
        var source = await _b.ListAsync("/export");
        var pulled = await _c.ListAsync("/import");
        foreach (var name in new[] { "a.csv", "b.csv", "sub/c.csv" })
        {
            Assert.Equal(source["/export/" + name].Digest, pulled["/import/b/" + name].Digest);
        }

        Assert.DoesNotContain("/import/b/skip.tmp", pulled.Keys);
        using (var atC = _c.AdminClient())
        {
            var head = await atC.HeadAsync("/import/b/b.csv", ct);
            Assert.Equal("site-b", head!.Provenance!.Site);
            Assert.Equal("/export/b.csv", head.Provenance.Path);
        }

        // A second poll finds nothing new.
        await Task.Delay(2500, ct);
        Assert.Equal(3, (await _c.Outbox.ListJobsAsync(_b.Site, 100, ct)).Count);

        await Task.Delay(1500, ct);
        Assert.DoesNotContain(_c.Audit(), r => r.Actor.Peer is not null);
        Assert.Contains(_b.Audit(), r => r.Action == "file.download" && r.Actor.Peer == "site-c");
        var received = _c.Audit().Where(r => r.Action == "replication.received").ToList();
        Assert.Equal(3, received.Count);

        // Metrics: bytes pulled and jobs done per peer, backlog back at zero.
        var registry = _c.Running.Services.GetRequiredService<ServerMetrics>().Registry;
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
