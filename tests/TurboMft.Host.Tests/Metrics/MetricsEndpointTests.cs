using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Client;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Protocol;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Scanning;
using TurboMft.Host.Tests.Release;
using TurboMft.Host.Tests.Server;

namespace TurboMft.Host.Tests.Metrics;

/// <summary>
/// <c>GET /metrics</c> on a real server: transfers over the real protocol show up with their exact byte and chunk counts,
/// the text passes Prometheus's own parser, and only a credential with <c>metrics</c> on "/" reads it.
/// </summary>
public sealed class MetricsEndpointTests : IAsyncLifetime
{
    private const int Chunk = 1 << 20;

    private readonly TestScannerChain _chain = new();
    private ServerFixture _server = null!;
    private HttpClient _monitor = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await ServerFixture.StartAsync(
            configure: settings =>
            {
                settings.Content.ScanSweepSeconds = 0.2;
                settings.Content.ScanRetrySeconds = 0.2;
                settings.Content.ScanRetryMaxSeconds = 0.5;
            },
            services: services => services.AddSingleton<IScannerChain>(_chain));
        _monitor = await MetricsScrape.ClientWithRoleAsync(_server, "prometheus", "monitor");
    }

    public async ValueTask DisposeAsync()
    {
        _monitor.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task A_file_pushed_and_pulled_with_the_client_is_counted_by_direction_outcome_and_chunk()
    {
        var root = Directory.CreateTempSubdirectory("tmf-metrics-").FullName;
        try
        {
            var source = Path.Combine(root, "export.bin");
            var size = (3 * Chunk) + 12345;
            await File.WriteAllBytesAsync(source, RandomNumberGenerator.GetBytes(size), TestContext.Current.CancellationToken);
            using var client = new TurboMftClient(new TurboMftClientOptions
            {
                BaseAddress = _server.Address,
                Token = _server.Token,
                PinSha256 = _server.Server.Fingerprint,
                ChunkSize = Chunk,
                Connections = 4,
                ResumeDirectory = Path.Combine(root, "resume"),
            });

            var pushed = await client.UploadFileAsync(source, "/ot/plant1/export.bin", null, TestContext.Current.CancellationToken);
            await client.DownloadFileAsync("/ot/plant1/export.bin", Path.Combine(root, "back.bin"), null, TestContext.Current.CancellationToken);
            var scrape = await MetricsScrape.TakeAsync(_monitor, _server);

            Assert.Equal(4, pushed.Chunks);
            Assert.Equal("text/plain; version=0.0.4; charset=utf-8", scrape.ContentType);
            Assert.Equal(1, scrape.Value("turbomft_transfers_total", ("direction", "upload"), ("outcome", "committed")));
            Assert.Equal(size, scrape.Value("turbomft_transfer_bytes_total", ("direction", "upload"), ("outcome", "committed")));
            Assert.Equal(0, scrape.Value("turbomft_transfers_total", ("direction", "upload"), ("outcome", "failed")));
            Assert.Equal(4, scrape.Value("turbomft_chunk_duration_seconds_count", ("direction", "upload")));
            Assert.Equal(4, scrape.Value("turbomft_chunk_duration_seconds_bucket", ("direction", "upload"), ("le", "+Inf")));

            // The client fetches a file as one ranged GET per chunk: four downloads adding up to the file.
            Assert.Equal(4, scrape.Value("turbomft_transfers_total", ("direction", "download"), ("outcome", "completed")));
            Assert.Equal(size, scrape.Value("turbomft_transfer_bytes_total", ("direction", "download"), ("outcome", "completed")));
            Assert.Equal(4, scrape.Value("turbomft_chunk_duration_seconds_count", ("direction", "download")));

            Assert.Equal(0, scrape.Value("turbomft_upload_sessions_active"));
            Assert.Equal(0, scrape.Value("turbomft_bytes_in_flight", ("direction", "upload")));
            Assert.Equal(0, scrape.Value("turbomft_bytes_in_flight", ("direction", "download")));
            Assert.Equal(0, scrape.Value("turbomft_buffer_pool_rented_bytes", ("chunk_size", "1048576")));
            var pool = _server.Server.Services.GetRequiredService<ServerBuffers>().For(Chunk);
            Assert.Equal((double)pool.MaxInFlight * pool.BufferSize, scrape.Value("turbomft_buffer_pool_budget_bytes", ("chunk_size", "1048576")));
            Assert.True(scrape.Value("turbomft_buffer_pool_allocated_bytes", ("chunk_size", "1048576")) > 0);

            Assert.Equal(1, scrape.Value("turbomft_scans_total", ("verdict", "clean")));
            Assert.Equal(1, scrape.Value("turbomft_scan_duration_seconds_count"));
            Assert.Equal(0, scrape.Value("turbomft_scan_queue_length"));
            Assert.Equal(1, scrape.Value("turbomft_scanner_available"));
            Assert.True(scrape.Value("turbomft_audit_records_total") >= 4, "server.start, upload.open, file.upload, file.download at least");

            Assert.Equal(1, scrape.Value("turbomft_build_info", ("version", ProductInfo.Version)));
            Assert.Equal(ProductInfo.QuicAvailable ? 1 : 0, scrape.Value("turbomft_http3_enabled"));
            Assert.True(scrape.Value("process_cpu_seconds_total") > 0);
            Assert.True(scrape.Value("process_working_set_bytes") > 0);
            Assert.True(scrape.Value("process_num_threads") > 0);
            Assert.True(scrape.Value("dotnet_gc_allocated_bytes_total") > 0);
            scrape.Value("dotnet_collection_count_total", ("generation", "0"));
            await scrape.AssertPromtoolAcceptsAsync();
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task Aborts_refused_chunks_quarantines_held_versions_and_refused_downloads_are_counted()
    {
        var data = RandomNumberGenerator.GetBytes((2 * Chunk) + 10);
        var id = await CreateSessionAsync("/in/aborted.bin", data.Length);
        Assert.Equal(HttpStatusCode.OK, (await PutChunkAsync(id, 0, data)).StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await PutChunkAsync(id, 1, data, crc: 1)).StatusCode);
        Assert.Equal(1, (await MetricsScrape.TakeAsync(_monitor, _server)).Value("turbomft_upload_sessions_active"));
        Assert.Equal(HttpStatusCode.NoContent, (await _server.Client.DeleteAsync(_server.Url($"/v1/uploads/{id}"))).StatusCode);

        var infected = ReleaseTestServer.Infected();
        Assert.Equal(HttpStatusCode.Created, (await _server.Client.PutAsync(_server.Url("/v1/files/in/eicar.txt"), new ByteArrayContent(infected))).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await _server.Client.GetAsync(_server.Url("/v1/files/in/eicar.txt"))).StatusCode);
        _chain.Down = true;
        Assert.Equal(HttpStatusCode.Created, (await _server.Client.PutAsync(_server.Url("/v1/files/in/held.csv"), new ByteArrayContent(ReleaseTestServer.Csv()))).StatusCode);
        var scrape = await MetricsScrape.TakeAsync(_monitor, _server);

        Assert.Equal(1, scrape.Value("turbomft_transfers_total", ("direction", "upload"), ("outcome", "aborted")));
        Assert.Equal(Chunk, scrape.Value("turbomft_transfer_bytes_total", ("direction", "upload"), ("outcome", "aborted")));
        Assert.Equal(1, scrape.Value("turbomft_verification_failures_total", ("check", "chunk-crc")));
        Assert.Equal(0, scrape.Value("turbomft_verification_failures_total", ("check", "chunk-digest")));
        Assert.Equal(3, scrape.Value("turbomft_chunk_duration_seconds_count", ("direction", "upload"))); // the session's stored chunk and one per one-shot file
        Assert.Equal(0, scrape.Value("turbomft_upload_sessions_active"));
        Assert.Equal(2, scrape.Value("turbomft_transfers_total", ("direction", "upload"), ("outcome", "committed")));
        Assert.Equal(infected.Length + ReleaseTestServer.Csv().Length, scrape.Value("turbomft_transfer_bytes_total", ("direction", "upload"), ("outcome", "committed")));
        Assert.Equal(1, scrape.Value("turbomft_transfers_total", ("direction", "download"), ("outcome", "rejected")));
        Assert.Equal(1, scrape.Value("turbomft_scans_total", ("verdict", "infected")));
        Assert.Equal(1, scrape.Value("turbomft_files_quarantined_total"));
        Assert.True(scrape.Value("turbomft_scans_total", ("verdict", "error")) >= 1);
        Assert.Equal(1, scrape.Value("turbomft_scans_held"));
        Assert.Equal(0, scrape.Value("turbomft_scanner_available"));

        _chain.Down = false;
        await ReleaseTestServer.WaitUntilAsync(
            async () => (await MetricsScrape.TakeAsync(_monitor, _server)).Value("turbomft_scanner_available") == 1, "the scanner answers again");
        Assert.Equal(1, (await MetricsScrape.TakeAsync(_monitor, _server)).Value("turbomft_scans_total", ("verdict", "clean")));
    }

    [Fact]
    public async Task Without_a_credential_metrics_are_401_and_the_failure_is_counted_and_openmetrics_is_served_on_request()
    {
        using var anonymous = ServerFixture.CreateClient(_server.Server.Fingerprint, null, HttpVersion.Version11);
        using var forged = ServerFixture.CreateClient(_server.Server.Fingerprint, "tmf_" + new string('A', 43), HttpVersion.Version11);

        var unauthenticated = await anonymous.GetAsync(_server.Url("/metrics"));
        var unknown = await forged.GetAsync(_server.Url("/metrics"));
        using var request = new HttpRequestMessage(HttpMethod.Get, _server.Url("/metrics"));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/openmetrics-text"));
        using var open = await _monitor.SendAsync(request);
        var scrape = await MetricsScrape.TakeAsync(_monitor, _server);

        await UploadProtocolTests.AssertProblemAsync(unauthenticated, HttpStatusCode.Unauthorized, "unauthorized");
        await UploadProtocolTests.AssertProblemAsync(unknown, HttpStatusCode.Unauthorized, "unauthorized");
        Assert.Equal(1, scrape.Value("turbomft_auth_failures_total", ("credential", "none")));
        Assert.Equal(1, scrape.Value("turbomft_auth_failures_total", ("credential", "token")));
        Assert.Equal(0, scrape.Value("turbomft_auth_failures_total", ("credential", "password")));
        Assert.Equal(HttpStatusCode.OK, open.StatusCode);
        Assert.StartsWith("application/openmetrics-text; version=1.0.0", open.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        Assert.EndsWith("# EOF\n", await open.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_servers_in_one_process_count_only_their_own_transfers()
    {
        await using var other = await ServerFixture.StartAsync();
        using var otherMonitor = await MetricsScrape.ClientWithRoleAsync(other, "prometheus", "monitor");
        var bytes = RandomNumberGenerator.GetBytes(5000);

        Assert.Equal(HttpStatusCode.Created, (await other.Client.PutAsync(other.Url("/v1/files/a/one.bin"), new ByteArrayContent(bytes))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await other.Client.PutAsync(other.Url("/v1/files/a/two.bin"), new ByteArrayContent(bytes))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await _server.Client.PutAsync(_server.Url("/v1/files/b/one.bin"), new ByteArrayContent(bytes[..100]))).StatusCode);
        var mine = await MetricsScrape.TakeAsync(_monitor, _server);
        var theirs = await MetricsScrape.TakeAsync(otherMonitor, other);

        Assert.Equal(1, mine.Value("turbomft_transfers_total", ("direction", "upload"), ("outcome", "committed")));
        Assert.Equal(100, mine.Value("turbomft_transfer_bytes_total", ("direction", "upload"), ("outcome", "committed")));
        Assert.Equal(2, theirs.Value("turbomft_transfers_total", ("direction", "upload"), ("outcome", "committed")));
        Assert.Equal(10000, theirs.Value("turbomft_transfer_bytes_total", ("direction", "upload"), ("outcome", "committed")));
    }

    private async Task<Guid> CreateSessionAsync(string path, long size)
    {
        using var response = await _server.Client.PostAsJsonAsync(_server.Url("/v1/uploads"), new { path, size, chunkSize = Chunk });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    private async Task<HttpResponseMessage> PutChunkAsync(Guid id, long index, byte[] file, ulong crc = 0)
    {
        var geometry = new ChunkGeometry(file.Length, Chunk);
        var plain = file.AsSpan((int)geometry.OffsetOf(index), geometry.LengthOf(index)).ToArray();
        var content = new ByteArrayContent(plain);
        content.Headers.Add(ProtocolHeaders.ChunkCrc64, ChunkCrc.Format(ChunkCrc.Compute(plain) ^ crc));
        return await _server.Client.PutAsync(_server.Url($"/v1/uploads/{id}/chunks/{index}"), content);
    }
}
