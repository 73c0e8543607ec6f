using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using TurboMft.Host.Metadata;

namespace TurboMft.Host.Tests.Metadata;

public sealed class SqliteMetadataStoreTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_750_000_000_123);

    private readonly string _dir = Directory.CreateTempSubdirectory("tmf-meta-").FullName;
    private SqliteMetadataStore _store = null!;

    public async ValueTask InitializeAsync() => _store = await SqliteMetadataStore.OpenAsync(_dir);

    public async ValueTask DisposeAsync()
    {
        await _store.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Open_creates_a_private_wal_database_at_the_current_schema_version()
    {
        var path = Path.Combine(_dir, "metadata.db");

        Assert.Equal(path, _store.DatabasePath);
        Assert.True(File.Exists(path));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }

        Assert.Equal((long)SqliteMetadataStore.SchemaVersion, await ScalarAsync("SELECT version FROM schema_version"));
        Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM schema_version"));
        Assert.Equal("wal", await ScalarAsync("PRAGMA journal_mode"));
    }

    [Fact]
    public async Task Open_creates_a_missing_directory()
    {
        var nested = Path.Combine(_dir, "data", "meta");

        await using var store = await SqliteMetadataStore.OpenAsync(nested);

        Assert.True(File.Exists(Path.Combine(nested, SqliteMetadataStore.FileName)));
    }

    [Fact]
    public async Task Upload_round_trips()
    {
        var upload = Upload("/inbox/report.pdf") with { ExpectedDigest = "sha256-tree:" + new string('a', 64), VerifyMode = "sha256" };
        var bare = Upload("/inbox/other.bin");

        await _store.CreateUploadAsync(upload);
        await _store.CreateUploadAsync(bare);

        Assert.Equal(upload, await _store.GetUploadAsync(upload.Id));
        Assert.Equal(bare, await _store.GetUploadAsync(bare.Id));
        Assert.Null((await _store.GetUploadAsync(bare.Id))!.ExpectedDigest);
        Assert.Null(await _store.GetUploadAsync(Guid.NewGuid()));
    }

    [Fact]
    public async Task Times_are_kept_to_the_millisecond_in_utc()
    {
        var local = new DateTimeOffset(2025, 6, 1, 12, 0, 0, 456, TimeSpan.FromHours(2)).AddTicks(7);
        var upload = Upload("/a") with { CreatedAt = local, ExpiresAt = local.AddDays(1) };

        await _store.CreateUploadAsync(upload);
        var read = (await _store.GetUploadAsync(upload.Id))!;

        Assert.Equal(TimeSpan.Zero, read.CreatedAt.Offset);
        Assert.Equal(local.ToUnixTimeMilliseconds(), read.CreatedAt.ToUnixTimeMilliseconds());
        Assert.Equal(local.UtcDateTime.AddTicks(-7), read.CreatedAt.UtcDateTime);
    }

    [Fact]
    public async Task Creating_an_upload_twice_is_a_typed_error()
    {
        var upload = Upload("/a");
        await _store.CreateUploadAsync(upload);

        var ex = await Assert.ThrowsAsync<MetadataException>(() => _store.CreateUploadAsync(upload with { Path = "/b" }));

        Assert.Equal(MetadataError.UploadExists, ex.Error);
        Assert.Contains(upload.Id.ToString(), ex.Message, StringComparison.Ordinal);
        Assert.Equal("/a", (await _store.GetUploadAsync(upload.Id))!.Path);
    }

    [Theory]
    [InlineData("a/b")]
    [InlineData("/a/b/")]
    [InlineData("/a/../b")]
    public async Task Non_canonical_paths_are_refused(string path)
    {
        await Assert.ThrowsAnyAsync<ArgumentException>(() => _store.CreateUploadAsync(Upload(path)));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => _store.GetCurrentVersionAsync(path));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => _store.CommitVersionAsync(Version(path), null));
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
            await _store.RecordChunkAsync(chunk);
        }

        var listed = await _store.ListChunksAsync(upload.Id);

        Assert.Equal([0L, 1L, 2L], listed.Select(c => c.Index));
        foreach (var chunk in chunks)
        {
            AssertSameChunk(chunk, listed[(int)chunk.Index]);
        }

        Assert.Empty(await _store.ListChunksAsync(Guid.NewGuid()));
    }

    [Fact]
    public async Task A_resent_chunk_replaces_the_earlier_receipt()
    {
        var upload = await CreateOpenUploadAsync("/big.bin");
        await _store.RecordChunkAsync(Chunk(upload.Id, 0));
        var first = Chunk(upload.Id, 1, crc: 1);
        await _store.RecordChunkAsync(first);

        var resent = Chunk(upload.Id, 1, crc: 2) with { StoredLength = 999, Encoding = 1, ReceivedAt = T0.AddMinutes(5) };
        await _store.RecordChunkAsync(resent);

        var listed = await _store.ListChunksAsync(upload.Id);
        Assert.Equal(2, listed.Count);
        AssertSameChunk(resent, listed[1]);
        Assert.NotEqual(first.Sha256, listed[1].Sha256);
    }

    [Fact]
    public async Task Chunks_for_unknown_or_closed_uploads_are_refused()
    {
        var missing = await Assert.ThrowsAsync<MetadataException>(() => _store.RecordChunkAsync(Chunk(Guid.NewGuid(), 0)));
        Assert.Equal(MetadataError.UploadNotFound, missing.Error);

        var upload = await CreateOpenUploadAsync("/a");
        Assert.True(await _store.SetUploadStateAsync(upload.Id, UploadState.Aborted));

        var closed = await Assert.ThrowsAsync<MetadataException>(() => _store.RecordChunkAsync(Chunk(upload.Id, 3)));
        Assert.Equal(MetadataError.UploadNotOpen, closed.Error);
        Assert.Contains("Aborted", closed.Message, StringComparison.Ordinal);
        Assert.Contains("chunk 3", closed.Message, StringComparison.Ordinal);
        Assert.Empty(await _store.ListChunksAsync(upload.Id));
    }

    [Fact]
    public async Task Upload_state_changes_only_from_open()
    {
        var upload = await CreateOpenUploadAsync("/a");

        Assert.True(await _store.SetUploadStateAsync(upload.Id, UploadState.Expired));
        Assert.False(await _store.SetUploadStateAsync(upload.Id, UploadState.Aborted));
        Assert.Equal(UploadState.Expired, (await _store.GetUploadAsync(upload.Id))!.State);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _store.SetUploadStateAsync(upload.Id, UploadState.Completed));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _store.SetUploadStateAsync(upload.Id, UploadState.Open));
        var missing = await Assert.ThrowsAsync<MetadataException>(() => _store.SetUploadStateAsync(Guid.NewGuid(), UploadState.Aborted));
        Assert.Equal(MetadataError.UploadNotFound, missing.Error);
    }

    [Fact]
    public async Task Commit_makes_the_version_current_and_completes_the_upload()
    {
        var upload = await CreateOpenUploadAsync("/inbox/report.pdf");
        var version = Version("/inbox/report.pdf") with { Sha256 = "sha256:" + new string('b', 64) };

        var previous = await _store.CommitVersionAsync(version, upload.Id);

        Assert.Null(previous);
        Assert.Equal(version, await _store.GetCurrentVersionAsync("/inbox/report.pdf"));
        Assert.Equal(UploadState.Completed, (await _store.GetUploadAsync(upload.Id))!.State);
        Assert.DoesNotContain(await _store.ListOpenUploadsAsync(), u => u.Id == upload.Id);
    }

    [Fact]
    public async Task A_failed_commit_changes_nothing()
    {
        var original = Version("/a");
        await _store.CommitVersionAsync(original, null);
        var upload = await CreateOpenUploadAsync("/a");

        var mismatch = await Assert.ThrowsAsync<MetadataException>(() => _store.CommitVersionAsync(Version("/b"), upload.Id));
        var duplicate = await Assert.ThrowsAsync<MetadataException>(() => _store.CommitVersionAsync(original, upload.Id));
        var missing = await Assert.ThrowsAsync<MetadataException>(() => _store.CommitVersionAsync(Version("/a"), Guid.NewGuid()));

        Assert.Equal(MetadataError.UploadPathMismatch, mismatch.Error);
        Assert.Equal(MetadataError.VersionExists, duplicate.Error);
        Assert.Equal(MetadataError.UploadNotFound, missing.Error);
        Assert.Null(await _store.GetCurrentVersionAsync("/b"));
        Assert.Equal(original, await _store.GetCurrentVersionAsync("/a"));
        Assert.Equal(UploadState.Open, (await _store.GetUploadAsync(upload.Id))!.State);
        Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM versions"));
    }

    [Fact]
    public async Task A_completed_upload_cannot_be_committed_twice()
    {
        var upload = await CreateOpenUploadAsync("/a");
        var first = Version("/a");
        await _store.CommitVersionAsync(first, upload.Id);

        var ex = await Assert.ThrowsAsync<MetadataException>(() => _store.CommitVersionAsync(Version("/a"), upload.Id));

        Assert.Equal(MetadataError.UploadNotOpen, ex.Error);
        Assert.Equal(first, await _store.GetCurrentVersionAsync("/a"));
    }

    [Fact]
    public async Task Each_commit_returns_the_version_it_replaces()
    {
        var v1 = Version("/a/file") with { CommittedAt = T0 };
        var v2 = Version("/a/file") with { CommittedAt = T0.AddSeconds(1) };
        var v3 = Version("/a/file") with { CommittedAt = T0.AddSeconds(2) };

        Assert.Null(await _store.CommitVersionAsync(v1, null));
        Assert.Equal(v1, await _store.CommitVersionAsync(v2, null));
        Assert.Equal(v2, await _store.CommitVersionAsync(v3, null));

        Assert.Equal(v3, await _store.GetCurrentVersionAsync("/a/file"));
        Assert.Equal([v3], await _store.ListCurrentVersionsAsync("/a", 100));
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
            await _store.CommitVersionAsync(Version(path), null);
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
            await _store.CommitVersionAsync(Version("/dir/" + name), null);
        }

        Assert.Equal(["/dir/a", "/dir/b"], (await _store.ListCurrentVersionsAsync("/dir", 2)).Select(v => v.Path));
        Assert.Equal(["/dir/a", "/dir/b", "/dir/c"], (await _store.ListCurrentVersionsAsync("/", 3)).Select(v => v.Path));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _store.ListCurrentVersionsAsync("/dir", 0));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => _store.ListCurrentVersionsAsync("/dir/", 10));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => _store.ListCurrentVersionsAsync("dir", 10));
    }

    [Fact]
    public async Task Delete_removes_the_current_version_and_returns_it()
    {
        var old = Version("/a/file");
        var current = Version("/a/file");
        await _store.CommitVersionAsync(old, null);
        await _store.CommitVersionAsync(current, null);
        await _store.CommitVersionAsync(Version("/a/other"), null);

        var deleted = await _store.DeleteCurrentVersionAsync("/a/file");

        Assert.Equal(current, deleted);
        Assert.Null(await _store.GetCurrentVersionAsync("/a/file"));
        Assert.Equal(["/a/other"], await ListPathsAsync("/a"));
        Assert.Null(await _store.DeleteCurrentVersionAsync("/a/file"));
        Assert.Null(await _store.DeleteCurrentVersionAsync("/never/existed"));
        Assert.NotNull(await ScalarAsync($"SELECT deleted_at FROM versions WHERE version_id = '{current.VersionId}'"));

        // Deleting does not bring back the older version; a new commit starts afresh.
        Assert.Null(await _store.CommitVersionAsync(Version("/a/file"), null));
    }

    [Fact]
    public async Task Find_by_digest_sees_only_current_versions()
    {
        var digest = "sha256-tree:" + new string('c', 64);
        var superseded = Version("/a") with { Digest = digest };
        await _store.CommitVersionAsync(superseded, null);
        await _store.CommitVersionAsync(Version("/a"), null);
        Assert.Null(await _store.FindByDigestAsync(digest));

        var current = Version("/b") with { Digest = digest };
        await _store.CommitVersionAsync(current, null);
        Assert.Equal(current, await _store.FindByDigestAsync(digest));

        await _store.DeleteCurrentVersionAsync("/b");
        Assert.Null(await _store.FindByDigestAsync(digest));
    }

    [Fact]
    public async Task Expired_uploads_are_the_open_ones_past_their_expiry()
    {
        var now = T0.AddHours(1);
        var past = await CreateOpenUploadAsync("/past", expiresAt: now.AddMinutes(-5));
        var exactlyNow = await CreateOpenUploadAsync("/now", expiresAt: now);
        var future = await CreateOpenUploadAsync("/future", expiresAt: now.AddMilliseconds(1));
        var aborted = await CreateOpenUploadAsync("/aborted", expiresAt: now.AddMinutes(-10));
        await _store.SetUploadStateAsync(aborted.Id, UploadState.Aborted);
        var committed = await CreateOpenUploadAsync("/committed", expiresAt: now.AddMinutes(-10));
        await _store.CommitVersionAsync(Version("/committed"), committed.Id);

        var expired = await _store.ListExpiredUploadsAsync(now);

        Assert.Equal([past.Id, exactlyNow.Id], expired.Select(u => u.Id));
        Assert.Equal(past, expired[0]);
        Assert.Equal(
            new[] { past.Id, exactlyNow.Id, future.Id }.Order(),
            (await _store.ListOpenUploadsAsync()).Select(u => u.Id).Order());

        await _store.SetUploadStateAsync(past.Id, UploadState.Expired);
        Assert.Equal([exactlyNow.Id], (await _store.ListExpiredUploadsAsync(now)).Select(u => u.Id));
    }

    [Fact]
    public async Task Reopening_the_database_keeps_everything()
    {
        var upload = await CreateOpenUploadAsync("/open/upload");
        var chunk = Chunk(upload.Id, 0, crc: ulong.MaxValue - 7);
        await _store.RecordChunkAsync(chunk);
        var committedUpload = await CreateOpenUploadAsync("/done");
        var version = Version("/done");
        await _store.CommitVersionAsync(version, committedUpload.Id);
        await _store.CommitVersionAsync(Version("/gone"), null);
        await _store.DeleteCurrentVersionAsync("/gone");

        await _store.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => _store.GetUploadAsync(upload.Id));
        _store = await SqliteMetadataStore.OpenAsync(_dir);

        Assert.Equal(upload, await _store.GetUploadAsync(upload.Id));
        AssertSameChunk(chunk, Assert.Single(await _store.ListChunksAsync(upload.Id)));
        Assert.Equal(version, await _store.GetCurrentVersionAsync("/done"));
        Assert.Equal(UploadState.Completed, (await _store.GetUploadAsync(committedUpload.Id))!.State);
        Assert.Null(await _store.GetCurrentVersionAsync("/gone"));
        Assert.Equal([upload.Id], (await _store.ListOpenUploadsAsync()).Select(u => u.Id));
        Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM schema_version"));
    }

    [Fact]
    public async Task A_database_from_a_newer_build_is_refused()
    {
        await using (var connection = new SqliteConnection($"Data Source={_store.DatabasePath};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = $"UPDATE schema_version SET version = {SqliteMetadataStore.SchemaVersion + 1}";
            await command.ExecuteNonQueryAsync();
        }

        var ex = await Assert.ThrowsAsync<MetadataException>(() => SqliteMetadataStore.OpenAsync(_dir));

        Assert.Equal(MetadataError.SchemaTooNew, ex.Error);
        Assert.Contains($"schema version {SqliteMetadataStore.SchemaVersion + 1}", ex.Message, StringComparison.Ordinal);
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
                await _store.RecordChunkAsync(Chunk(upload.Id, (i * Tasks) + t, crc: (ulong)t));
            }
        })).ToArray();
        start.SetResult();
        await Task.WhenAll(writers);

        var listed = await _store.ListChunksAsync(upload.Id);
        Assert.Equal(Enumerable.Range(0, Tasks * ChunksPerTask).Select(i => (long)i), listed.Select(c => c.Index));
        Assert.All(listed, c => Assert.Equal((ulong)(c.Index % Tasks), c.Crc64));
    }

    private async Task<UploadSession> CreateOpenUploadAsync(string path, DateTimeOffset? expiresAt = null)
    {
        var upload = Upload(path) with { ExpiresAt = expiresAt ?? T0.AddDays(1) };
        await _store.CreateUploadAsync(upload);
        return upload;
    }

    private async Task<IReadOnlyList<string>> ListPathsAsync(string prefix) =>
        [.. (await _store.ListCurrentVersionsAsync(prefix, 1000)).Select(v => v.Path)];

    private async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={_store.DatabasePath};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }

    private static UploadSession Upload(string path) => new(
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

    private static FileVersion Version(string path) => new(
        Guid.NewGuid(),
        path,
        Size: 1234,
        ChunkSize: 4 << 20,
        Digest: "sha256-tree:" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)),
        Sha256: null,
        ObjectKey: Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
        CommittedAt: T0);

    private static ChunkReceipt Chunk(Guid uploadId, long index, ulong crc = 42) => new(
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
    private static void AssertSameChunk(ChunkReceipt expected, ChunkReceipt actual)
    {
        var none = Array.Empty<byte>();
        Assert.Equal(expected.Sha256, actual.Sha256);
        Assert.Equal(expected with { Sha256 = none }, actual with { Sha256 = none });
    }
}
