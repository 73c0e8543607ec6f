using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Npgsql;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Compression;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Protocol;
using TurboMft.Host.Tests.Postgres;
using TurboMft.Host.Tests.Server;

namespace TurboMft.Host.Tests.Cluster;

/// <summary>
/// Two nodes on one PostgreSQL database and one shared directory (<c>--store dir:</c>), no stickiness: the chunks of one
/// upload go to either node, status and completion work from either, two completions at once give one version and the
/// same answer, a chunk sent to both nodes at once is held once, and a session closed on one node is closed on the other.
/// </summary>
public sealed class SharedStoreTests(PostgresServer postgres) : IAsyncLifetime
{
    private const int Chunk = 1 << 20;
    private readonly CancellationToken _cancel = TestContext.Current.CancellationToken;
    private readonly string _shared = Directory.CreateTempSubdirectory("tmf-shared-").FullName;
    private string _connection = null!;
    private ServerFixture _a = null!;
    private ServerFixture _b = null!;
    private HttpClient _onB = null!;

    public async ValueTask InitializeAsync()
    {
        _connection = await postgres.CreateDatabaseAsync("shared");
        _a = await ServerFixture.StartAsync(configure: s => { s.Postgres = _connection; s.Store = "dir:" + _shared; s.Node = "node-a"; });
        // Every node needs the cluster's one master key: B's data directory starts with A's.
        var dataB = Directory.CreateTempSubdirectory("tmf-server-b-").FullName;
        Directory.CreateDirectory(Path.Combine(dataB, "keys"));
        File.Copy(Path.Combine(_a.DataPath, "keys", "master.key"), Path.Combine(dataB, "keys", "master.key"));
        _b = await ServerFixture.StartAsync(dataB, configure: s => { s.Postgres = _connection; s.Store = "dir:" + _shared; s.Node = "node-b"; });
        _onB = ServerFixture.CreateClient(_b.Server.Fingerprint, _a.Token, HttpVersion.Version11);
    }

    public async ValueTask DisposeAsync()
    {
        _onB.Dispose();
        await _b.DisposeAsync();
        await _a.DisposeAsync();
        Directory.Delete(_shared, recursive: true);
    }

    [Fact]
    public async Task Chunks_of_one_upload_sent_to_two_nodes_complete_on_the_other_and_read_back_from_both()
    {
        var data = Mixed((5 * Chunk) + 4321);
        var id = await OpenAsync(_a.Client, _a.Url("/v1/uploads"), "/in/spread.bin", data.Length);
        for (var index = 0; index < 6; index++)
        {
            var (client, node) = index % 2 == 0 ? (_a.Client, _a) : (_onB, _b);
            using var put = await PutChunkAsync(client, node, id, index, data, compress: index % 3 == 0);
            Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync(_cancel));
        }

        using (var status = JsonDocument.Parse(await _onB.GetStringAsync(_b.Url($"/v1/uploads/{id}"), _cancel)))
        {
            Assert.Equal([0L, 1, 2, 3, 4, 5], status.RootElement.GetProperty("received").EnumerateArray().Select(e => e.GetInt64()));
        }

        using var complete = await _onB.PostAsync(_b.Url($"/v1/uploads/{id}/complete"), null, _cancel);
        Assert.Equal(HttpStatusCode.OK, complete.StatusCode);
        using var committed = JsonDocument.Parse(await complete.Content.ReadAsStringAsync(_cancel));
        Assert.Equal(Digest(data).ToString(), committed.RootElement.GetProperty("digest").GetString());

        Assert.Equal(data, await _a.Client.GetByteArrayAsync(_a.Url("/v1/files/in/spread.bin"), _cancel));
        using var ranged = new HttpRequestMessage(HttpMethod.Get, _b.Url("/v1/files/in/spread.bin"));
        ranged.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(Chunk - 7, (3 * Chunk) + 7);
        using var part = await _onB.SendAsync(ranged, _cancel);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal(data.AsSpan(Chunk - 7, (2 * Chunk) + 15).ToArray(), await part.Content.ReadAsByteArrayAsync(_cancel));

