using System.Security.Cryptography;
using TurboMft.Host.Metadata;

namespace TurboMft.Host.Tests.Metadata;

/// <summary>
/// What every <see cref="IMetadataStore"/> provider does: upload sessions and chunk receipts, versions and their
/// replacement, prefix listing, deletes, release states as compare-and-set, and scan verdicts. A provider's class derives
/// and says how to open it; what is the provider's own (files, migrations) is tested beside it.
/// </summary>
public abstract class MetadataStoreContract : IAsyncLifetime
{
    internal static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_750_000_000_123);

    /// <summary>The store under test, empty at the start of each test.</summary>
    protected IMetadataStore Store { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Store = await OpenAsync();

    public virtual async ValueTask DisposeAsync() => await Store.DisposeAsync();

    /// <summary>Opens an empty store of the provider.</summary>
    protected abstract Task<IMetadataStore> OpenAsync();

    [Fact]
    public async Task Upload_round_trips()
    {
        var upload = Upload("/inbox/report.pdf") with { ExpectedDigest = "sha256-tree:" + new string('a', 64), VerifyMode = "sha256" };
        var bare = Upload("/inbox/other.bin");

        await Store.CreateUploadAsync(upload);
        await Store.CreateUploadAsync(bare);

        Assert.Equal(upload, await Store.GetUploadAsync(upload.Id));
        Assert.Equal(bare, await Store.GetUploadAsync(bare.Id));
        Assert.Null((await Store.GetUploadAsync(bare.Id))!.ExpectedDigest);
        Assert.Null(await Store.GetUploadAsync(Guid.NewGuid()));
    }

    [Fact]
    public async Task Times_are_kept_to_the_millisecond_in_utc()
    {
        var local = new DateTimeOffset(2025, 6, 1, 12, 0, 0, 456, TimeSpan.FromHours(2)).AddTicks(7);
        var upload = Upload("/a") with { CreatedAt = local, ExpiresAt = local.AddDays(1) };

        await Store.CreateUploadAsync(upload);
        var read = (await Store.GetUploadAsync(upload.Id))!;

        Assert.Equal(TimeSpan.Zero, read.CreatedAt.Offset);
        Assert.Equal(local.ToUnixTimeMilliseconds(), read.CreatedAt.ToUnixTimeMilliseconds());
        Assert.Equal(local.UtcDateTime.AddTicks(-7), read.CreatedAt.UtcDateTime);
    }

    [Fact]
    public async Task Creating_an_upload_twice_is_a_typed_error()
    {
        var upload = Upload("/a");
        await Store.CreateUploadAsync(upload);

        var ex = await Assert.ThrowsAsync<MetadataException>(() => Store.CreateUploadAsync(upload with { Path = "/b" }));

        Assert.Equal(MetadataError.UploadExists, ex.Error);
        Assert.Contains(upload.Id.ToString(), ex.Message, StringComparison.Ordinal);
        Assert.Equal("/a", (await Store.GetUploadAsync(upload.Id))!.Path);
    }

    [Theory]
    [InlineData("a/b")]
    [InlineData("/a/b/")]
    [InlineData("/a/../b")]
    public async Task Non_canonical_paths_are_refused(string path)
    {
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.CreateUploadAsync(Upload(path)));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.GetCurrentVersionAsync(path));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.CommitVersionAsync(Version(path), null));
    }

    [Fact]
    public async Task Chunks_round_trip_in_index_order_with_the_full_crc_range()
    {
        var upload = await CreateOpenUploadAsync("/big.bin");
        var chunks = new[]
        {
            Chunk(upload.Id, 2, crc: ulong.MaxValue),
            Chunk(upload.Id, 0, crc: 0),
            Chunk(upload.Id, 1, crc: 0x8000_0000_0000_0001),
        };

        foreach (var chunk in chunks)
        {
            await Store.RecordChunkAsync(chunk);
        }

        var listed = await Store.ListChunksAsync(upload.Id);

        Assert.Equal([0L, 1L, 2L], listed.Select(c => c.Index));
        foreach (var chunk in chunks)
        {
            AssertSameChunk(chunk, listed[(int)chunk.Index]);
        }

        Assert.Empty(await Store.ListChunksAsync(Guid.NewGuid()));
        AssertSameChunk(chunks[0], (await Store.GetChunkAsync(upload.Id, 2))!);
        Assert.Null(await Store.GetChunkAsync(upload.Id, 3));
        Assert.Null(await Store.GetChunkAsync(Guid.NewGuid(), 0));
    }

    [Fact]
    public async Task A_resent_chunk_replaces_the_earlier_receipt()
    {
        var upload = await CreateOpenUploadAsync("/big.bin");
        await Store.RecordChunkAsync(Chunk(upload.Id, 0));
        var first = Chunk(upload.Id, 1, crc: 1);
        await Store.RecordChunkAsync(first);

        var resent = Chunk(upload.Id, 1, crc: 2) with { StoredLength = 999, Encoding = 1, ReceivedAt = T0.AddMinutes(5) };
        await Store.RecordChunkAsync(resent);

        var listed = await Store.ListChunksAsync(upload.Id);
        Assert.Equal(2, listed.Count);
        AssertSameChunk(resent, listed[1]);
        Assert.NotEqual(first.Sha256, listed[1].Sha256);
    }

    [Fact]
    public async Task Chunks_for_unknown_or_closed_uploads_are_refused()
    {
        var missing = await Assert.ThrowsAsync<MetadataException>(() => Store.RecordChunkAsync(Chunk(Guid.NewGuid(), 0)));
        Assert.Equal(MetadataError.UploadNotFound, missing.Error);

        var upload = await CreateOpenUploadAsync("/a");
        Assert.True(await Store.SetUploadStateAsync(upload.Id, UploadState.Aborted));

        var closed = await Assert.ThrowsAsync<MetadataException>(() => Store.RecordChunkAsync(Chunk(upload.Id, 3)));
        Assert.Equal(MetadataError.UploadNotOpen, closed.Error);
        Assert.Contains("Aborted", closed.Message, StringComparison.Ordinal);
        Assert.Contains("chunk 3", closed.Message, StringComparison.Ordinal);
        Assert.Empty(await Store.ListChunksAsync(upload.Id));
    }

    [Fact]
    public async Task Upload_state_changes_only_from_open()
    {
        var upload = await CreateOpenUploadAsync("/a");

        Assert.True(await Store.SetUploadStateAsync(upload.Id, UploadState.Expired));
        Assert.False(await Store.SetUploadStateAsync(upload.Id, UploadState.Aborted));
        Assert.Equal(UploadState.Expired, (await Store.GetUploadAsync(upload.Id))!.State);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.SetUploadStateAsync(upload.Id, UploadState.Completed));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.SetUploadStateAsync(upload.Id, UploadState.Open));
        var missing = await Assert.ThrowsAsync<MetadataException>(() => Store.SetUploadStateAsync(Guid.NewGuid(), UploadState.Aborted));
        Assert.Equal(MetadataError.UploadNotFound, missing.Error);
    }

    [Fact]
    public async Task Commit_makes_the_version_current_and_completes_the_upload()
    {
        var upload = await CreateOpenUploadAsync("/inbox/report.pdf");
        var version = Version("/inbox/report.pdf") with { Sha256 = "sha256:" + new string('b', 64) };

        var previous = await Store.CommitVersionAsync(version, upload.Id);

        Assert.Null(previous);
        Assert.Equal(version, await Store.GetCurrentVersionAsync("/inbox/report.pdf"));
        Assert.Equal(UploadState.Completed, (await Store.GetUploadAsync(upload.Id))!.State);
        Assert.DoesNotContain(await Store.ListOpenUploadsAsync(), u => u.Id == upload.Id);
    }

    [Fact]
    public async Task A_failed_commit_changes_nothing()
    {
        var original = Version("/a");
        await Store.CommitVersionAsync(original, null);
        var upload = await CreateOpenUploadAsync("/a");

        var mismatch = await Assert.ThrowsAsync<MetadataException>(() => Store.CommitVersionAsync(Version("/b"), upload.Id));
        var duplicate = await Assert.ThrowsAsync<MetadataException>(() => Store.CommitVersionAsync(original, upload.Id));
        var missing = await Assert.ThrowsAsync<MetadataException>(() => Store.CommitVersionAsync(Version("/a"), Guid.NewGuid()));

        Assert.Equal(MetadataError.UploadPathMismatch, mismatch.Error);
        Assert.Equal(MetadataError.VersionExists, duplicate.Error);
        Assert.Equal(MetadataError.UploadNotFound, missing.Error);
        Assert.Null(await Store.GetCurrentVersionAsync("/b"));
        Assert.Equal(original, await Store.GetCurrentVersionAsync("/a"));
        Assert.Equal(UploadState.Open, (await Store.GetUploadAsync(upload.Id))!.State);
        Assert.Equal([original.VersionId], (await Store.ListCurrentVersionsAsync("/", 100)).Select(v => v.VersionId));
    }

    [Fact]
    public async Task A_completed_upload_cannot_be_committed_twice()
    {
        var upload = await CreateOpenUploadAsync("/a");
        var first = Version("/a");
        await Store.CommitVersionAsync(first, upload.Id);

        var ex = await Assert.ThrowsAsync<MetadataException>(() => Store.CommitVersionAsync(Version("/a"), upload.Id));

        Assert.Equal(MetadataError.UploadNotOpen, ex.Error);
        Assert.Equal(first, await Store.GetCurrentVersionAsync("/a"));
    }

    [Fact]
    public async Task Each_commit_returns_the_version_it_replaces()
    {
        var v1 = Version("/a/file") with { CommittedAt = T0 };
        var v2 = Version("/a/file") with { CommittedAt = T0.AddSeconds(1) };
        var v3 = Version("/a/file") with { CommittedAt = T0.AddSeconds(2) };

        Assert.Null(await Store.CommitVersionAsync(v1, null));
        Assert.Equal(v1, await Store.CommitVersionAsync(v2, null));
        Assert.Equal(v2, await Store.CommitVersionAsync(v3, null));

        Assert.Equal(v3, await Store.GetCurrentVersionAsync("/a/file"));
        Assert.Equal([v3], await Store.ListCurrentVersionsAsync("/a", 100));
    }

    [Fact]
    public async Task Prefix_listing_is_segment_wise_and_treats_percent_and_underscore_literally()
    {
        string[] paths =
        [
            "/a/b", "/a/b/c", "/a/b/d/e", "/a/bc", "/a/b.txt", "/a/b0", "/a/B/z", "/a/ab",
            "/a/b%", "/a/b%/x", "/a/b_", "/a/b_/y", "/a/bx_", "/a/b%x", "/x/it's; DROP TABLE versions; --",
        ];
        foreach (var path in paths)
        {
            await Store.CommitVersionAsync(Version(path), null);
        }

        Assert.Equal(["/a/b", "/a/b/c", "/a/b/d/e"], await ListPathsAsync("/a/b"));
        Assert.Equal(["/a/b%", "/a/b%/x"], await ListPathsAsync("/a/b%"));
        Assert.Equal(["/a/b_", "/a/b_/y"], await ListPathsAsync("/a/b_"));
        Assert.Equal(["/a/B/z"], await ListPathsAsync("/a/B"));
        Assert.Equal(["/a/b/d/e"], await ListPathsAsync("/a/b/d"));
        Assert.Empty(await ListPathsAsync("/a/b/c/d"));
        Assert.Empty(await ListPathsAsync("/nothing"));
        Assert.Equal(["/x/it's; DROP TABLE versions; --"], await ListPathsAsync("/x"));
        Assert.Equal(paths.Order(StringComparer.Ordinal), await ListPathsAsync("/"));
        Assert.Equal(paths.Where(p => p.StartsWith("/a/", StringComparison.Ordinal)).Order(StringComparer.Ordinal), await ListPathsAsync("/a"));
    }

    [Fact]
    public async Task Prefix_listing_stops_at_the_limit_in_path_order()
    {
        foreach (var name in new[] { "d", "a", "c", "b", "e" })
        {
            await Store.CommitVersionAsync(Version("/dir/" + name), null);
        }

        Assert.Equal(["/dir/a", "/dir/b"], (await Store.ListCurrentVersionsAsync("/dir", 2)).Select(v => v.Path));
        Assert.Equal(["/dir/a", "/dir/b", "/dir/c"], (await Store.ListCurrentVersionsAsync("/", 3)).Select(v => v.Path));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.ListCurrentVersionsAsync("/dir", 0));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.ListCurrentVersionsAsync("/dir/", 10));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.ListCurrentVersionsAsync("dir", 10));
    }

    [Fact]
    public async Task Delete_removes_the_current_version_and_returns_it()
    {
        var old = Version("/a/file");
        var current = Version("/a/file");
        await Store.CommitVersionAsync(old, null);
        await Store.CommitVersionAsync(current, null);
        await Store.CommitVersionAsync(Version("/a/other"), null);

        var deleted = await Store.DeleteCurrentVersionAsync("/a/file");

        Assert.Equal(current, deleted);
        Assert.Null(await Store.GetCurrentVersionAsync("/a/file"));
        Assert.Equal(["/a/other"], await ListPathsAsync("/a"));
        Assert.Null(await Store.DeleteCurrentVersionAsync("/a/file"));
        Assert.Null(await Store.DeleteCurrentVersionAsync("/never/existed"));
        Assert.Null(await Store.GetVersionAsync(current.VersionId));
        Assert.False((await Store.GetVersionAsync(old.VersionId))!.IsCurrent);

        // Deleting does not bring back the older version; a new commit starts afresh.
        Assert.Null(await Store.CommitVersionAsync(Version("/a/file"), null));
    }

    [Fact]
    public async Task Find_by_digest_sees_only_current_versions()
    {
        var digest = "sha256-tree:" + new string('c', 64);
        var superseded = Version("/a") with { Digest = digest };
        await Store.CommitVersionAsync(superseded, null);
        await Store.CommitVersionAsync(Version("/a"), null);
        Assert.Null(await Store.FindByDigestAsync(digest));

        var current = Version("/b") with { Digest = digest };
        await Store.CommitVersionAsync(current, null);
        Assert.Equal(current, await Store.FindByDigestAsync(digest));

        await Store.DeleteCurrentVersionAsync("/b");
        Assert.Null(await Store.FindByDigestAsync(digest));
    }

    [Fact]
    public async Task Expired_uploads_are_the_open_ones_past_their_expiry()
    {
        var now = T0.AddHours(1);
        var past = await CreateOpenUploadAsync("/past", expiresAt: now.AddMinutes(-5));
        var exactlyNow = await CreateOpenUploadAsync("/now", expiresAt: now);
        var future = await CreateOpenUploadAsync("/future", expiresAt: now.AddMilliseconds(1));
        var aborted = await CreateOpenUploadAsync("/aborted", expiresAt: now.AddMinutes(-10));
        await Store.SetUploadStateAsync(aborted.Id, UploadState.Aborted);
        var committed = await CreateOpenUploadAsync("/committed", expiresAt: now.AddMinutes(-10));
        await Store.CommitVersionAsync(Version("/committed"), committed.Id);

        var expired = await Store.ListExpiredUploadsAsync(now);

        Assert.Equal([past.Id, exactlyNow.Id], expired.Select(u => u.Id));
        Assert.Equal(past, expired[0]);
        Assert.Equal(
            new[] { past.Id, exactlyNow.Id, future.Id }.Order(),
            (await Store.ListOpenUploadsAsync()).Select(u => u.Id).Order());

        await Store.SetUploadStateAsync(past.Id, UploadState.Expired);
        Assert.Equal([exactlyNow.Id], (await Store.ListExpiredUploadsAsync(now)).Select(u => u.Id));
    }

    [Fact]
    public async Task Concurrent_chunk_receipts_from_eight_tasks_all_land()
    {
        const int Tasks = 8;
        const int ChunksPerTask = 40;
        var upload = await CreateOpenUploadAsync("/parallel.bin");
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var writers = Enumerable.Range(0, Tasks).Select(t => Task.Run(async () =>
        {
            await start.Task;
            for (var i = 0; i < ChunksPerTask; i++)
            {
                await Store.RecordChunkAsync(Chunk(upload.Id, (i * Tasks) + t, crc: (ulong)t));
            }
        })).ToArray();
        start.SetResult();
        await Task.WhenAll(writers);

        var listed = await Store.ListChunksAsync(upload.Id);
        Assert.Equal(Enumerable.Range(0, Tasks * ChunksPerTask).Select(i => (long)i), listed.Select(c => c.Index));
        Assert.All(listed, c => Assert.Equal((ulong)(c.Index % Tasks), c.Crc64));
    }

    [Fact]
    public async Task A_commit_keeps_its_state_and_uploader_and_a_superseded_version_is_no_longer_current()
    {
        var first = Version("/a/f.csv") with { UploadedBy = "alice" };
        var second = Version("/a/f.csv") with { UploadedBy = "peer:site-b" };

        await Store.CommitVersionAsync(first, null);
        var replaced = await Store.CommitVersionAsync(second, null);

        Assert.Equal(first, replaced);
        Assert.Equal(second, await Store.GetVersionAsync(second.VersionId));
        Assert.Equal(first with { IsCurrent = false }, await Store.GetVersionAsync(first.VersionId));
        Assert.Null(await Store.GetVersionAsync(Guid.NewGuid()));
        var released = Version("/a/released.csv") with { State = ReleaseState.Released };
        await Store.CommitVersionAsync(released, null);
        Assert.Equal(T0, (await Store.GetVersionAsync(released.VersionId))!.ReleasedAt);
    }

    [Fact]
    public async Task A_state_change_happens_only_from_the_expected_state_and_carries_its_decision()
    {
        var version = Version("/a/f.csv");
        await Store.CommitVersionAsync(version, null);
        var expires = T0.AddHours(1);

        Assert.False(await Store.SetReleaseStateAsync(version.VersionId, ReleaseState.PendingApproval, new ReleaseStateChange(ReleaseState.Released, T0)));
        Assert.True(await Store.SetReleaseStateAsync(version.VersionId, ReleaseState.PendingScan, new ReleaseStateChange(ReleaseState.PendingApproval, T0) { ApprovalExpiresAt = expires }));
        var pending = (await Store.GetVersionAsync(version.VersionId))!;
        Assert.Equal((ReleaseState.PendingApproval, (DateTimeOffset?)expires, (DateTimeOffset?)null), (pending.State, pending.ApprovalExpiresAt, pending.ReleasedAt));

        var decision = new ReleaseDecision(ReleaseDecision.Approved, "bob", "checked the batch", T0.AddMinutes(5));
        Assert.True(await Store.SetReleaseStateAsync(version.VersionId, ReleaseState.PendingApproval, new ReleaseStateChange(ReleaseState.Released, T0.AddMinutes(5)) { Decision = decision }));
        var released = (await Store.GetVersionAsync(version.VersionId))!;
        Assert.Equal(ReleaseState.Released, released.State);
        Assert.Equal(T0.AddMinutes(5), released.ReleasedAt);
        Assert.Equal(decision, released.Decision);
        Assert.Null(released.ApprovalExpiresAt);
        Assert.False(await Store.SetReleaseStateAsync(Guid.NewGuid(), ReleaseState.PendingScan, new ReleaseStateChange(ReleaseState.Released, T0)));
    }

    [Fact]
    public async Task Of_eight_concurrent_deciders_exactly_one_wins()
    {
        var version = Version("/a/race.csv");
        await Store.CommitVersionAsync(version, null);
        await Store.SetReleaseStateAsync(version.VersionId, ReleaseState.PendingScan, new ReleaseStateChange(ReleaseState.PendingApproval, T0));

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() => Store.SetReleaseStateAsync(
            version.VersionId,
            ReleaseState.PendingApproval,
            new ReleaseStateChange(i % 2 == 0 ? ReleaseState.Released : ReleaseState.Rejected, T0) { Decision = new ReleaseDecision("d", $"user{i}", null, T0) }))));

        Assert.Single(outcomes, won => won);
        var decided = (await Store.GetVersionAsync(version.VersionId))!;
        var winner = int.Parse(decided.Decision!.By!["user".Length..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(winner % 2 == 0 ? ReleaseState.Released : ReleaseState.Rejected, decided.State);
    }

    [Fact]
    public async Task Listing_by_state_shows_current_versions_and_superseded_quarantined_ones_but_never_deleted_ones()
    {
        var quarantined = Version("/q/a.bin");
        var pendingThenSuperseded = Version("/p/b.bin");
        var pendingCurrent = Version("/p/b.bin");
        var deleted = Version("/q/c.bin");
        foreach (var v in new[] { quarantined, pendingThenSuperseded, deleted })
        {
            await Store.CommitVersionAsync(v, null);
        }

        await Store.SetReleaseStateAsync(quarantined.VersionId, ReleaseState.PendingScan, new ReleaseStateChange(ReleaseState.Quarantined, T0));
        await Store.SetReleaseStateAsync(deleted.VersionId, ReleaseState.PendingScan, new ReleaseStateChange(ReleaseState.Quarantined, T0));
        await Store.CommitVersionAsync(pendingCurrent, null);
        await Store.CommitVersionAsync(Version("/q/a.bin"), null);

        Assert.Null(await Store.DeleteVersionAsync(deleted.VersionId, ReleaseState.Released));
        Assert.Equal(deleted.VersionId, (await Store.DeleteVersionAsync(deleted.VersionId, ReleaseState.Quarantined))!.VersionId);
        Assert.Null(await Store.GetVersionAsync(deleted.VersionId));
        Assert.Null(await Store.GetCurrentVersionAsync("/q/c.bin"));

        var held = await Store.ListVersionsInStateAsync(ReleaseState.Quarantined, 10);
        Assert.Equal([quarantined.VersionId], held.Select(v => v.VersionId));
        Assert.False(held[0].IsCurrent);
        var pending = await Store.ListVersionsInStateAsync(ReleaseState.PendingScan, 10);
        Assert.Equal(["/p/b.bin", "/q/a.bin"], pending.Select(v => v.Path));
        Assert.Equal(pendingCurrent.VersionId, pending[0].VersionId);
        Assert.False(await Store.SetReleaseStateAsync(deleted.VersionId, ReleaseState.Quarantined, new ReleaseStateChange(ReleaseState.Released, T0)));
    }

    [Fact]
    public async Task Verdicts_append_in_order_across_scans()
    {
        var version = Version("/v/a.bin");
        await Store.CommitVersionAsync(version, null);
        ScanVerdict[] first = [new("clamav", "ClamAV 1.4.2/27500", ScanOutcome.Error, null, "connection refused")];
        ScanVerdict[] second = [new("clamav", "ClamAV 1.4.2/27501", ScanOutcome.Infected, "Eicar-Signature", null), new("file-type", "1", ScanOutcome.Clean)];

        await Store.RecordVerdictsAsync(version.VersionId, first, T0);
        await Store.RecordVerdictsAsync(version.VersionId, second, T0.AddSeconds(5));
        await Store.RecordVerdictsAsync(version.VersionId, [], T0.AddSeconds(9));

        var recorded = await Store.ListVerdictsAsync(version.VersionId);
        Assert.Equal([0, 1, 2], recorded.Select(r => r.Seq));
        Assert.Equal([.. first, .. second], recorded.Select(r => r.Verdict));
        Assert.Equal([T0, T0.AddSeconds(5), T0.AddSeconds(5)], recorded.Select(r => r.ScannedAt));
        Assert.Empty(await Store.ListVerdictsAsync(Guid.NewGuid()));
    }

    [Fact]
    public async Task An_upload_keeps_who_opened_it()
    {
        var upload = new UploadSession(Guid.NewGuid(), "/u/a.bin", 10, 1 << 20, UploadSession.FastVerify, null, "/staging/a.part", T0, T0.AddHours(1), UploadState.Open) { OpenedBy = "alice" };

        await Store.CreateUploadAsync(upload);

        Assert.Equal(upload, await Store.GetUploadAsync(upload.Id));
    }

    [Fact]
    public async Task A_batch_of_versions_commits_all_or_none_and_reads_back_in_one_call()
    {
        var replaced = Version("/b/one.bin") with { State = ReleaseState.Released };
        await Store.CommitVersionAsync(replaced, null);
        var batch = new[] { Version("/b/one.bin"), Version("/b/two.bin"), Version("/b/three.bin") };

        var previous = await Store.CommitVersionsAsync(batch);

        Assert.Equal([replaced.VersionId, null, null], previous.Select(p => p?.VersionId));
        foreach (var version in batch)
        {
            Assert.Equal(version.VersionId, (await Store.GetCurrentVersionAsync(version.Path))!.VersionId);
        }

        var read = await Store.GetVersionsAsync([batch[0].VersionId, batch[2].VersionId, Guid.NewGuid()]);
        Assert.Equal(new[] { batch[0].VersionId, batch[2].VersionId }.Order(), read.Keys.Order());

        // One version already committed: the whole batch is refused and nothing of it lands.
        var retry = new[] { Version("/b/four.bin"), batch[1] };
        Assert.Equal(MetadataError.VersionExists, (await Assert.ThrowsAsync<MetadataException>(() => Store.CommitVersionsAsync(retry))).Error);
        Assert.Null(await Store.GetCurrentVersionAsync("/b/four.bin"));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.CommitVersionsAsync([Version("/b/x"), Version("/b/x")]));
    }

    [Fact]
    public async Task Clean_scans_are_recorded_and_released_together_unless_they_left_pending_scan()
    {
        var pending = Version("/s/a.bin");
        var rejected = Version("/s/b.bin");
        await Store.CommitVersionsAsync([pending, rejected]);
        Assert.True(await Store.SetReleaseStateAsync(rejected.VersionId, ReleaseState.PendingScan, new ReleaseStateChange(ReleaseState.Quarantined, T0)));
        ScanVerdict[] clean = [new("file-type", "1", ScanOutcome.Clean)];

        var released = await Store.RecordVerdictsAndReleaseAsync([(pending.VersionId, clean), (rejected.VersionId, clean)], T0.AddSeconds(1));

        Assert.Equal([true, false], released);
        var states = await Store.GetVersionsAsync([pending.VersionId, rejected.VersionId]);
        Assert.Equal(ReleaseState.Released, states[pending.VersionId].State);
        Assert.Equal(T0.AddSeconds(1), states[pending.VersionId].ReleasedAt);
        Assert.Equal(ReleaseState.Quarantined, states[rejected.VersionId].State);
        Assert.Single(await Store.ListVerdictsAsync(rejected.VersionId));
    }

    [Fact]
    public async Task Referenced_object_keys_are_every_versions_and_each_open_uploads_id()
    {
        var superseded = Version("/r/a.bin");
        var current = Version("/r/a.bin");
        var quarantined = Version("/r/q.bin");
        await Store.CommitVersionsAsync([superseded, quarantined]);
        await Store.CommitVersionAsync(current, null);
        await Store.SetReleaseStateAsync(quarantined.VersionId, ReleaseState.PendingScan, new ReleaseStateChange(ReleaseState.Quarantined, T0));
        var open = await CreateOpenUploadAsync("/r/open.bin");
        var aborted = await CreateOpenUploadAsync("/r/aborted.bin");
        await Store.SetUploadStateAsync(aborted.Id, UploadState.Aborted);

        var keys = await Store.ListReferencedObjectKeysAsync();

        Assert.Superset(new HashSet<string>([superseded.ObjectKey, current.ObjectKey, quarantined.ObjectKey, open.Id.ToString("N")]), new HashSet<string>(keys));
        Assert.DoesNotContain(aborted.Id.ToString("N"), keys);
    }

    private async Task<UploadSession> CreateOpenUploadAsync(string path, DateTimeOffset? expiresAt = null)
    {
        var upload = Upload(path) with { ExpiresAt = expiresAt ?? T0.AddDays(1) };
        await Store.CreateUploadAsync(upload);
        return upload;
    }

    private async Task<IReadOnlyList<string>> ListPathsAsync(string prefix) =>
        [.. (await Store.ListCurrentVersionsAsync(prefix, 1000)).Select(v => v.Path)];

    internal static UploadSession Upload(string path) => new(
        Guid.NewGuid(),
        path,
        Size: 10 << 20,
        ChunkSize: 4 << 20,
        VerifyMode: UploadSession.FastVerify,
        ExpectedDigest: null,
        StagingPath: $"/data/staging/{Guid.NewGuid():N}.part",
        CreatedAt: T0,
        ExpiresAt: T0.AddDays(1),
        State: UploadState.Open);

    internal static FileVersion Version(string path) => new(
        Guid.NewGuid(),
        path,
        Size: 1234,
        ChunkSize: 4 << 20,
        Digest: "sha256-tree:" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)),
        Sha256: null,
        ObjectKey: Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
        CommittedAt: T0);

    internal static ChunkReceipt Chunk(Guid uploadId, long index, ulong crc = 42) => new(
        uploadId,
        index,
        Offset: index * (4L << 20),
        StoredLength: 4 << 20,
        PlainLength: 4 << 20,
        Encoding: 0,
        Crc64: crc,
        Sha256: RandomNumberGenerator.GetBytes(32),
        ReceivedAt: T0.AddSeconds(index));

    // Records compare byte[] by reference, so the digest is compared by content.
    internal static void AssertSameChunk(ChunkReceipt expected, ChunkReceipt actual)
    {
        var none = Array.Empty<byte>();
        Assert.Equal(expected.Sha256, actual.Sha256);
        Assert.Equal(expected with { Sha256 = none }, actual with { Sha256 = none });
    }
}
