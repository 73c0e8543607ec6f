using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Compression;
using TurboMft.Engine.Datasets;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Protocol;

namespace TurboMft.Host.Tests.Server;

public class UploadProtocolTests : IAsyncLifetime
{
    private const int Chunk = 1 << 20;
    private ServerFixture _server = null!;

    public async ValueTask InitializeAsync() => _server = await ServerFixture.StartAsync();

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Session_upload_with_raw_and_lz4_chunks_commits_and_downloads_exactly()
    {
        var data = new byte[(3 * Chunk) + 777];
        DatasetGenerator.Fill(DatasetKind.HistorianCsv, 3, 0, data.AsSpan(0, 2 * Chunk));
        DatasetGenerator.Fill(DatasetKind.Random, 3, 0, data.AsSpan(2 * Chunk));
        var digest = TreeOf(data);
        var id = await CreateAsync("/ot/plant1/historian.csv", data.Length, digest: digest.ToString());

        Assert.Equal(HttpStatusCode.OK, (await PutChunkAsync(id, 1, data, compress: true)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PutChunkAsync(id, 3, data)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PutChunkAsync(id, 0, data, compress: true)).StatusCode);
        using (var status = JsonDocument.Parse(await _server.Client.GetStringAsync(_server.Url($"/v1/uploads/{id}"))))
        {
            Assert.Equal([0, 1, 3], status.RootElement.GetProperty("received").EnumerateArray().Select(e => e.GetInt64()).ToArray());
        }

        Assert.Equal(HttpStatusCode.OK, (await PutChunkAsync(id, 2, data)).StatusCode);
        var complete = await _server.Client.PostAsJsonAsync(_server.Url($"/v1/uploads/{id}/complete"), new { digest = digest.ToString() });
        Assert.Equal(HttpStatusCode.OK, complete.StatusCode);
        using var committed = JsonDocument.Parse(await complete.Content.ReadAsStringAsync());
        Assert.Equal(digest.ToString(), committed.RootElement.GetProperty("digest").GetString());

        var download = await _server.Client.GetAsync(_server.Url("/v1/files/ot/plant1/historian.csv"));
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal(data, await download.Content.ReadAsByteArrayAsync());
        Assert.Equal(digest.ToString(), download.Headers.GetValues(ProtocolHeaders.Digest).Single());
        Assert.Equal("nosniff", download.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("attachment", download.Content.Headers.ContentDisposition?.DispositionType);

        using var ranged = new HttpRequestMessage(HttpMethod.Get, _server.Url("/v1/files/ot/plant1/historian.csv"));
        ranged.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(Chunk - 10, (2 * Chunk) + 9);
        var part = await _server.Client.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal(data.AsSpan(Chunk - 10, Chunk + 20).ToArray(), await part.Content.ReadAsByteArrayAsync());
        Assert.False(part.Headers.Contains(ProtocolHeaders.ChunkCrc64), "a range that is not one whole chunk carries no chunk CRC");
        Assert.False(part.Headers.Contains(ProtocolHeaders.ContentDigest) || part.Content.Headers.Contains(ProtocolHeaders.ContentDigest));
        Assert.False(download.Headers.Contains(ProtocolHeaders.ChunkCrc64), "neither does the whole four-chunk file");

        // A whole chunk (LZ4-stored, raw, and the short last one) carries the CRC-64 and SHA-256 stored at upload.
        foreach (var index in new[] { 0, 2, 3 })
        {
            var offset = index * Chunk;
            var length = Math.Min(Chunk, data.Length - offset);
            using var whole = new HttpRequestMessage(HttpMethod.Get, _server.Url("/v1/files/ot/plant1/historian.csv"));
            whole.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(offset, offset + length - 1);
            var chunk = await _server.Client.SendAsync(whole);
            Assert.Equal(HttpStatusCode.PartialContent, chunk.StatusCode);
            var body = await chunk.Content.ReadAsByteArrayAsync();
            Assert.Equal(data.AsSpan(offset, length).ToArray(), body);
            Assert.Equal(ChunkCrc.Format(ChunkCrc.Compute(body)), chunk.Headers.GetValues(ProtocolHeaders.ChunkCrc64).Single());
            var contentDigest = chunk.Headers.TryGetValues(ProtocolHeaders.ContentDigest, out var values) ? values.Single() : chunk.Content.Headers.GetValues(ProtocolHeaders.ContentDigest).Single();
            Assert.Equal($"sha-256=:{Convert.ToBase64String(SHA256.HashData(body))}:", contentDigest);
        }
    }

    [Fact]
    public async Task Wrong_crc_is_refused_and_the_chunk_is_not_held()
    {
        var data = RandomNumberGenerator.GetBytes(2 * Chunk);
        var id = await CreateAsync("/a/b.bin", data.Length);
        var response = await PutChunkAsync(id, 0, data, crcOverride: ChunkCrc.Compute(data.AsSpan(0, Chunk)) ^ 1);
        await AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity, "chunk-crc-mismatch");
        using var status = JsonDocument.Parse(await _server.Client.GetStringAsync(_server.Url($"/v1/uploads/{id}")));
        Assert.Equal(0, status.RootElement.GetProperty("received").GetArrayLength());
    }

