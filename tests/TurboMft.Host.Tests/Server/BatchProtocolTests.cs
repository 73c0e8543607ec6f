using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Protocol;

namespace TurboMft.Host.Tests.Server;

/// <summary><c>POST /v1/batch</c> on a real server: all files committed and verified together, or none.</summary>
public sealed class BatchProtocolTests : IAsyncLifetime
{
    private const int OneShotChunkSize = 1 << 20;
    private readonly string _parent = Directory.CreateTempSubdirectory("tmf-batch-").FullName;
    private ServerFixture _server = null!;

    public async ValueTask InitializeAsync() =>
        _server = await ServerFixture.StartAsync(Path.Combine(_parent, "data"), settings => settings.Uploads.OneShotChunkSize = OneShotChunkSize);

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_parent, recursive: true);
    }

    [Fact]
    public async Task A_batch_commits_every_file_and_each_reads_back_byte_for_byte()
    {
        var files = new (string Path, byte[] Data)[]
        {
            ("/in/empty.bin", []),
            ("/in/a.bin", RandomNumberGenerator.GetBytes(100_000)),
            ("/in/deeper/b c.bin", RandomNumberGenerator.GetBytes(OneShotChunkSize)),
        };
        var response = await PostAsync(Batch(files.Select((f, i) => new Entry(f.Path, f.Data) { WithSha = i == 1 })));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var results = body.RootElement.GetProperty("files");
        Assert.Equal(files.Length, results.GetArrayLength());
        for (var i = 0; i < files.Length; i++)
        {
            var result = results[i];
            Assert.Equal(files[i].Path, result.GetProperty("path").GetString());
            Assert.Equal(files[i].Data.Length, result.GetProperty("size").GetInt64());
            Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(files[i].Data)), result.GetProperty("sha256").GetString());
            Assert.Equal("released", result.GetProperty("state").GetString());
            Assert.Equal(files[i].Data, await _server.Client.GetByteArrayAsync(_server.Url("/v1/files" + files[i].Path.Replace(" ", "%20", StringComparison.Ordinal))));
        }

        Assert.Empty(Directory.GetFiles(Path.Combine(_server.DataPath, "store", "staging")));
    }

    [Fact]
    public async Task A_batch_replaces_the_current_version_of_a_path()
    {
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(Batch([new Entry("/r/x.bin", [1, 2, 3])]))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(Batch([new Entry("/r/x.bin", [4, 5])]))).StatusCode);
        Assert.Equal([4, 5], await _server.Client.GetByteArrayAsync(_server.Url("/v1/files/r/x.bin")));
    }

    [Fact]
    public async Task A_wrong_crc_in_the_last_entry_commits_none_of_the_batch()
    {
        var good = new Entry("/crc/good.bin", RandomNumberGenerator.GetBytes(5000));
        var bad = new Entry("/crc/bad.bin", RandomNumberGenerator.GetBytes(5000)) { Crc = 42 };
        await UploadProtocolTests.AssertProblemAsync(await PostAsync(Batch([good, bad])), HttpStatusCode.UnprocessableEntity, "chunk-crc-mismatch");
        await AssertNothingCommittedAsync("/crc/good.bin");
    }

    [Fact]
    public async Task A_wrong_sha256_commits_nothing()
    {
        var entry = new Entry("/sha/x.bin", RandomNumberGenerator.GetBytes(5000)) { WithSha = true, Sha = new byte[32] };
        await UploadProtocolTests.AssertProblemAsync(await PostAsync(Batch([entry])), HttpStatusCode.UnprocessableEntity, "file-digest-mismatch");
        await AssertNothingCommittedAsync("/sha/x.bin");
    }

    [Fact]
    public async Task A_body_cut_short_commits_nothing()
    {
        var body = Batch([new Entry("/cut/a.bin", RandomNumberGenerator.GetBytes(5000)), new Entry("/cut/b.bin", RandomNumberGenerator.GetBytes(5000))]);
        await UploadProtocolTests.AssertProblemAsync(await PostAsync(body[..^100]), HttpStatusCode.BadRequest, "batch-truncated");
        await UploadProtocolTests.AssertProblemAsync(await PostAsync(body[..^BatchFormat.EndSize]), HttpStatusCode.BadRequest, "batch-truncated");
        await AssertNothingCommittedAsync("/cut/a.bin");
    }

    [Theory]
    [InlineData("/a/../b")]
    [InlineData("relative/x")]
    [InlineData("/a//b")]
    [InlineData("/a/CON")]
    [InlineData("/a/b\nc")]
    public async Task Bad_paths_are_refused(string path)
    {
        var body = Batch([new Entry("/ok/first.bin", [1]), new Entry(path, [2])]);
        await UploadProtocolTests.AssertProblemAsync(await PostAsync(body), HttpStatusCode.BadRequest, "invalid-path");
        await AssertNothingCommittedAsync("/ok/first.bin");
    }

    [Fact]
    public async Task Framing_errors_have_their_own_types()
    {
        await UploadProtocolTests.AssertProblemAsync(await PostAsync(Batch([new Entry("/d/x", [1]), new Entry("/d/x", [2])])), HttpStatusCode.BadRequest, "batch-duplicate-path");
        await UploadProtocolTests.AssertProblemAsync(await PostAsync(Batch([new Entry("/d/big", new byte[OneShotChunkSize + 1])])), HttpStatusCode.BadRequest, "batch-entry-too-large");
        await UploadProtocolTests.AssertProblemAsync(await PostAsync([.. "TMFX"u8, 1, 0, 0, 0, 0, 0]), HttpStatusCode.BadRequest, "batch-malformed");
        await UploadProtocolTests.AssertProblemAsync(await PostAsync([.. Batch([new Entry("/d/y", [1])]), 7]), HttpStatusCode.BadRequest, "batch-malformed");
        await UploadProtocolTests.AssertProblemAsync(await PostAsync(Batch([new Entry("/d/z", [1])]), "application/octet-stream"), HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
        await AssertNothingCommittedAsync("/d/x");
        await AssertNothingCommittedAsync("/d/y");
    }

    [Fact]
    public async Task An_entry_outside_the_callers_write_areas_is_403_and_nothing_is_committed()
    {
        using (var user = await _server.Client.PostAsJsonAsync(_server.Url("/v1/admin/users"), new { name = "ulla", roles = new[] { new { role = "uploader", area = "/it" } } }))
        {
            Assert.True(user.IsSuccessStatusCode, await user.Content.ReadAsStringAsync());
        }

        var issued = await _server.Client.PostAsJsonAsync(_server.Url("/v1/admin/tokens"), new { user = "ulla" });
        var token = (await issued.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString();
        using var ulla = ServerFixture.CreateClient(_server.Server.Fingerprint, token, HttpVersion.Version11);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(Batch([new Entry("/it/mine.bin", [1])]), client: ulla)).StatusCode);
        await UploadProtocolTests.AssertProblemAsync(
            await PostAsync(Batch([new Entry("/it/also.bin", [1]), new Entry("/ot/plc.bin", [2])]), client: ulla), HttpStatusCode.Forbidden, "forbidden");
        await AssertNothingCommittedAsync("/it/also.bin");
        await AssertNothingCommittedAsync("/ot/plc.bin");
    }

    private async Task AssertNothingCommittedAsync(string path)
    {
        Assert.Equal(HttpStatusCode.NotFound, (await _server.Client.GetAsync(_server.Url("/v1/files" + path))).StatusCode);
        Assert.Empty(Directory.GetFiles(Path.Combine(_server.DataPath, "store", "staging")));
    }

    private async Task<HttpResponseMessage> PostAsync(byte[] body, string mediaType = BatchFormat.MediaType, HttpClient? client = null)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        return await (client ?? _server.Client).PostAsync(_server.Url("/v1/batch"), content);
    }

    /// <summary>A batch body written independently of the client's writer, from the layout in docs/protocol.md.</summary>
    private static byte[] Batch(IEnumerable<Entry> entries)
    {
        using var body = new MemoryStream();
        body.Write("TMFB"u8);
        body.Write([1, 0, 0, 0]);
        foreach (var entry in entries)
        {
            var path = Encoding.UTF8.GetBytes(entry.Path);
            var header = new byte[16];
            BitConverter.TryWriteBytes(header.AsSpan(0, 2), (ushort)path.Length);
            header[2] = entry.WithSha ? (byte)1 : (byte)0;
            BitConverter.TryWriteBytes(header.AsSpan(4, 4), (uint)entry.Data.Length);
            BitConverter.TryWriteBytes(header.AsSpan(8, 8), entry.Crc ?? ChunkCrc.Compute(entry.Data));
            body.Write(header);
            if (entry.WithSha)
            {
                body.Write(entry.Sha ?? SHA256.HashData(entry.Data));
            }

            body.Write(path);
            body.Write(entry.Data);
        }

        body.Write([0, 0]);
        return body.ToArray();
    }

    private sealed record Entry(string Path, byte[] Data)
    {
        public bool WithSha { get; init; }

        public ulong? Crc { get; init; }

        public byte[]? Sha { get; init; }
    }
}
