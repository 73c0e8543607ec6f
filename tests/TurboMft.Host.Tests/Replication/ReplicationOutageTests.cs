using Microsoft.Extensions.DependencyInjection;
using TurboMft.Engine.Client;
using TurboMft.Engine.Datasets;
using TurboMft.Engine.Protocol;
using TurboMft.Host.Replication;

namespace TurboMft.Host.Tests.Replication;

/// <summary>Runs alone: the outage test measures the process's managed heap, which tests running beside it would grow.</summary>
[CollectionDefinition(nameof(ReplicationOutageCollection), DisableParallelization = true)]
public sealed class ReplicationOutageCollection;

/// <summary>
/// The outbox across outages: a peer stopped in the middle of a 512 MiB file and started again 30 s later, and the
/// sending node restarted with jobs pending. Nothing is lost, nothing is sent twice, a large file resumes by chunk.
/// </summary>
[Collection(nameof(ReplicationOutageCollection))]
public sealed class ReplicationOutageTests() : ReplicationTestBase("site-a", "site-b", "site-c")
{
    private const long Large = 512L * 1024 * 1024;

    private ReplicationNode A => Node("site-a");

    private ReplicationNode B => Node("site-b");

    private ReplicationNode C => Node("site-c");

    private protected override void Configure(string site, TurboMft.Host.Server.ServerSettings settings)
    {
        if (site == "site-a")
        {
            settings.Replication.MaxConcurrentJobs = 4;
        }
    }

    [Fact]
    public async Task Fifty_files_with_one_of_512_MiB_reach_two_peers_and_a_peer_stopped_mid_file_for_30_s_resumes_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await B.AcceptAsync(A, "/hist", "uploader", "downloader");
        await C.AcceptAsync(A, "/hist", "uploader", "downloader");
        await A.AddOutboundAsync(B);
        await A.AddOutboundAsync(C);

        // Mixed sizes: empty, small, around one chunk, several chunks, and the large one.
        var items = new List<TransferItem>();
        for (var i = 0; i < 49; i++)
        {
            var size = (i % 7) switch { 0 => 0L, 1 => 1_000L, 2 => 65_536L, 3 => 4L * 1024 * 1024 - 1, 4 => 4L * 1024 * 1024 + 1, 5 => 9_000_000L, _ => 300_000L };
            items.Add(await WriteAsync($"f{i:D2}.csv", size, DatasetKind.HistorianCsv));
        }

        items.Add(await WriteAsync("large.bin", Large, DatasetKind.ImagingFrames));
        using (var client = A.AdminClient())
        {
            await client.PushAsync(items, cancellationToken: ct);
        }

        var source = await A.ListAsync("/hist");
        Assert.Equal(50, source.Count);

        // The rule to B is slowed down so that the large file is still travelling when B stops.
        await A.AddRuleAsync(new AddReplicationRuleRequest("to-c", "/hist", C.Site));
        await A.AddRuleAsync(new AddReplicationRuleRequest("to-b", "/hist", B.Site, BandwidthBytesPerSecond: 48L * 1024 * 1024));
        var large = "/hist/large.bin";
        await ReplicationNode.WaitUntilAsync(
            async () => (await A.Outbox.ListJobsAsync(B.Site, 100, ct)).SingleOrDefault(j => j.SourcePath == large) is { RemoteUploadId: not null } job
                && await ChunksAtAsync(B, job.RemoteUploadId!) >= 8,
            TimeSpan.FromSeconds(120),
            "the large file part-way to B");
        var session = (await A.Outbox.ListJobsAsync(B.Site, 100, ct)).Single(j => j.SourcePath == large).RemoteUploadId!;
        var before = await ChunksAtAsync(B, session);
        await B.StopAsync();

        // While B is down: jobs wait on disk; A holds at most its concurrency limit in memory and its heap does not grow.
        var worker = A.Running.Services.GetRequiredService<ReplicationWorker>();
        var heapAtStop = Heap();
        var maxInMemory = 0;
        var outage = System.Diagnostics.Stopwatch.StartNew();
        while (outage.Elapsed < TimeSpan.FromSeconds(30))
        {
            maxInMemory = Math.Max(maxInMemory, worker.InMemoryJobs);
            await Task.Delay(250, ct);
        }

        var heapGrowth = Heap() - heapAtStop;
        Assert.True(maxInMemory <= 4, $"{maxInMemory} jobs in memory");
        Assert.True(heapGrowth < 64L * 1024 * 1024, $"A's managed heap grew by {heapGrowth / (1024 * 1024)} MiB while B was down");
        var waiting = (await A.StatusAsync()).Peers.Single(p => p.Peer == B.Site);
        Assert.True(waiting.Backlog > 0 && waiting.LastError is not null && waiting.OldestPendingSeconds > 0, $"{waiting}");

