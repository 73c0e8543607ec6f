using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Protocol;
using TurboMft.Host.Tests.Harness;
using TurboMft.Host.Tests.Server;

namespace TurboMft.Host.Tests.Http;

/// <summary>
/// The optional body of <c>POST /v1/uploads/{id}/complete</c> on the in-memory tier: read up to its limit whatever its
/// framing or content type, refused beyond it without closing the session (docs/protocol.md).
/// </summary>
public sealed class CompleteBodyTests : IAsyncLifetime
{
    private InMemoryServer _server = null!;

    public async ValueTask InitializeAsync() => _server = await InMemoryServer.StartAsync();

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_body_over_the_limit_without_a_length_is_refused_and_the_session_stays_open_for_a_plain_text_digest()
    {
        var data = RandomNumberGenerator.GetBytes(1000);
        var id = await OpenWithOneChunkAsync("/wire/complete.bin", data);
        var digest = TreeDigestBuilder.Compute(new Engine.Chunks.ChunkGeometry(data.Length, 1 << 20), SHA256.HashData(data)).ToString();
        var padded = "{\"digest\": \"" + digest + "\"}" + new string(' ', 16 * 1024);

        using (var request = new HttpRequestMessage(HttpMethod.Post, _server.Url($"/v1/uploads/{id}/complete")))
        {
            request.Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(padded)));
            request.Headers.TransferEncodingChunked = true;
            var refused = await UploadProtocolTests.AssertProblemAsync(await _server.Client.SendAsync(request), HttpStatusCode.BadRequest, "invalid-request");
            Assert.Contains("4096 bytes", refused.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        using (var status = JsonDocument.Parse(await _server.Client.GetStringAsync(_server.Url($"/v1/uploads/{id}"))))
        {
            Assert.Equal("open", status.RootElement.GetProperty("state").GetString());
        }

        var wrong = "{\"digest\": \"sha256-tree:" + new string('0', 64) + "\"}";
        await UploadProtocolTests.AssertProblemAsync(
            await _server.Client.PostAsync(_server.Url($"/v1/uploads/{id}/complete"), new StringContent(wrong, Encoding.UTF8, "text/plain")), HttpStatusCode.UnprocessableEntity, "file-digest-mismatch");
        var right = await _server.Client.PostAsync(_server.Url($"/v1/uploads/{id}/complete"), new StringContent("\uFEFF{\"digest\": \"" + digest + "\"}\n", Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
        Assert.Equal(digest, (await right.Content.ReadFromJsonAsync<CommittedVersion>(ProtocolJson.Options))!.Digest);
    }

    private async Task<Guid> OpenWithOneChunkAsync(string path, byte[] data)
    {
        var open = await _server.Client.PostAsync(_server.Url("/v1/uploads"), JsonContent.Create(new OpenUploadRequest(path, data.Length, 1 << 20, "fast"), options: ProtocolJson.Options));
        Assert.Equal(HttpStatusCode.Created, open.StatusCode);
        var id = (await open.Content.ReadFromJsonAsync<UploadStatus>(ProtocolJson.Options))!.Id;
        var chunk = new ByteArrayContent(data);
        chunk.Headers.Add(ProtocolHeaders.ChunkCrc64, ChunkCrc.Format(ChunkCrc.Compute(data)));
        Assert.Equal(HttpStatusCode.OK, (await _server.Client.PutAsync(_server.Url($"/v1/uploads/{id}/chunks/0"), chunk)).StatusCode);
        return id;
    }
}
