using TurboMft.Engine.Client;
using TurboMft.Engine.Datasets;
using TurboMft.Engine.Protocol;

namespace TurboMft.Host.Tests.Replication;

/// <summary>Push replication between real nodes on loopback: fan-out, dedup, provenance through a relay, delete propagation.</summary>
public sealed class ReplicationPushTests() : ReplicationTestBase("site-a", "site-b", "site-c")
{
    private ReplicationNode A => Node("site-a");

    private ReplicationNode B => Node("site-b");

    private ReplicationNode C => Node("site-c");

    [Fact]
    public async Task A_push_rule_sends_each_released_file_to_two_peers_with_equal_digests_and_one_correlation_id_per_version_on_all_ends()
    {
        foreach (var peer in new[] { B, C })
        {
            await peer.AcceptAsync(A, "/plant", "uploader", "downloader");
            await A.AddOutboundAsync(peer);
            await A.AddRuleAsync(new AddReplicationRuleRequest("to-" + peer.Site, "/plant", peer.Site));
        }

        var files = await WriteFilesAsync(("a.csv", 10_000), ("b.bin", 9 * 1024 * 1024 + 17), ("empty.txt", 0), ("deep/c.csv", 300_000));
        using (var client = A.AdminClient())
        {
            await client.PushAsync([.. files.Select(f => new TransferItem(f.Local, "/plant/" + f.Name))], cancellationToken: TestContext.Current.CancellationToken);
        }

        var source = await A.ListAsync("/plant");
        Assert.Equal(4, source.Count);
        foreach (var peer in new[] { B, C })
        {
            await ReplicationNode.WaitUntilAsync(async () => (await peer.ListAsync("/plant")).Count == 4, TimeSpan.FromSeconds(60), $"4 files on {peer.Site}");
            var replica = await peer.ListAsync("/plant");
            Assert.All(source, f => Assert.Equal(f.Value.Digest, replica[f.Key].Digest));
        }

        await ReplicationNode.WaitUntilAsync(async () => (await A.StatusAsync()).Peers.All(p => p.Backlog == 0 && p.Done == 4), TimeSpan.FromSeconds(30), "jobs done");
        await ReplicationNode.WaitUntilAsync(
            async () => (await A.AuditAsync()).Count(r => r.Action == "replication.verified") >= 8 && (await B.AuditAsync()).Count(r => r.Action == "replication.received") >= 4 && (await C.AuditAsync()).Count(r => r.Action == "replication.received") >= 4,
            TimeSpan.FromSeconds(30),
            "the audit records of 8 verified sends and 4 receipts at each peer");
        var sent = A.Audit().Where(r => r.Action == "replication.verified").ToList();
        Assert.Equal(8, sent.Count);
        foreach (var peer in new[] { B, C })
        {
            var received = peer.Audit().Where(r => r.Action == "replication.received").ToList();
            Assert.Equal(4, received.Count);
            Assert.All(received, r => Assert.Contains(sent, s => s.CorrelationId == r.CorrelationId && s.Digest == r.Digest));
            Assert.All(received, r => Assert.Equal("site-a", r.Actor.Peer));
        }

        // One id per version: both peers' records of a file carry the same one.
        Assert.Equal(4, sent.Select(s => s.CorrelationId).Distinct().Count());
    }

