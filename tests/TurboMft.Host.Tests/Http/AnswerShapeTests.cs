using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Protocol;
using TurboMft.Host.Tests.Harness;

namespace TurboMft.Host.Tests.Http;

/// <summary>
/// A real server's answers read into the records of src/Engine/Protocol and written back byte for byte: the records
/// describe every JSON answer of the upload, file, batch, info and audit endpoints exactly, and the server writes each
/// of them with its record (docs/protocol.md).
/// </summary>
public sealed class AnswerShapeTests : IAsyncLifetime
{
    private const int Chunk = 1 << 20;
    private InMemoryServer _server = null!;

    public async ValueTask InitializeAsync() => _server = await InMemoryServer.StartAsync();

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Every_upload_answer_is_its_record()
    {
        var data = RandomNumberGenerator.GetBytes(Chunk + 5);
        var open = await _server.Client.PostAsync(_server.Url("/v1/uploads"), JsonContent.Create(new OpenUploadRequest("/wire/session.bin", data.Length, Chunk, "fast"), options: ProtocolJson.Options));
        Assert.Equal(HttpStatusCode.Created, open.StatusCode);
        var opened = await ServerJson.AssertRoundTripAsync<UploadStatus>(await open.Content.ReadAsStringAsync());
        Assert.Equal(("/wire/session.bin", 2L, "open"), (opened.Path, opened.ChunkCount, opened.State));

        var chunk = new ByteArrayContent(data, 0, Chunk);
        chunk.Headers.Add(ProtocolHeaders.ChunkCrc64, ChunkCrc.Format(ChunkCrc.Compute(data.AsSpan(0, Chunk))));
        var sent = await _server.Client.PutAsync(_server.Url($"/v1/uploads/{opened.Id}/chunks/0"), chunk);
        Assert.Equal(HttpStatusCode.OK, sent.StatusCode);
        Assert.Equal(0, (await ServerJson.AssertRoundTripAsync<StoredChunk>(await sent.Content.ReadAsStringAsync())).Index);

        var status = await ServerJson.AssertRoundTripAsync<UploadStatus>(await _server.Client.GetStringAsync(_server.Url($"/v1/uploads/{opened.Id}")));
        Assert.Equal(new long[] { 0 }, status.Received);

        var last = new ByteArrayContent(data, Chunk, 5);
        last.Headers.Add(ProtocolHeaders.ChunkCrc64, ChunkCrc.Format(ChunkCrc.Compute(data.AsSpan(Chunk))));
        Assert.Equal(HttpStatusCode.OK, (await _server.Client.PutAsync(_server.Url($"/v1/uploads/{opened.Id}/chunks/1"), last)).StatusCode);
        var complete = await _server.Client.PostAsync(_server.Url($"/v1/uploads/{opened.Id}/complete"), JsonContent.Create(new CompleteUploadRequest(null), options: ProtocolJson.Options));
        Assert.Equal(HttpStatusCode.OK, complete.StatusCode);
        var committed = await ServerJson.AssertRoundTripAsync<CommittedVersion>(await complete.Content.ReadAsStringAsync());
        Assert.Equal(("/wire/session.bin", (long)data.Length, (string?)null), (committed.Path, committed.Size, committed.Sha256));
    }

    [Fact]
    public async Task One_shot_batch_listing_info_and_audit_answers_are_their_records()
    {
        var data = RandomNumberGenerator.GetBytes(100);
        var plain = await PutAsync("/wire/one.bin", data, null, HttpStatusCode.Created);
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(data)), plain.Sha256);

        var origin = new Provenance("site-a", "/origin/one+two.bin", DateTimeOffset.UtcNow, plain.Digest, "wire-1");
        var replica = await PutAsync("/wire/replica.bin", data, origin, HttpStatusCode.Created);
        Assert.Equal(origin.Site, replica.Origin?.Site);
        Assert.Null(replica.Unchanged);
        var again = await PutAsync("/wire/replica.bin", data, origin, HttpStatusCode.OK);
        Assert.True(again.Unchanged);

        var batch = await _server.Client.PostAsync(_server.Url("/v1/batch"), Batch(("/wire/b1.bin", [1, 2, 3]), ("/wire/b2.bin", [])));
        Assert.Equal(HttpStatusCode.OK, batch.StatusCode);
        var files = await ServerJson.AssertRoundTripAsync<CommittedBatch>(await batch.Content.ReadAsStringAsync());
        Assert.Equal(new[] { "/wire/b1.bin", "/wire/b2.bin" }, files.Files.Select(f => f.Path));

        var listed = await ServerJson.AssertRoundTripAsync<FileList>(await _server.Client.GetStringAsync(_server.Url("/v1/files?prefix=/wire")));
        Assert.Equal(new[] { "/wire/b1.bin", "/wire/b2.bin", "/wire/one.bin", "/wire/replica.bin" }, listed.Files.Select(f => f.Path));
        Assert.Equal(origin.Path, listed.Files.Single(f => f.Path == "/wire/replica.bin").Origin?.Path);

        var info = await ServerJson.AssertRoundTripAsync<ServerInfo>(await _server.Client.GetStringAsync(_server.Url("/v1/info")));
        Assert.Equal(_server.Server.Node.Fingerprint, info.NodeCertificate);
        Assert.NotNull(info.Limits.BatchMaxFiles);

        // The audit page is written with strict escaping, as the client writes; its records are the stored bytes.
        var audit = await _server.Client.GetStringAsync(_server.Url("/v1/audit?limit=3"));
        var page = JsonSerializer.Deserialize<AuditPage>(audit, ProtocolJson.Options)!;
        Assert.Equal(audit, JsonSerializer.Serialize(page, ProtocolJson.Options));
        Assert.Equal(3, page.Records.Count);
        Assert.NotNull(page.Next);
    }

    private async Task<CommittedVersion> PutAsync(string path, byte[] data, Provenance? origin, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, _server.Url("/v1/files" + path)) { Content = new ByteArrayContent(data) };
        foreach (var (name, value) in origin?.ToHeaders() ?? [])
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        var response = await _server.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"expected {expected}, got {(int)response.StatusCode}: {text}");
        return await ServerJson.AssertRoundTripAsync<CommittedVersion>(text);
    }

    private static ByteArrayContent Batch(params (string Path, byte[] Data)[] files)
    {
        using var body = new MemoryStream();
        var buffer = new byte[BatchFormat.PreambleSize + BatchFormat.EntryHeaderSize];
        BatchFormat.WritePreamble(buffer);
        body.Write(buffer, 0, BatchFormat.PreambleSize);
        foreach (var (path, data) in files)
        {
            var name = System.Text.Encoding.UTF8.GetBytes(path);
            body.Write(buffer, 0, BatchFormat.WriteEntryHeader(buffer, name.Length, (uint)data.Length, ChunkCrc.Compute(data), []));
            body.Write(name);
            body.Write(data);
        }

        BatchFormat.WriteEnd(buffer);
        body.Write(buffer, 0, BatchFormat.EndSize);
        var content = new ByteArrayContent(body.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue(BatchFormat.MediaType);
        return content;
    }
}
