using TurboMft.Engine.Client;
using TurboMft.Engine.Datasets;

namespace TurboMft.Host.Tests.Replication;

/// <summary>Push replication between real nodes on loopback: fan-out, dedup, provenance through a relay, delete propagation.</summary>
public sealed class ReplicationPushTests : IAsyncLifetime
{
    private ReplicationNode _a = null!;
    private ReplicationNode _b = null!;
    private ReplicationNode _c = null!;
    private string _work = null!;

    public async ValueTask InitializeAsync()
    {
        _a = await ReplicationNode.StartAsync("site-a");
        _b = await ReplicationNode.StartAsync("site-b");
        _c = await ReplicationNode.StartAsync("site-c");
        _work = Directory.CreateTempSubdirectory("tmf-repl-files-").FullName;
    }

    public async ValueTask DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        await _c.DisposeAsync();
        Directory.Delete(_work, recursive: true);
    }

    [Fact]
    public async Task A_push_rule_sends_each_released_file_to_two_peers_with_equal_digests_and_one_correlation_id_per_version_on_all_ends()
    {
        foreach (var peer in new[] { _b, _c })
        {
            await peer.AcceptAsync(_a, "/plant", "uploader", "downloader");
            await _a.AddOutboundAsync(peer);
            await _a.AddRuleAsync(new AddReplicationRuleRequest("to-" + peer.Site, "/plant", peer.Site));
        }

        var files = await WriteFilesAsync(("a.csv", 10_000), ("b.bin", 9 * 1024 * 1024 + 17), ("empty.txt", 0), ("deep/c.csv", 300_000));
        using (var client = _a.AdminClient())
        {
            await client.PushAsync([.. files.Select(f => new TransferItem(f.Local, "/plant/" + f.Name))], cancellationToken: TestContext.Current.CancellationToken);
        }

        var source = await _a.ListAsync("/plant");
        Assert.Equal(4, source.Count);
        foreach (var peer in new[] { _b, _c })
        {
            await ReplicationNode.WaitUntilAsync(async () => (await peer.ListAsync("/plant")).Count == 4, TimeSpan.FromSeconds(60), $"4 files on {peer.Site}");
            var replica = await peer.ListAsync("/plant");
            Assert.All(source, f => Assert.Equal(f.Value.Digest, replica[f.Key].Digest));
        }

        await ReplicationNode.WaitUntilAsync(async () => (await _a.StatusAsync()).Peers.All(p => p.Backlog == 0 && p.Done == 4), TimeSpan.FromSeconds(30), "jobs done");
        await Task.Delay(1500);
        var sent = _a.Audit().Where(r => r.Action == "replication.verified").ToList();
        Assert.Equal(8, sent.Count);
        foreach (var peer in new[] { _b, _c })
        {
            var received = peer.Audit().Where(r => r.Action == "replication.received").ToList();
            Assert.Equal(4, received.Count);
            Assert.All(received, r => Assert.Contains(sent, s => s.CorrelationId == r.CorrelationId && s.Digest == r.Digest));
            Assert.All(received, r => Assert.Equal("site-a", r.Actor.Peer));
        }

        // One id per version: both peers' records of a file carry the same one.
        Assert.Equal(4, sent.Select(s => s.CorrelationId).Distinct().Count());
    }

    private async Task<List<(string Name, string Local)>> WriteFilesAsync(params (string Name, long Size)[] files)
    {
        var written = new List<(string, string)>();
        foreach (var (name, size) in files)
        {
            var local = Path.Combine(_work, name);
            Directory.CreateDirectory(Path.GetDirectoryName(local)!);
            await DatasetGenerator.WriteFileAsync(local, DatasetKind.HistorianCsv, size, seed: name.Length + size);
            written.Add((name, local));
        }

        return written;
    }
}