        await B.StartAgainAsync();
        foreach (var peer in new[] { B, C })
        {
            await ReplicationNode.WaitUntilAsync(async () => (await peer.ListAsync("/hist")).Count == 50 && (await A.StatusAsync()).Peers.Single(p => p.Peer == peer.Site).Backlog == 0, TimeSpan.FromSeconds(240), $"50 files at {peer.Site}");
            var replica = await peer.ListAsync("/hist");
            Assert.All(source, f => Assert.Equal(f.Value.Digest, replica[f.Key].Digest));
        }

        await ReplicationNode.WaitUntilAsync(
            async () => (await A.AuditAsync()).Any(r => r.Action == "replication.sent" && r.Path == large) && (await B.AuditAsync()).Concat(await C.AuditAsync()).Count(r => r.Action == "file.upload" && r.Outcome == "success" && r.Actor.Peer == "site-a") >= 100,
            TimeSpan.FromSeconds(60),
            "the sends and 50 committed uploads at each peer audited");

        // Resumed, not restarted: one session for the large file at B, continued after the restart with the chunks it held.
        var opened = B.Audit().Where(r => r.Action == "upload.open" && r.Path == large).ToList();
        Assert.Single(opened);
        Assert.Contains(session, opened[0].Detail, StringComparison.Ordinal);
        Assert.True(before >= 8);
        Assert.Contains(A.Audit(), r => r.Action == "replication.sent" && r.Path == large && r.Detail!.Contains("resumed session " + session, StringComparison.Ordinal));

        // Nothing twice, nothing lost: one committed upload per file at each peer.
        foreach (var peer in new[] { B, C })
        {
            var uploads = peer.Audit().Where(r => r.Action == "file.upload" && r.Outcome == "success" && r.Actor.Peer == "site-a").GroupBy(r => r.Path).ToList();
            Assert.Equal(50, uploads.Count);
            Assert.All(uploads, g => Assert.Single(g));
        }
    }

    [Fact]
    public async Task Jobs_pending_when_the_sender_restarts_complete_after_the_restart()
    {
        var ct = TestContext.Current.CancellationToken;
        await B.AcceptAsync(A, "/hist", "uploader", "downloader");
        await A.AddOutboundAsync(B);
        await A.AddRuleAsync(new AddReplicationRuleRequest("to-b", "/hist", B.Site));
        await B.StopAsync();
        var items = new List<TransferItem>
        {
            await WriteAsync("one.csv", 5_000, DatasetKind.HistorianCsv),
            await WriteAsync("two.bin", 10L * 1024 * 1024, DatasetKind.ImagingFrames),
            await WriteAsync("three.csv", 0, DatasetKind.HistorianCsv),
        };
        using (var client = A.AdminClient())
        {
            await client.PushAsync(items, cancellationToken: ct);
        }

        await ReplicationNode.WaitUntilAsync(async () => (await A.Outbox.ListJobsAsync(B.Site, 10, ct)) is { Count: 3 } jobs && jobs.All(j => j.Attempts > 0), TimeSpan.FromSeconds(30), "three failed attempts");
        await A.StopAsync();
        await A.StartAgainAsync();
        Assert.Equal(3, (await A.StatusAsync()).Peers.Single().Backlog);
        await B.StartAgainAsync();
        await ReplicationNode.WaitUntilAsync(async () => (await A.StatusAsync()).Peers.Single().Done == 3, TimeSpan.FromSeconds(60), "three jobs done after the restart");
        var source = await A.ListAsync("/hist");
        var replica = await B.ListAsync("/hist");
        Assert.Equal(source.Keys.Order(), replica.Keys.Order());
        Assert.All(source, f => Assert.Equal(f.Value.Digest, replica[f.Key].Digest));
    }

    private static long Heap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static async Task<int> ChunksAtAsync(ReplicationNode node, string uploadId) =>
        node.Server is null ? 0 : (await node.Running.Services.GetRequiredService<Host.Metadata.IMetadataStore>().ListChunksAsync(Guid.Parse(uploadId))).Count;

    private async Task<TransferItem> WriteAsync(string name, long size, DatasetKind kind)
    {
        var local = Path.Combine(Work, name);
        await DatasetGenerator.WriteFileAsync(local, kind, size, seed: name.Length + size);
        return new TransferItem(local, "/hist/" + name);
    }
}