    [Fact]
    public async Task Files_the_peer_already_holds_are_skipped_without_sending_a_chunk()
    {
        var ct = TestContext.Current.CancellationToken;
        await B.AcceptAsync(A, "/plant", "uploader", "downloader");
        await A.AddOutboundAsync(B);
        var files = await WriteFilesAsync(("same.bin", 6 * 1024 * 1024), ("small.csv", 70_000));
        var items = files.Select(f => new TransferItem(f.Local, "/plant/" + f.Name)).ToList();
        foreach (var node in new[] { B, A })
        {
            using var client = node.AdminClient();
            await client.PushAsync(items, cancellationToken: ct);
        }

        await A.AddRuleAsync(new AddReplicationRuleRequest("to-b", "/plant", B.Site));
        await ReplicationNode.WaitUntilAsync(async () => (await A.StatusAsync()).Peers.Single().Skipped == 2, TimeSpan.FromSeconds(30), "both jobs skipped");
        var jobs = await A.Outbox.ListJobsAsync(B.Site, 10, ct);
        Assert.Equal(2, jobs.Count);
        Assert.All(jobs, job => Assert.Equal(("skipped", 0L), (job.State, job.BytesSent)));
        // B answered before A marked the jobs skipped, so anything B audited for them is in its flushed trail.
        Assert.DoesNotContain(await B.AuditAsync(), r => r.Actor.Peer == "site-a" && r.Action is "upload.open" or "file.upload");
        await ReplicationNode.WaitUntilAsync(
            async () =>
            {
                var audit = await A.AuditAsync();
                return jobs.All(job => audit.Any(r => r.Action == "replication.skipped" && r.CorrelationId == job.CorrelationId));
            },
            TimeSpan.FromSeconds(30),
            "replication.skipped audited at A");
        Assert.All(jobs, job => Assert.Contains(A.Audit(), r => r.Action == "replication.skipped" && r.CorrelationId == job.CorrelationId));

        // The small file was offered with Expect: 100-continue and refused before its body: the peer says so under the same id.
        var small = jobs.Single(j => j.SourcePath == "/plant/small.csv");
        Assert.Contains(B.Audit(), r => r.Action == "replication.skipped" && r.CorrelationId == small.CorrelationId && r.Actor.Peer == "site-a");
    }

    [Fact]
    public async Task A_relay_keeps_the_origin_site_path_time_and_digest_and_its_correlation_id()
    {
        var ct = TestContext.Current.CancellationToken;
        await B.AcceptAsync(A, "/dmz", "uploader", "downloader");
        await A.AddOutboundAsync(B);
        await A.AddRuleAsync(new AddReplicationRuleRequest("to-dmz", "/ot", B.Site, Target: "/dmz/in"));
        await C.AcceptAsync(B, "/corp", "uploader", "downloader");
        await B.AddOutboundAsync(C);
        await B.AddRuleAsync(new AddReplicationRuleRequest("to-corp", "/dmz/in", C.Site, Target: "/corp/plant1"));
        var files = await WriteFilesAsync(("export.csv", 5 * 1024 * 1024 + 3));
        using (var client = A.AdminClient())
        {
            await client.PushAsync([new TransferItem(files[0].Local, "/ot/line1/export.csv")], cancellationToken: ct);
        }

        var origin = (await A.ListAsync("/ot"))["/ot/line1/export.csv"];
        // Listed is not yet released: a version being scanned is listed, but its HEAD (409, not released) has no provenance.
        using var atC = C.AdminClient();
        await ReplicationNode.WaitUntilAsync(async () => (await atC.HeadAsync("/corp/plant1/line1/export.csv", ct))?.State == ReleaseStates.Released, TimeSpan.FromSeconds(60), "the file released at C");
        var head = await atC.HeadAsync("/corp/plant1/line1/export.csv", ct);
        Assert.NotNull(head?.Provenance);
        Assert.Equal("site-a", head.Provenance.Site);
        Assert.Equal("/ot/line1/export.csv", head.Provenance.Path);
        Assert.Equal(origin.Digest, head.Provenance.Digest);
        Assert.Equal(origin.Digest, head.Digest?.ToString());
        Assert.Equal(origin.CommittedAt!.Value.ToUnixTimeMilliseconds(), head.Provenance.Time.ToUnixTimeMilliseconds());
        var listed = (await atC.ListAsync("/corp", ct)).Single();
        Assert.Equal(origin.Digest, listed.Digest);

        // The same correlation id at all three nodes.
        var id = head.Provenance.CorrelationId;
        Assert.NotNull(id);
        await ReplicationNode.WaitUntilAsync(
            async () => (await A.AuditAsync()).Any(r => r.Action == "replication.verified" && r.CorrelationId == id) && (await B.AuditAsync()).Count(r => r.CorrelationId == id && r.Action is "replication.received" or "replication.verified") >= 2 && (await C.AuditAsync()).Any(r => r.Action == "replication.received" && r.CorrelationId == id),
            TimeSpan.FromSeconds(30),
            "the relay's audit records at A, B and C");
        Assert.Contains(A.Audit(), r => r.Action == "replication.verified" && r.CorrelationId == id);
        Assert.Contains(B.Audit(), r => r.Action == "replication.received" && r.CorrelationId == id);
        Assert.Contains(B.Audit(), r => r.Action == "replication.verified" && r.CorrelationId == id);
        Assert.Contains(C.Audit(), r => r.Action == "replication.received" && r.CorrelationId == id && r.Actor.Peer == "site-b");
    }

