using System.Security.Cryptography;
using Microsoft.Extensions.Time.Testing;
using TurboMft.Engine.Storage;
using TurboMft.Host.Metadata;
using TurboMft.Host.Replication;

namespace TurboMft.Host.Tests.Replication;

/// <summary>
/// What every <see cref="IReplicationStore"/> provider does (docs/replication.md, "Outbox semantics (push)"): rules,
/// enqueue without duplicates, claims of due jobs as leases that a second claimer cannot take until they expire,
/// finishing and failing, and the backlog and sweep queries. A provider's class derives and says how to open it.
/// </summary>
public abstract class ReplicationStoreContract : IAsyncLifetime
{
    protected static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_750_000_000_000);
    protected static readonly TimeSpan Lease = TimeSpan.FromSeconds(60);

    private const string A = "node-a@host1";
    private const string B = "node-b@host2";

    /// <summary>The clock of both stores.</summary>
    protected FakeTimeProvider Time { get; } = new(T0);

    /// <summary>The store under test, as node A would use it.</summary>
    protected IReplicationStore Store { get; private set; } = null!;

    /// <summary>A second store on the same outbox, as node B would open it.</summary>
    protected IReplicationStore Second { get; private set; } = null!;

    /// <summary>The metadata store whose released versions <see cref="IReplicationStore.UnqueuedReleasedAsync"/> reads.</summary>
    protected IMetadataStore Metadata { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Metadata = await OpenMetadataAsync();
        Store = await OpenAsync(Time);
        Second = await OpenAsync(Time);
    }

    public virtual async ValueTask DisposeAsync()
    {
        (Store as IDisposable)?.Dispose();
        (Second as IDisposable)?.Dispose();
        await Metadata.DisposeAsync();
    }

    /// <summary>Opens the metadata store the replication store shares its database with (called first).</summary>
    protected abstract Task<IMetadataStore> OpenMetadataAsync();

    /// <summary>Opens a replication store on the provider's one outbox (called twice: two nodes on one outbox).</summary>
    protected abstract Task<IReplicationStore> OpenAsync(TimeProvider time);

    [Fact]
    public async Task Rules_round_trip_by_name_and_a_name_is_taken_once()
    {
        var ct = TestContext.Current.CancellationToken;
        var pull = Rule("b-pull", "/from/b", "site-b") with
        {
            Mode = ReplicationMode.Pull,
            Target = RemotePath.Parse("/mirror/b"),
            Interval = TimeSpan.FromMinutes(15),
            BandwidthBytesPerSecond = 1_000_000,
            Include = ["*.csv", "daily/**"],
            Exclude = ["*.tmp"],
            Enabled = false,
        };
        var push = Rule("a-push", "/", "site-c") with { PropagateDeletes = true };

        Assert.True(await Store.AddRuleAsync(pull, ct));
        Assert.True(await Store.AddRuleAsync(push, ct));
        Assert.False(await Second.AddRuleAsync(push with { Peer = "site-d" }, ct));

        var rules = await Store.ListRulesAsync(ct);
        Assert.Equal(["a-push", "b-pull"], rules.Select(r => r.Name));
        AssertSameRule(push, rules[0]);
        AssertSameRule(pull, rules[1]);
        Assert.Equal("site-c", (await Second.ListRulesAsync(ct))[0].Peer);

        Assert.True(await Store.RemoveRuleAsync("a-push", ct));
        Assert.False(await Store.RemoveRuleAsync("a-push", ct));
        Assert.Equal(["b-pull"], (await Store.ListRulesAsync(ct)).Select(r => r.Name));
    }

    [Fact]
    public async Task Removing_a_rule_drops_its_open_and_permanently_failed_jobs_and_keeps_its_history()
    {
        var ct = TestContext.Current.CancellationToken;
        await Store.AddRuleAsync(Rule("r", "/a", "site-b"), ct);
        await Store.AddRuleAsync(Rule("other", "/o", "site-b"), ct);
        await Store.EnqueueAsync([Job("r", "site-b", "done"), Job("r", "site-b", "permanent"), Job("r", "site-b", "running"), Job("r", "site-b", "pending"), Job("other", "site-b", "kept")], ct);
        var claimed = await ClaimAsync(Store, "site-b", A, 3);
        await Store.FinishAsync(claimed.Single(j => j.Subject == "done").Id, A, ReplicationJobState.Done, 10, null, ct);
        await Store.FailAsync(claimed.Single(j => j.Subject == "permanent").Id, A, "403", 0, T0, permanent: true, ct);

        Assert.True(await Store.RemoveRuleAsync("r", ct));

        var left = await Store.ListJobsAsync(null, 100, ct);
        Assert.Equal(["kept", "done"], left.Select(j => j.Subject));
        Assert.False(await Store.FinishAsync(claimed.Single(j => j.Subject == "running").Id, A, ReplicationJobState.Done, 0, null, ct));
    }

    [Fact]
    public async Task A_job_is_enqueued_once_per_subject_peer_and_direction()
    {
        var ct = TestContext.Current.CancellationToken;
        var job = Job("r", "site-b", "v1");

        Assert.True(await Store.EnqueueAsync(job, ct));
        Assert.False(await Store.EnqueueAsync(job with { TargetPath = "/elsewhere", Rule = "r2" }, ct));
        Assert.False(await Second.EnqueueAsync(job, ct));
        Assert.True(await Store.EnqueueAsync(job with { Direction = ReplicationDirection.Delete }, ct));
        Assert.True(await Store.EnqueueAsync(job with { Peer = "site-c" }, ct));
        Assert.Equal(2, await Store.EnqueueAsync([job, Job("r", "site-b", "v2"), Job("r", "site-b", "v3"), Job("r", "site-b", "v2")], ct));
        Assert.Equal(0, await Store.EnqueueAsync([], ct));

        var jobs = await Store.ListJobsAsync("site-b", 100, ct);
        Assert.Equal(4, jobs.Count);
        Assert.All(jobs, j => Assert.Equal((ReplicationJobState.Pending, 0, T0, T0), (j.State, j.Attempts, j.NextAttemptAt, j.CreatedAt)));
        Assert.True(await Store.HasJobAsync("v1", "site-b", ReplicationDirection.Push, ct));
        Assert.True(await Store.HasJobAsync("v1", "site-b", ReplicationDirection.Delete, ct));
        Assert.False(await Store.HasJobAsync("v1", "site-b", ReplicationDirection.Pull, ct));
        Assert.False(await Store.HasJobAsync("v9", "site-b", ReplicationDirection.Push, ct));
    }

    [Fact]
    public async Task An_enqueued_job_reads_back_as_it_was_given()
    {
        var ct = TestContext.Current.CancellationToken;
        var version = Guid.NewGuid();
        var job = Job("r", "site-b", version.ToString("D")) with
        {
            VersionId = version,
            Digest = "sha256-tree:" + new string('d', 64),
            Size = 12345,
            OriginSite = "site-x",
            OriginPath = "/x/a.csv",
            OriginTime = T0.AddDays(-1),
        };

        await Store.EnqueueAsync(job, ct);

        var read = Assert.Single(await Store.ListJobsAsync("site-b", 10, ct));
        Assert.Equal(job with { Id = read.Id, State = ReplicationJobState.Pending, NextAttemptAt = T0, CreatedAt = T0 }, read);
        Assert.Null(read.LeaseOwner);
        Assert.Null(read.LeaseExpiresAt);
    }

    [Fact]
    public async Task A_claim_takes_the_due_jobs_of_one_peer_oldest_due_first_up_to_its_limit()
    {
        var ct = TestContext.Current.CancellationToken;
        await Store.AddRuleAsync(Rule("r", "/a", "site-b"), ct);
        await Store.AddRuleAsync(Rule("c", "/a", "site-c"), ct);
        await Store.EnqueueAsync([Job("r", "site-b", "j1"), Job("r", "site-b", "j2"), Job("r", "site-b", "j3"), Job("c", "site-c", "other")], ct);
        var first = Assert.Single(await ClaimAsync(Store, "site-b", A, 1));
        Assert.Equal("j1", first.Subject);
        await Store.FailAsync(first.Id, A, "peer down", 0, T0.AddMinutes(10), permanent: false, ct);

        var claimed = await ClaimAsync(Store, "site-b", A, 10);

        Assert.Equal(["j2", "j3"], claimed.Select(j => j.Subject));
        Assert.All(claimed, j => Assert.Equal((ReplicationJobState.Running, A, (DateTimeOffset?)(T0 + Lease)), (j.State, j.LeaseOwner, j.LeaseExpiresAt)));
        Assert.Empty(await ClaimAsync(Store, "site-b", A, 10));
        Assert.Equal(["site-c"], await Store.DuePeersAsync(ct));
        foreach (var job in claimed)
        {
            await Store.FinishAsync(job.Id, A, ReplicationJobState.Done, 0, null, ct);
        }

        Time.Advance(TimeSpan.FromMinutes(10));
        var retried = Assert.Single(await ClaimAsync(Store, "site-b", A, 10));
        Assert.Equal(("j1", 1, "peer down"), (retried.Subject, retried.Attempts, retried.LastError));
    }

    [Fact]
    public async Task Jobs_due_at_the_same_time_are_claimed_in_the_order_they_were_enqueued()
    {
        var ct = TestContext.Current.CancellationToken;
        await Store.EnqueueAsync([.. Enumerable.Range(0, 5).Select(i => Job("r", "site-b", $"s{i}"))], ct);

        var first = await ClaimAsync(Store, "site-b", A, 2);
        var rest = await ClaimAsync(Store, "site-b", A, 10);

        Assert.Equal(["s0", "s1"], first.Select(j => j.Subject));
        Assert.Equal(["s2", "s3", "s4"], rest.Select(j => j.Subject));
        Assert.True(first[0].Id < first[1].Id && first[1].Id < rest[0].Id);
    }

    [Fact]
    public async Task A_leased_job_is_not_claimed_by_a_second_claimer_until_its_lease_expires()
    {
        var ct = TestContext.Current.CancellationToken;
        await Store.AddRuleAsync(Rule("r", "/a", "site-b"), ct);
        await Store.EnqueueAsync(Job("r", "site-b", "v1"), ct);
        var held = Assert.Single(await ClaimAsync(Store, "site-b", A, 10));

        Assert.Empty(await ClaimAsync(Second, "site-b", B, 10));
        Assert.Empty(await Second.DuePeersAsync(ct));
        Assert.Equal(T0 + Lease, await Second.NextDueAsync(ct));
        Time.Advance(Lease - TimeSpan.FromMilliseconds(1));
        Assert.Empty(await ClaimAsync(Second, "site-b", B, 10));

        Time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(["site-b"], await Second.DuePeersAsync(ct));
        var taken = Assert.Single(await ClaimAsync(Second, "site-b", B, 10));

        Assert.Equal(held.Id, taken.Id);
        Assert.Equal((B, (DateTimeOffset?)(Time.GetUtcNow() + Lease)), (taken.LeaseOwner, taken.LeaseExpiresAt));
        Assert.False(await Store.FinishAsync(held.Id, A, ReplicationJobState.Done, 100, null, ct));
        Assert.False(await Store.FailAsync(held.Id, A, "late", 0, T0, permanent: false, ct));
        Assert.True(await Second.FinishAsync(taken.Id, B, ReplicationJobState.Done, 100, null, ct));
        var done = await SingleJobAsync();
        Assert.Equal((ReplicationJobState.Done, 1, 100L), (done.State, done.Attempts, done.BytesSent));
    }

    [Fact]
    public async Task Renewed_leases_hold_and_only_their_owners_are_renewed()
    {
        var ct = TestContext.Current.CancellationToken;
        await Store.EnqueueAsync([Job("r", "site-b", "mine"), Job("r", "site-b", "theirs")], ct);
        Assert.Single(await ClaimAsync(Store, "site-b", A, 1));
        Assert.Single(await ClaimAsync(Second, "site-b", B, 1));

        Time.Advance(TimeSpan.FromSeconds(40));
        Assert.Equal(1, await Store.RenewLeasesAsync(A, Lease, ct));
        Time.Advance(TimeSpan.FromSeconds(40));

        var takenOver = Assert.Single(await ClaimAsync(Store, "site-b", A, 10));
        Assert.Equal("theirs", takenOver.Subject);
        Assert.Empty(await ClaimAsync(Second, "site-b", B, 10));
        Assert.Equal(0, await Second.RenewLeasesAsync(B, Lease, ct));
        Time.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal("mine", Assert.Single(await ClaimAsync(Second, "site-b", B, 10)).Subject);
    }

    [Fact]
    public async Task Released_leases_are_due_at_once_and_keep_the_remote_session()
    {
        var ct = TestContext.Current.CancellationToken;
        await Store.EnqueueAsync([Job("r", "site-b", "v1"), Job("r", "site-b", "v2")], ct);
        var mine = Assert.Single(await ClaimAsync(Store, "site-b", A, 1));
        var theirs = Assert.Single(await ClaimAsync(Second, "site-b", B, 1));
        await Store.SetRemoteUploadAsync(mine.Id, "session-1", ct);

        Assert.Equal(1, await Store.ReleaseLeasesAsync(A, ct));
        Assert.Equal(0, await Store.ReleaseLeasesAsync(A, ct));

        var again = Assert.Single(await ClaimAsync(Second, "site-b", B, 10));
        Assert.Equal((mine.Id, "session-1", 0), (again.Id, again.RemoteUploadId, again.Attempts));
        Assert.NotEqual(theirs.Id, again.Id);
    }

    [Fact]
    public async Task Finishing_closes_a_job_and_failing_schedules_it_or_fails_it_for_good()
    {
        var ct = TestContext.Current.CancellationToken;
        await Store.EnqueueAsync([Job("r", "site-b", "done"), Job("r", "site-b", "skipped"), Job("r", "site-b", "retry"), Job("r", "site-b", "forbidden")], ct);
        var jobs = (await ClaimAsync(Store, "site-b", A, 10)).ToDictionary(j => j.Subject);
        await Store.SetRemoteUploadAsync(jobs["done"].Id, "session-1", ct);

        Assert.True(await Store.FinishAsync(jobs["done"].Id, A, ReplicationJobState.Done, 4096, null, ct));
        Assert.True(await Store.FinishAsync(jobs["skipped"].Id, A, ReplicationJobState.Skipped, 0, "the peer holds the digest", ct));
        Assert.True(await Store.FailAsync(jobs["retry"].Id, A, "cannot reach the peer", 512, T0.AddSeconds(30), permanent: false, ct));
        Assert.True(await Store.FailAsync(jobs["forbidden"].Id, A, "403 forbidden", 0, T0.AddSeconds(30), permanent: true, ct));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.FinishAsync(jobs["done"].Id, A, ReplicationJobState.Pending, 0, null, ct));

        var read = (await Store.ListJobsAsync("site-b", 10, ct)).ToDictionary(j => j.Subject);
        Assert.Equal((ReplicationJobState.Done, 1, 4096L, (string?)null, (string?)null), (read["done"].State, read["done"].Attempts, read["done"].BytesSent, read["done"].RemoteUploadId, read["done"].LeaseOwner));
        Assert.Equal((ReplicationJobState.Skipped, "the peer holds the digest"), (read["skipped"].State, read["skipped"].LastError));
        Assert.Equal((ReplicationJobState.Pending, 1, 512L, "cannot reach the peer", T0.AddSeconds(30), (string?)null), (read["retry"].State, read["retry"].Attempts, read["retry"].BytesSent, read["retry"].LastError, read["retry"].NextAttemptAt, read["retry"].LeaseOwner));
        Assert.Equal((ReplicationJobState.FailedPermanent, "403 forbidden"), (read["forbidden"].State, read["forbidden"].LastError));

        Assert.Equal(T0.AddSeconds(30), await Store.NextDueAsync(ct));
        Time.Advance(TimeSpan.FromDays(1));
        Assert.Equal("retry", Assert.Single(await ClaimAsync(Second, "site-b", B, 10)).Subject);
    }

    [Fact]
    public async Task The_next_due_time_is_the_earliest_next_attempt_or_lease_expiry()
    {
        var ct = TestContext.Current.CancellationToken;
        Assert.Null(await Store.NextDueAsync(ct));
        await Store.EnqueueAsync([Job("r", "site-b", "v1"), Job("r", "site-b", "v2")], ct);
        Assert.Equal(T0, await Store.NextDueAsync(ct));

        var claimed = await ClaimAsync(Store, "site-b", A, 10);
        Assert.Equal(T0 + Lease, await Store.NextDueAsync(ct));
        await Store.FailAsync(claimed[0].Id, A, "x", 0, T0.AddSeconds(5), permanent: false, ct);
        Assert.Equal(T0.AddSeconds(5), await Store.NextDueAsync(ct));
        await Store.FinishAsync(claimed[1].Id, A, ReplicationJobState.Done, 0, null, ct);
        await Store.FailAsync((await ClaimAsync(Store, "site-b", A, 10, advance: TimeSpan.FromSeconds(5)))[0].Id, A, "x", 0, T0, permanent: true, ct);
        Assert.Null(await Store.NextDueAsync(ct));
    }

    [Fact]
    public async Task The_backlog_counts_each_peers_jobs_by_state_with_the_oldest_open_job_and_the_last_error()
    {
        var ct = TestContext.Current.CancellationToken;
        Assert.Empty(await Store.BacklogAsync(ct));
        await Store.EnqueueAsync([Job("r", "site-b", "old"), Job("r", "site-c", "c1")], ct);
        Time.Advance(TimeSpan.FromMinutes(1));
        await Store.EnqueueAsync([Job("r", "site-b", "done"), Job("r", "site-b", "skipped"), Job("r", "site-b", "permanent"), Job("r", "site-b", "retry")], ct);
        var jobs = (await ClaimAsync(Store, "site-b", A, 10)).ToDictionary(j => j.Subject);
        await Store.FinishAsync(jobs["done"].Id, A, ReplicationJobState.Done, 1, null, ct);
        await Store.FinishAsync(jobs["skipped"].Id, A, ReplicationJobState.Skipped, 0, "held", ct);
        await Store.FailAsync(jobs["permanent"].Id, A, "403 forbidden", 0, T0, permanent: true, ct);
        Time.Advance(TimeSpan.FromSeconds(1));
        await Store.FailAsync(jobs["retry"].Id, A, "cannot reach the peer", 0, T0.AddHours(1), permanent: false, ct);

        var backlog = await Store.BacklogAsync(ct);

        Assert.Equal(
            [new PeerBacklog("site-b", 2, T0, 1, 1, 1, "cannot reach the peer"), new PeerBacklog("site-c", 1, T0, 0, 0, 0, null)],
            backlog);
    }

    [Fact]
    public async Task Jobs_are_listed_newest_first_per_peer_or_for_all()
    {
        var ct = TestContext.Current.CancellationToken;
        await Store.EnqueueAsync([Job("r", "site-b", "1"), Job("r", "site-c", "2"), Job("r", "site-b", "3")], ct);

        Assert.Equal(["3", "1"], (await Store.ListJobsAsync("site-b", 10, ct)).Select(j => j.Subject));
        Assert.Equal(["3", "2"], (await Store.ListJobsAsync(null, 2, ct)).Select(j => j.Subject));
        Assert.Empty(await Store.ListJobsAsync("site-z", 10, ct));
    }

    [Fact]
    public async Task The_sweep_finds_released_current_versions_under_the_area_without_a_push_job_for_the_peer()
    {
        var ct = TestContext.Current.CancellationToken;
        var rule = Rule("r", "/plant", "site-b");
        var queued = await CommitAsync("/plant/queued.csv", ReleaseState.Released);
        var first = await CommitAsync("/plant/a.csv", ReleaseState.Released);
        await CommitAsync("/plant/held.csv", ReleaseState.PendingScan);
        await CommitAsync("/plantation/b.csv", ReleaseState.Released);
        var superseded = await CommitAsync("/plant/c.csv", ReleaseState.Released);
        var current = await CommitAsync("/plant/c.csv", ReleaseState.Released);
        var deleted = await CommitAsync("/plant/gone.csv", ReleaseState.Released);
        await Metadata.DeleteCurrentVersionAsync(deleted.Path, ct);
        var pushedElsewhere = await CommitAsync("/plant/deep/d.csv", ReleaseState.Released);
        await Store.EnqueueAsync(Job("r", "site-b", queued.VersionId.ToString("D")), ct);
        await Store.EnqueueAsync(Job("r", "site-c", pushedElsewhere.VersionId.ToString("D")), ct);
        await Store.EnqueueAsync(Job("r", "site-b", pushedElsewhere.VersionId.ToString("D")) with { Direction = ReplicationDirection.Delete }, ct);

        var found = await Store.UnqueuedReleasedAsync(rule, 0, 100, ct);

        Assert.Equal([first.VersionId, current.VersionId, pushedElsewhere.VersionId], found.Select(f => f.Version.VersionId));
        Assert.True(found[0].Seq < found[1].Seq && found[1].Seq < found[2].Seq);
        Assert.DoesNotContain(found, f => f.Version.VersionId == superseded.VersionId);
        var read = found[0].Version;
        Assert.Equal((first.Path, first.Digest, first.Size, first.ObjectKey, ReleaseState.Released, true), (read.Path, read.Digest, read.Size, read.ObjectKey, read.State, read.IsCurrent));

        var page = await Store.UnqueuedReleasedAsync(rule, found[0].Seq, 1, ct);
        Assert.Equal([current.VersionId], page.Select(f => f.Version.VersionId));
        Assert.Equal(4, (await Store.UnqueuedReleasedAsync(Rule("all", "/", "site-b"), 0, 100, ct)).Count);
    }

    private async Task<FileVersion> CommitAsync(string path, ReleaseState state)
    {
        var version = new FileVersion(
            Guid.NewGuid(),
            path,
            Size: 1234,
            ChunkSize: 4 << 20,
            Digest: "sha256-tree:" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)),
            Sha256: null,
            ObjectKey: Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
            CommittedAt: T0)
        {
            State = state,
        };
        await Metadata.CommitVersionAsync(version, null, TestContext.Current.CancellationToken);
        return version;
    }

    private async Task<IReadOnlyList<ReplicationJob>> ClaimAsync(IReplicationStore store, string peer, string owner, int limit, TimeSpan? advance = null)
    {
        if (advance is { } by)
        {
            Time.Advance(by);
        }

        return await store.ClaimDueAsync(peer, owner, limit, Lease, TestContext.Current.CancellationToken);
    }

    private async Task<ReplicationJob> SingleJobAsync() => Assert.Single(await Store.ListJobsAsync(null, 10, TestContext.Current.CancellationToken));

    private static ReplicationRule Rule(string name, string area, string peer) =>
        new(name, RemotePath.Parse(area, allowRoot: true), peer, ReplicationMode.Push, RemotePath.Parse(area, allowRoot: true), false, null, 0, [], [], true, T0);

    private static ReplicationJob Job(string rule, string peer, string subject) => new(
        0, rule, peer, ReplicationDirection.Push, subject, null, "/a/" + subject, "/a/" + subject, null, 0, ReplicationJobState.Pending, 0,
        DateTimeOffset.MinValue, null, null, 0, "corr-" + subject, null, null, null, DateTimeOffset.MinValue);

    // Records compare lists by reference, so the patterns are compared by content.
    private static void AssertSameRule(ReplicationRule expected, ReplicationRule actual)
    {
        Assert.Equal(expected.Include, actual.Include);
        Assert.Equal(expected.Exclude, actual.Exclude);
        Assert.Equal(expected with { Include = [], Exclude = [] }, actual with { Include = [], Exclude = [] });
    }
}