        // The container is in the shared store, not in either node's own; no staging is left.
        Assert.True(File.Exists(Path.Combine(_shared, "objects", id.ToString("N")[..2], id.ToString("N")[2..4], id.ToString("N"))));
        Assert.Empty(Directory.GetFiles(Path.Combine(_shared, "staging")));
        Assert.False(Directory.Exists(Path.Combine(_a.DataPath, "store", "objects")) && Directory.EnumerateFileSystemEntries(Path.Combine(_a.DataPath, "store", "objects")).Any());
    }

    [Fact]
    public async Task Two_nodes_completing_one_session_at_once_commit_one_version_and_give_both_the_same_answer()
    {
        var data = Mixed(3 * Chunk);
        var id = await OpenAsync(_a.Client, _a.Url("/v1/uploads"), "/in/race.bin", data.Length);
        for (var index = 0; index < 3; index++)
        {
            using var put = await PutChunkAsync(index == 1 ? _onB : _a.Client, index == 1 ? _b : _a, id, index, data);
            Assert.True(put.IsSuccessStatusCode);
        }

        var fromA = _a.Client.PostAsync(_a.Url($"/v1/uploads/{id}/complete"), null, _cancel);
        var fromB = _onB.PostAsync(_b.Url($"/v1/uploads/{id}/complete"), null, _cancel);
        using var answerA = await fromA;
        using var answerB = await fromB;

        Assert.Equal(HttpStatusCode.OK, answerA.StatusCode);
        Assert.Equal(HttpStatusCode.OK, answerB.StatusCode);
        using var bodyA = JsonDocument.Parse(await answerA.Content.ReadAsStringAsync(_cancel));
        using var bodyB = JsonDocument.Parse(await answerB.Content.ReadAsStringAsync(_cancel));
        Assert.Equal(bodyA.RootElement.GetProperty("versionId").GetString(), bodyB.RootElement.GetProperty("versionId").GetString());
        Assert.Equal(bodyA.RootElement.GetProperty("digest").GetString(), bodyB.RootElement.GetProperty("digest").GetString());
        Assert.Equal(bodyA.RootElement.GetProperty("state").GetString(), bodyB.RootElement.GetProperty("state").GetString());
        Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM versions WHERE path = '/in/race.bin'"));
        Assert.Equal(data, await _onB.GetByteArrayAsync(_b.Url("/v1/files/in/race.bin"), _cancel));
    }

    [Fact]
    public async Task A_chunk_sent_to_both_nodes_at_once_in_two_encodings_is_held_once_and_the_file_reads_back()
    {
        var data = TestText(2 * Chunk);
        var id = await OpenAsync(_a.Client, _a.Url("/v1/uploads"), "/in/twice.bin", data.Length);
        var sends = new List<Task<HttpResponseMessage>>();
        for (var round = 0; round < 4; round++)
        {
            sends.Add(PutChunkAsync(_a.Client, _a, id, 0, data, compress: round % 2 == 0));
            sends.Add(PutChunkAsync(_onB, _b, id, 0, data, compress: round % 2 == 1));
        }

        foreach (var answer in await Task.WhenAll(sends))
        {
            Assert.True(answer.IsSuccessStatusCode, await answer.Content.ReadAsStringAsync(_cancel));
            answer.Dispose();
        }

        using (var last = await PutChunkAsync(_onB, _b, id, 1, data))
        {
            Assert.True(last.IsSuccessStatusCode);
        }

        Assert.Equal(1L, await ScalarAsync($"SELECT count(*) FROM chunks WHERE upload_id = '{id}' AND chunk_index = 0"));
        using var complete = await _a.Client.PostAsync(_a.Url($"/v1/uploads/{id}/complete"), null, _cancel);
        Assert.Equal(HttpStatusCode.OK, complete.StatusCode);
        Assert.Equal(data, await _onB.GetByteArrayAsync(_b.Url("/v1/files/in/twice.bin"), _cancel));
    }

    [Fact]
    public async Task A_session_aborted_through_one_node_refuses_chunks_and_completion_on_the_other()
    {
        var data = Mixed(2 * Chunk);
        var id = await OpenAsync(_a.Client, _a.Url("/v1/uploads"), "/in/aborted.bin", data.Length);
        using (var first = await PutChunkAsync(_onB, _b, id, 0, data))
        {
            Assert.True(first.IsSuccessStatusCode);
        }

        using (var abort = await _a.Client.DeleteAsync(_a.Url($"/v1/uploads/{id}"), _cancel))
        {
            Assert.Equal(HttpStatusCode.NoContent, abort.StatusCode);
        }

        await UploadProtocolTests.AssertProblemAsync(await PutChunkAsync(_onB, _b, id, 1, data), HttpStatusCode.Conflict, "upload-closed");
        await UploadProtocolTests.AssertProblemAsync(await _onB.PostAsync(_b.Url($"/v1/uploads/{id}/complete"), null, _cancel), HttpStatusCode.Conflict, "upload-closed");
        Assert.Empty(Directory.GetFiles(Path.Combine(_shared, "staging")));
        Assert.Equal(0L, await ScalarAsync("SELECT count(*) FROM versions WHERE path = '/in/aborted.bin'"));
    }

    private async Task<Guid> OpenAsync(HttpClient client, Uri uploads, string path, long size)
    {
        using var response = await client.PostAsJsonAsync(uploads, new { path, size, chunkSize = Chunk }, _cancel);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(_cancel));
        return body.RootElement.GetProperty("id").GetGuid();
    }

    private Task<HttpResponseMessage> PutChunkAsync(HttpClient client, ServerFixture node, Guid id, long index, byte[] file, bool compress = false)
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
        content.Headers.Add(ProtocolHeaders.ChunkCrc64, ChunkCrc.Format(ChunkCrc.Compute(plain)));
        if (encoded)
        {
            content.Headers.ContentEncoding.Add(ProtocolHeaders.Lz4BlockCoding);
        }

        return client.PutAsync(node.Url($"/v1/uploads/{id}/chunks/{index}"), content, _cancel);
    }

    private async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_connection);
        await connection.OpenAsync(_cancel);
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(_cancel), System.Globalization.CultureInfo.InvariantCulture);
    }

    // Text (compressible) with a random chunk in the middle: short records with holes after them, and full slots.
    private static byte[] Mixed(int length)
    {
        var data = TestText(length);
        RandomNumberGenerator.Fill(data.AsSpan(Chunk, Math.Min(Chunk, length - Chunk)));
        return data;
    }

    private static byte[] TestText(int length)
    {
        var data = new byte[length];
        var line = "2026-12-08T03:00:00Z,plant1/turbine7/temp,451.25,ok\n"u8;
        for (var i = 0; i < length; i++)
        {
            data[i] = line[i % line.Length];
        }

        return data;
    }

    private static FileDigest Digest(byte[] data)
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
