using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using TurboMft.Host.Metadata;

namespace TurboMft.Host.Tests.Metadata;

/// <summary>Release states, verdicts and decisions in the SQLite metadata store, and the migration from schema 1.</summary>
public sealed class ReleaseStateStoreTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_750_000_000_123);

    private readonly string _dir = Directory.CreateTempSubdirectory("tmf-meta-release-").FullName;
    private SqliteMetadataStore _store = null!;

    public async ValueTask InitializeAsync() => _store = await SqliteMetadataStore.OpenAsync(_dir);

    public async ValueTask DisposeAsync()
    {
        await _store.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task A_schema_1_database_migrates_with_its_versions_released_and_new_commits_pending()
    {
        var dir = Path.Combine(_dir, "old");
        Directory.CreateDirectory(dir);
        var versionId = Guid.NewGuid();
        await using (var connection = new SqliteConnection($"Data Source={Path.Combine(dir, SqliteMetadataStore.FileName)};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = SchemaOne + $"""
                CREATE TABLE schema_version (version INTEGER NOT NULL) STRICT;
                INSERT INTO schema_version (version) VALUES (1);
                INSERT INTO uploads VALUES ('{Guid.NewGuid()}', '/old/open.bin', 10, 4194304, 'fast', NULL, '/s/x.part', 1, 2, 0);
                INSERT INTO versions (seq, version_id, path, size, chunk_size, digest, sha256, object_key, committed_at, upload_id, is_current, deleted_at)
                VALUES (1, '{versionId}', '/old/file.csv', 5, 4194304, 'sha256-tree:{new string('a', 64)}', NULL, 'objectkey1', {T0.ToUnixTimeMilliseconds()}, NULL, 1, NULL);
                """;
            await command.ExecuteNonQueryAsync();
        }

        await using var store = await SqliteMetadataStore.OpenAsync(dir);

        var migrated = await store.GetVersionAsync(versionId);
        Assert.NotNull(migrated);
        Assert.Equal(ReleaseState.Released, migrated.State);
        Assert.Equal(T0, migrated.ReleasedAt);
        Assert.Null(migrated.UploadedBy);
        Assert.Null(Assert.Single(await store.ListOpenUploadsAsync()).OpenedBy);
        var fresh = Version("/old/new.csv");
        await store.CommitVersionAsync(fresh, null);
        Assert.Equal(ReleaseState.PendingScan, (await store.GetCurrentVersionAsync("/old/new.csv"))!.State);
    }

    [Fact]
    public async Task A_commit_keeps_its_state_and_uploader_and_a_superseded_version_is_no_longer_current()
    {
        var first = Version("/a/f.csv") with { UploadedBy = "alice" };
        var second = Version("/a/f.csv") with { UploadedBy = "peer:site-b" };

        await _store.CommitVersionAsync(first, null);
        var replaced = await _store.CommitVersionAsync(second, null);

        Assert.Equal(first, replaced);
        Assert.Equal(second, await _store.GetVersionAsync(second.VersionId));
        Assert.Equal(first with { IsCurrent = false }, await _store.GetVersionAsync(first.VersionId));
        Assert.Null(await _store.GetVersionAsync(Guid.NewGuid()));
        var released = Version("/a/released.csv") with { State = ReleaseState.Released };
        await _store.CommitVersionAsync(released, null);
        Assert.Equal(T0, (await _store.GetVersionAsync(released.VersionId))!.ReleasedAt);
    }

    [Fact]
    public async Task A_state_change_happens_only_from_the_expected_state_and_carries_its_decision()
    {
        var version = Version("/a/f.csv");
        await _store.CommitVersionAsync(version, null);
        var expires = T0.AddHours(1);

        Assert.False(await _store.SetReleaseStateAsync(version.VersionId, ReleaseState.PendingApproval, new ReleaseStateChange(ReleaseState.Released, T0)));
        Assert.True(await _store.SetReleaseStateAsync(version.VersionId, ReleaseState.PendingScan, new ReleaseStateChange(ReleaseState.PendingApproval, T0) { ApprovalExpiresAt = expires }));
        var pending = (await _store.GetVersionAsync(version.VersionId))!;
        Assert.Equal((ReleaseState.PendingApproval, (DateTimeOffset?)expires, (DateTimeOffset?)null), (pending.State, pending.ApprovalExpiresAt, pending.ReleasedAt));

        var decision = new ReleaseDecision(ReleaseDecision.Approved, "bob", "checked the batch", T0.AddMinutes(5));
        Assert.True(await _store.SetReleaseStateAsync(version.VersionId, ReleaseState.PendingApproval, new ReleaseStateChange(ReleaseState.Released, T0.AddMinutes(5)) { Decision = decision }));
        var released = (await _store.GetVersionAsync(version.VersionId))!;
        Assert.Equal(ReleaseState.Released, released.State);
        Assert.Equal(T0.AddMinutes(5), released.ReleasedAt);
        Assert.Equal(decision, released.Decision);
        Assert.Null(released.ApprovalExpiresAt);
        Assert.False(await _store.SetReleaseStateAsync(Guid.NewGuid(), ReleaseState.PendingScan, new ReleaseStateChange(ReleaseState.Released, T0)));
    }

    [Fact]
    public async Task Of_eight_concurrent_deciders_exactly_one_wins()
    {
        var version = Version("/a/race.csv");
        await _store.CommitVersionAsync(version, null);
        await _store.SetReleaseStateAsync(version.VersionId, ReleaseState.PendingScan, new ReleaseStateChange(ReleaseState.PendingApproval, T0));

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() => _store.SetReleaseStateAsync(
            version.VersionId,
            ReleaseState.PendingApproval,
            new ReleaseStateChange(i % 2 == 0 ? ReleaseState.Released : ReleaseState.Rejected, T0) { Decision = new ReleaseDecision("d", $"user{i}", null, T0) }))));

        Assert.Single(outcomes, won => won);
        var decided = (await _store.GetVersionAsync(version.VersionId))!;
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
            await _store.CommitVersionAsync(v, null);
        }

        await _store.SetReleaseStateAsync(quarantined.VersionId, ReleaseState.PendingScan, new ReleaseStateChange(ReleaseState.Quarantined, T0));
        await _store.SetReleaseStateAsync(deleted.VersionId, ReleaseState.PendingScan, new ReleaseStateChange(ReleaseState.Quarantined, T0));
        await _store.CommitVersionAsync(pendingCurrent, null);
        await _store.CommitVersionAsync(Version("/q/a.bin"), null);

        Assert.Null(await _store.DeleteVersionAsync(deleted.VersionId, ReleaseState.Released));
        Assert.Equal(deleted.VersionId, (await _store.DeleteVersionAsync(deleted.VersionId, ReleaseState.Quarantined))!.VersionId);
        Assert.Null(await _store.GetVersionAsync(deleted.VersionId));
        Assert.Null(await _store.GetCurrentVersionAsync("/q/c.bin"));

        var held = await _store.ListVersionsInStateAsync(ReleaseState.Quarantined, 10);
        Assert.Equal([quarantined.VersionId], held.Select(v => v.VersionId));
        Assert.False(held[0].IsCurrent);
        var pending = await _store.ListVersionsInStateAsync(ReleaseState.PendingScan, 10);
        Assert.Equal(["/p/b.bin", "/q/a.bin"], pending.Select(v => v.Path));
        Assert.Equal(pendingCurrent.VersionId, pending[0].VersionId);
        Assert.False(await _store.SetReleaseStateAsync(deleted.VersionId, ReleaseState.Quarantined, new ReleaseStateChange(ReleaseState.Released, T0)));
    }

    [Fact]
    public async Task Verdicts_append_in_order_across_scans()
    {
        var version = Version("/v/a.bin");
        await _store.CommitVersionAsync(version, null);
        ScanVerdict[] first = [new("clamav", "ClamAV 1.4.2/27500", ScanOutcome.Error, null, "connection refused")];
        ScanVerdict[] second = [new("clamav", "ClamAV 1.4.2/27501", ScanOutcome.Infected, "Eicar-Signature", null), new("file-type", "1", ScanOutcome.Clean)];

        await _store.RecordVerdictsAsync(version.VersionId, first, T0);
        await _store.RecordVerdictsAsync(version.VersionId, second, T0.AddSeconds(5));
        await _store.RecordVerdictsAsync(version.VersionId, [], T0.AddSeconds(9));

        var recorded = await _store.ListVerdictsAsync(version.VersionId);
        Assert.Equal([0, 1, 2], recorded.Select(r => r.Seq));
        Assert.Equal([.. first, .. second], recorded.Select(r => r.Verdict));
        Assert.Equal([T0, T0.AddSeconds(5), T0.AddSeconds(5)], recorded.Select(r => r.ScannedAt));
        Assert.Empty(await _store.ListVerdictsAsync(Guid.NewGuid()));
    }

    [Fact]
    public async Task An_upload_keeps_who_opened_it()
    {
        var upload = new UploadSession(Guid.NewGuid(), "/u/a.bin", 10, 1 << 20, UploadSession.FastVerify, null, "/staging/a.part", T0, T0.AddHours(1), UploadState.Open) { OpenedBy = "alice" };

        await _store.CreateUploadAsync(upload);

        Assert.Equal(upload, await _store.GetUploadAsync(upload.Id));
    }

    [Fact]
    public async Task A_batch_of_versions_commits_all_or_none_and_reads_back_in_one_call()
    {
        var replaced = Version("/b/one.bin") with { State = ReleaseState.Released };
        await _store.CommitVersionAsync(replaced, null);
        var batch = new[] { Version("/b/one.bin"), Version("/b/two.bin"), Version("/b/three.bin") };

        var previous = await _store.CommitVersionsAsync(batch);

        Assert.Equal([replaced.VersionId, null, null], previous.Select(p => p?.VersionId));
        foreach (var version in batch)
        {
            Assert.Equal(version.VersionId, (await _store.GetCurrentVersionAsync(version.Path))!.VersionId);
        }

        var read = await _store.GetVersionsAsync([batch[0].VersionId, batch[2].VersionId, Guid.NewGuid()]);
        Assert.Equal(new[] { batch[0].VersionId, batch[2].VersionId }.Order(), read.Keys.Order());

        // One version already committed: the whole batch is refused and nothing of it lands.
        var retry = new[] { Version("/b/four.bin"), batch[1] };
        Assert.Equal(MetadataError.VersionExists, (await Assert.ThrowsAsync<MetadataException>(() => _store.CommitVersionsAsync(retry))).Error);
        Assert.Null(await _store.GetCurrentVersionAsync("/b/four.bin"));
        await Assert.ThrowsAsync<ArgumentException>(() => _store.CommitVersionsAsync([Version("/b/x"), Version("/b/x")]));
    }

    [Fact]
    public async Task Clean_scans_are_recorded_and_released_together_unless_they_left_pending_scan()
    {
        var pending = Version("/s/a.bin");
        var rejected = Version("/s/b.bin");
        await _store.CommitVersionsAsync([pending, rejected]);
        Assert.True(await _store.SetReleaseStateAsync(rejected.VersionId, ReleaseState.PendingScan, new ReleaseStateChange(ReleaseState.Quarantined, T0)));
        ScanVerdict[] clean = [new("file-type", "1", ScanOutcome.Clean)];

        var released = await _store.RecordVerdictsAndReleaseAsync([(pending.VersionId, clean), (rejected.VersionId, clean)], T0.AddSeconds(1));

        Assert.Equal([true, false], released);
        var states = await _store.GetVersionsAsync([pending.VersionId, rejected.VersionId]);
        Assert.Equal(ReleaseState.Released, states[pending.VersionId].State);
        Assert.Equal(T0.AddSeconds(1), states[pending.VersionId].ReleasedAt);
        Assert.Equal(ReleaseState.Quarantined, states[rejected.VersionId].State);
        Assert.Single(await _store.ListVerdictsAsync(rejected.VersionId));
    }

    private static FileVersion Version(string path) => new(
        Guid.NewGuid(),
        path,
        Size: 1234,
        ChunkSize: 4 << 20,
        Digest: "sha256-tree:" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)),
        Sha256: null,
        ObjectKey: Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
        CommittedAt: T0);

    // The schema a build before release states created (migration 1, verbatim).
    private const string SchemaOne = """
        CREATE TABLE uploads (
            id              TEXT    NOT NULL PRIMARY KEY,
            path            TEXT    NOT NULL,
            size            INTEGER NOT NULL CHECK (size >= 0),
            chunk_size      INTEGER NOT NULL CHECK (chunk_size > 0),
            verify_mode     TEXT    NOT NULL CHECK (verify_mode IN ('fast', 'sha256')),
            expected_digest TEXT,
            staging_path    TEXT    NOT NULL,
            created_at      INTEGER NOT NULL,
            expires_at      INTEGER NOT NULL,
            state           INTEGER NOT NULL CHECK (state BETWEEN 0 AND 3)
        ) STRICT;
        CREATE INDEX uploads_by_state_expiry ON uploads (state, expires_at);

        CREATE TABLE chunks (
            upload_id     TEXT    NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
            chunk_index   INTEGER NOT NULL CHECK (chunk_index >= 0),
            byte_offset   INTEGER NOT NULL CHECK (byte_offset >= 0),
            stored_length INTEGER NOT NULL CHECK (stored_length >= 0),
            plain_length  INTEGER NOT NULL CHECK (plain_length >= 0),
            encoding      INTEGER NOT NULL,
            crc64         INTEGER NOT NULL,
            sha256        BLOB    NOT NULL CHECK (length(sha256) = 32),
            received_at   INTEGER NOT NULL,
            PRIMARY KEY (upload_id, chunk_index)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE versions (
            seq          INTEGER NOT NULL PRIMARY KEY,
            version_id   TEXT    NOT NULL UNIQUE,
            path         TEXT    NOT NULL,
            size         INTEGER NOT NULL CHECK (size >= 0),
            chunk_size   INTEGER NOT NULL CHECK (chunk_size > 0),
            digest       TEXT    NOT NULL,
            sha256       TEXT,
            object_key   TEXT    NOT NULL,
            committed_at INTEGER NOT NULL,
            upload_id    TEXT    REFERENCES uploads (id) ON DELETE SET NULL,
            is_current   INTEGER NOT NULL CHECK (is_current IN (0, 1)),
            deleted_at   INTEGER
        ) STRICT;
        CREATE UNIQUE INDEX versions_current_by_path ON versions (path) WHERE is_current = 1;
        CREATE INDEX versions_current_by_digest ON versions (digest) WHERE is_current = 1;

        """;
}