    [Fact]
    public async Task A_delete_propagates_only_to_the_same_digest_and_provenance_headers_are_checked()
    {
        var ct = TestContext.Current.CancellationToken;
        await B.AcceptAsync(A, "/plant", "operator");
        await A.AddOutboundAsync(B);
        await A.AddRuleAsync(new AddReplicationRuleRequest("to-b", "/plant", B.Site, PropagateDeletes: true, Exclude: ["*.tmp"]));
        var files = await WriteFilesAsync(("keep.csv", 2000), ("gone.csv", 3000), ("scratch.tmp", 100));
        using (var client = A.AdminClient())
        {
            await client.PushAsync([.. files.Select(f => new TransferItem(f.Local, "/plant/" + f.Name))], cancellationToken: ct);
        }

        await ReplicationNode.WaitUntilAsync(async () => (await B.ListAsync("/plant")).Count == 2, TimeSpan.FromSeconds(30), "two files at B");
        Assert.DoesNotContain("/plant/scratch.tmp", (await B.ListAsync("/plant")).Keys);
        using (var client = A.AdminClient())
        {
            await client.DeleteAsync("/plant/gone.csv", ct);
        }

        await ReplicationNode.WaitUntilAsync(async () => !(await B.ListAsync("/plant")).ContainsKey("/plant/gone.csv"), TimeSpan.FromSeconds(30), "the delete at B");
        Assert.Contains("/plant/keep.csv", (await B.ListAsync("/plant")).Keys);

        // Provenance from a caller must be whole and well-formed, and its digest must be what is committed.
        using var raw = Server.ServerFixture.CreateClient(B.Fingerprint, B.Token, System.Net.HttpVersion.Version11);
        using var partial = new HttpRequestMessage(HttpMethod.Put, new Uri(B.Address, "/v1/files/plant/x.csv")) { Content = new ByteArrayContent([1, 2, 3]) };
        partial.Headers.Add("TMF-Origin-Site", "site-z");
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, (await raw.SendAsync(partial, ct)).StatusCode);
        using var lying = new HttpRequestMessage(HttpMethod.Put, new Uri(B.Address, "/v1/files/plant/x.csv")) { Content = new ByteArrayContent([1, 2, 3]) };
        lying.Headers.Add("TMF-Origin-Site", "site-z");
        lying.Headers.Add("TMF-Origin-Path", "/x.csv");
        lying.Headers.Add("TMF-Origin-Time", "2026-01-01T00:00:00.000Z");
        lying.Headers.Add("TMF-Origin-Digest", "sha256-tree:" + new string('0', 64));
        Assert.Equal(System.Net.HttpStatusCode.UnprocessableEntity, (await raw.SendAsync(lying, ct)).StatusCode);
        Assert.DoesNotContain("/plant/x.csv", (await B.ListAsync("/plant")).Keys);
    }

    private async Task<List<(string Name, string Local)>> WriteFilesAsync(params (string Name, long Size)[] files)
    {
        var written = new List<(string, string)>();
        foreach (var (name, size) in files)
        {
            var local = Path.Combine(Work, name);
            Directory.CreateDirectory(Path.GetDirectoryName(local)!);
            await DatasetGenerator.WriteFileAsync(local, DatasetKind.HistorianCsv, size, seed: name.Length + size);
            written.Add((name, local));
        }

        return written;
    }
}