    [Fact]
    public async Task Index_out_of_range_too_large_body_and_missing_crc_are_specific_errors()
    {
        var data = RandomNumberGenerator.GetBytes((2 * Chunk) + 5);
        var id = await CreateAsync("/a/c.bin", data.Length);
        await AssertProblemAsync(await PutChunkAsync(id, 3, data.Concat(new byte[2 * Chunk]).ToArray()), HttpStatusCode.BadRequest, "chunk-index-out-of-range");

        using var tooLarge = new ByteArrayContent(new byte[Chunk + 1]);
        tooLarge.Headers.Add(ProtocolHeaders.ChunkCrc64, ChunkCrc.Format(0));
        await AssertProblemAsync(await _server.Client.PutAsync(_server.Url($"/v1/uploads/{id}/chunks/0"), tooLarge), HttpStatusCode.BadRequest, "chunk-too-large");

        using var noCrc = new ByteArrayContent(data.AsSpan(0, Chunk).ToArray());
        await AssertProblemAsync(await _server.Client.PutAsync(_server.Url($"/v1/uploads/{id}/chunks/0"), noCrc), HttpStatusCode.BadRequest, "missing-crc");
    }

    [Fact]
    public async Task Complete_with_missing_chunks_lists_them_and_digest_mismatch_commits_nothing()
    {
        var data = RandomNumberGenerator.GetBytes(3 * Chunk);
        var id = await CreateAsync("/x/y.bin", data.Length);
        await PutChunkAsync(id, 1, data);
        var missing = await _server.Client.PostAsync(_server.Url($"/v1/uploads/{id}/complete"), null);
        var problem = await AssertProblemAsync(missing, HttpStatusCode.Conflict, "chunks-missing");
        Assert.Equal([0, 2], problem.GetProperty("missing").EnumerateArray().Select(e => e.GetInt64()).ToArray());

        await PutChunkAsync(id, 0, data);
        await PutChunkAsync(id, 2, data);
        var wrong = TreeOf(RandomNumberGenerator.GetBytes(10));
        await AssertProblemAsync(await _server.Client.PostAsJsonAsync(_server.Url($"/v1/uploads/{id}/complete"), new { digest = wrong.ToString() }), HttpStatusCode.UnprocessableEntity, "file-digest-mismatch");
        Assert.Equal(HttpStatusCode.NotFound, (await _server.Client.GetAsync(_server.Url("/v1/files/x/y.bin"))).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await _server.Client.DeleteAsync(_server.Url($"/v1/uploads/{id}"))).StatusCode);
        Assert.Empty(Directory.GetFiles(Path.Combine(_server.DataPath, "store", "staging")));
        await AssertProblemAsync(await PutChunkAsync(id, 0, data), HttpStatusCode.Conflict, "upload-closed");
        await AssertProblemAsync(await _server.Client.GetAsync(_server.Url($"/v1/uploads/{Guid.NewGuid()}")), HttpStatusCode.NotFound, "upload-not-found");
    }

    [Fact]
    public async Task Complete_with_a_declared_body_over_its_limit_is_refused_before_the_body_is_sent_and_the_session_stays_open()
    {
        var data = RandomNumberGenerator.GetBytes(Chunk);
        var id = await CreateAsync("/x/big-complete.bin", data.Length);
        await PutChunkAsync(id, 0, data);

        // Kestrel answers from the headers alone: with Expect: 100-continue the client never sends the megabyte.
        using var sized = new ByteArrayContent(new byte[1 << 20]);
        using (var request = new HttpRequestMessage(HttpMethod.Post, _server.Url($"/v1/uploads/{id}/complete")) { Content = sized })
        {
            request.Headers.ExpectContinue = true;
            var refused = await AssertProblemAsync(await _server.Client.SendAsync(request), HttpStatusCode.BadRequest, "invalid-request");
            Assert.Contains("4096 bytes", refused.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        using (var status = JsonDocument.Parse(await _server.Client.GetStringAsync(_server.Url($"/v1/uploads/{id}"))))
        {
            Assert.Equal("open", status.RootElement.GetProperty("state").GetString());
        }

        Assert.Equal(HttpStatusCode.OK, (await _server.Client.PostAsJsonAsync(_server.Url($"/v1/uploads/{id}/complete"), new { digest = TreeOf(data).ToString() })).StatusCode);
    }

    [Fact]
    public async Task Sha256_mode_requires_and_checks_repr_digest()
    {
        var data = RandomNumberGenerator.GetBytes(Chunk);
        var id = await CreateAsync("/s/one.bin", data.Length, verify: "sha256");
        await AssertProblemAsync(await PutChunkAsync(id, 0, data), HttpStatusCode.BadRequest, "digest-required");
        await AssertProblemAsync(await PutChunkAsync(id, 0, data, reprDigest: SHA256.HashData(data.AsSpan(1))), HttpStatusCode.UnprocessableEntity, "chunk-digest-mismatch");
        Assert.Equal(HttpStatusCode.OK, (await PutChunkAsync(id, 0, data, reprDigest: SHA256.HashData(data))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _server.Client.PostAsync(_server.Url($"/v1/uploads/{id}/complete"), null)).StatusCode);
    }

    [Fact]
    public async Task Session_survives_a_server_restart_and_resumes_from_the_chunks_held()
    {
        var data = new byte[4 * Chunk];
        DatasetGenerator.Fill(DatasetKind.ImagingFrames, 5, 0, data);
        var id = await CreateAsync("/img/frame.raw", data.Length);
        await PutChunkAsync(id, 0, data);
        await PutChunkAsync(id, 2, data, compress: true);

        await _server.RestartAsync();

        using (var status = JsonDocument.Parse(await _server.Client.GetStringAsync(_server.Url($"/v1/uploads/{id}"))))
        {
            Assert.Equal([0, 2], status.RootElement.GetProperty("received").EnumerateArray().Select(e => e.GetInt64()).ToArray());
        }

        await PutChunkAsync(id, 1, data);
        await PutChunkAsync(id, 3, data);
        var complete = await _server.Client.PostAsJsonAsync(_server.Url($"/v1/uploads/{id}/complete"), new { digest = TreeOf(data).ToString() });
        Assert.Equal(HttpStatusCode.OK, complete.StatusCode);
        Assert.Equal(data, await _server.Client.GetByteArrayAsync(_server.Url("/v1/files/img/frame.raw")));
    }

    [Fact]
    public async Task A_commit_cut_off_between_rename_and_metadata_is_finished_after_restart()
    {
        var data = RandomNumberGenerator.GetBytes(2 * Chunk);
        var id = await CreateAsync("/c/cut.bin", data.Length);
        await PutChunkAsync(id, 0, data);
        await PutChunkAsync(id, 1, data);

        // While stopped, do what complete does up to (not including) the metadata commit: trailer, fsync, rename.
        await _server.RestartAsync(dataPath =>
        {
            using var keys = TurboMft.Engine.Crypto.KeyRing.LoadKeyFile(Path.Combine(dataPath, "keys", "master.key"));
            var store = new TurboMft.Engine.Storage.LocalObjectStore(Path.Combine(dataPath, "store"));
            var staging = store.GetStagingPath(id);
            TurboMft.Engine.Container.DataKeyResolver resolve = (fileId, wrapped) => keys.Unwrap(TurboMft.Engine.Crypto.WrappedKey.Read(wrapped), fileId);
            var recovered = TurboMft.Engine.Container.ContainerRecovery.Scan(staging, resolve);
            using (var key = resolve(recovered.Header.FileId, recovered.Header.WrappedKey))
            using (var writer = TurboMft.Engine.Container.ContainerWriter.Resume(staging, key, recovered))
            {
                writer.Complete(data.Length);
            }

            store.Commit(id, id.ToString("N"));
        });

        using (var status = JsonDocument.Parse(await _server.Client.GetStringAsync(_server.Url($"/v1/uploads/{id}"))))
        {
            Assert.Equal("completed", status.RootElement.GetProperty("state").GetString());
        }

        Assert.Equal(data, await _server.Client.GetByteArrayAsync(_server.Url("/v1/files/c/cut.bin")));
    }

    [Fact]
    public async Task Arriving_chunks_push_the_expiry_forward()
    {
        var data = RandomNumberGenerator.GetBytes(Chunk);
        var id = await CreateAsync("/e/alive.bin", data.Length);
        DateTimeOffset ExpiresAt(string json)
        {
            using var status = JsonDocument.Parse(json);
            return status.RootElement.GetProperty("expiresAt").GetDateTimeOffset();
        }

        var opened = ExpiresAt(await _server.Client.GetStringAsync(_server.Url($"/v1/uploads/{id}")));
        await Task.Delay(50);
        Assert.Equal(HttpStatusCode.OK, (await PutChunkAsync(id, 0, data)).StatusCode);
        var registry = (TurboMft.Host.Ingest.UploadRegistry)_server.Server.Services.GetService(typeof(TurboMft.Host.Ingest.UploadRegistry))!;
        Assert.Equal(0, await registry.ExpireAsync(opened.AddMilliseconds(1), CancellationToken.None));
        Assert.True(ExpiresAt(await _server.Client.GetStringAsync(_server.Url($"/v1/uploads/{id}"))) > opened);
        Assert.Equal(HttpStatusCode.OK, (await _server.Client.PostAsync(_server.Url($"/v1/uploads/{id}/complete"), null)).StatusCode);
    }

    [Fact]
    public async Task Expired_sessions_are_aborted_and_their_staging_removed()
    {
        var id = await CreateAsync("/e/x.bin", 10);
        Assert.Single(Directory.GetFiles(Path.Combine(_server.DataPath, "store", "staging")));
        var registry = (TurboMft.Host.Ingest.UploadRegistry)_server.Server.Services.GetService(typeof(TurboMft.Host.Ingest.UploadRegistry))!;
        Assert.Equal(1, await registry.ExpireAsync(DateTimeOffset.UtcNow.AddDays(2), CancellationToken.None));
        Assert.Empty(Directory.GetFiles(Path.Combine(_server.DataPath, "store", "staging")));
        await AssertProblemAsync(await _server.Client.PostAsync(_server.Url($"/v1/uploads/{id}/complete"), null), HttpStatusCode.Conflict, "upload-closed");
    }

    [Fact]
    public async Task Staging_files_no_session_owns_are_removed_once_idle_and_open_sessions_keep_theirs()
    {
        var open = await CreateAsync("/e/open.bin", 10);
        var staging = Path.Combine(_server.DataPath, "store", "staging");
        var orphan = Path.Combine(staging, Guid.CreateVersion7().ToString("N") + ".part");
        await File.WriteAllBytesAsync(orphan, [1, 2, 3], TestContext.Current.CancellationToken);
        var registry = (TurboMft.Host.Ingest.UploadRegistry)_server.Server.Services.GetService(typeof(TurboMft.Host.Ingest.UploadRegistry))!;

        // Fresh: a one-shot or batch upload may still be writing it.
        Assert.Equal(0, await registry.RemoveOrphanedStagingAsync(DateTimeOffset.UtcNow, TimeSpan.FromHours(1), CancellationToken.None));
        Assert.True(File.Exists(orphan));

        Assert.Equal(1, await registry.RemoveOrphanedStagingAsync(DateTimeOffset.UtcNow.AddHours(2), TimeSpan.FromHours(1), CancellationToken.None));
        Assert.False(File.Exists(orphan));
        Assert.Single(Directory.GetFiles(staging));
        Assert.Equal(HttpStatusCode.OK, (await PutChunkAsync(open, 0, new byte[10])).StatusCode);
    }

    private async Task<Guid> CreateAsync(string path, long size, string verify = "fast", string? digest = null)
    {
        var response = await _server.Client.PostAsJsonAsync(_server.Url("/v1/uploads"), new { path, size, chunkSize = Chunk, verify, digest });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("id").GetGuid();
    }

    private async Task<HttpResponseMessage> PutChunkAsync(Guid id, long index, byte[] file, bool compress = false, ulong? crcOverride = null, byte[]? reprDigest = null)
    {
        var geometry = new ChunkGeometry(file.Length, Chunk);
        var plain = file.AsSpan((int)geometry.OffsetOf(index), geometry.LengthOf(index)).ToArray();
        var body = plain;
        var encoded = false;
        if (compress)
        {
            var target = new byte[ChunkCompressor.MaxEncodedLength(plain.Length)];
            if (ChunkCompressor.Adaptive.Compress(plain, target, out var written) == ChunkEncoding.Lz4)
            {
                body = target.AsSpan(0, written).ToArray();
                encoded = true;
            }
        }

        var content = new ByteArrayContent(body);
        content.Headers.Add(ProtocolHeaders.ChunkCrc64, ChunkCrc.Format(crcOverride ?? ChunkCrc.Compute(plain)));
        if (encoded)
        {
            content.Headers.ContentEncoding.Add(ProtocolHeaders.Lz4BlockCoding);
        }

        if (reprDigest is not null)
        {
            content.Headers.Add(ProtocolHeaders.ReprDigest, DigestFields.FormatSha256(reprDigest));
        }

        return await _server.Client.PutAsync(_server.Url($"/v1/uploads/{id}/chunks/{index}"), content);
    }

    internal static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string type)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(text);
        Assert.Equal("urn:turbomft:problem:" + type, problem.RootElement.GetProperty("type").GetString());
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
        return problem.RootElement.Clone();
    }

    private static FileDigest TreeOf(byte[] data)
    {
        var geometry = new ChunkGeometry(data.Length, Chunk);
        var tree = new TreeDigestBuilder(geometry);
        for (long i = 0; i < geometry.ChunkCount; i++)
        {
            tree.AddChunk(i, data.AsSpan((int)geometry.OffsetOf(i), geometry.LengthOf(i)));
        }

        return tree.Finish();
    }
}
