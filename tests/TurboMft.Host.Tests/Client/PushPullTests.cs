using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using TurboMft.Engine.Client;
using TurboMft.Engine.Datasets;
using TurboMft.Engine.Integrity;
using TurboMft.Host.Tests.Server;

namespace TurboMft.Host.Tests.Client;

/// <summary>End-to-end transfers against the real server on loopback (docs/protocol.md).</summary>
public sealed class PushPullTests
{
    private const int ChunkSize = 1 << 20;

    [Fact]
    public async Task A_20_MiB_random_file_pushed_and_pulled_back_is_byte_identical_with_equal_digests()
    {
        await using var server = await ServerFixture.StartAsync();
        var source = Path.Combine(server.Scratch, "random.bin");
        var bytes = new byte[20 << 20];
        new Random(7).NextBytes(bytes);
        await File.WriteAllBytesAsync(source, bytes, TestContext.Current.CancellationToken);
        using var client = new TurboMftClient(Options(server));

        var pushed = await client.UploadFileAsync(source, "/in/random.bin", null, TestContext.Current.CancellationToken);
        var target = Path.Combine(server.Scratch, "back", "random.bin");
        var pulled = await client.DownloadFileAsync("/in/random.bin", target, null, TestContext.Current.CancellationToken);

        Assert.Equal(20, pushed.Chunks);
        Assert.Equal(0, pushed.ChunksSkipped);
        Assert.Equal(pushed.Digest, pulled.Digest);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(target, TestContext.Current.CancellationToken));
        Assert.False(File.Exists(target + ".tmf-partial"));
    }

    [Fact]
    public async Task Historian_data_with_compress_auto_sends_fewer_bytes_than_the_file()
    {
        await using var server = await ServerFixture.StartAsync();
        var source = Path.Combine(server.Scratch, "historian.csv");
        await DatasetGenerator.WriteFileAsync(source, DatasetKind.HistorianCsv, 16 << 20, ct: TestContext.Current.CancellationToken);
        using var client = new TurboMftClient(Options(server) with { Compression = TransferCompression.Auto, Verify = TransferVerify.Sha256 });

        var result = await client.UploadFileAsync(source, "/ot/historian.csv", null, TestContext.Current.CancellationToken);

        Assert.Equal(16 << 20, result.Bytes);
        Assert.True(result.BytesSent < result.Bytes / 2, $"sent {result.BytesSent} of {result.Bytes}");
        Assert.Equal(result.Digest, Assert.Single(await client.ListAsync("/ot", TestContext.Current.CancellationToken)).Digest);
    }

    [Fact]
    public async Task A_wrong_pin_fails_clearly_and_the_server_receives_nothing()
    {
        await using var server = await ServerFixture.StartAsync();
        var source = Path.Combine(server.Scratch, "a.bin");
        await File.WriteAllBytesAsync(source, new byte[3 << 20], TestContext.Current.CancellationToken);
        using var wrong = new TurboMftClient(Options(server) with { PinSha256 = "sha256:" + new string('1', 64) });

        var error = await Assert.ThrowsAsync<ServerTrustException>(() => wrong.UploadFileAsync(source, "/in/a.bin", null, TestContext.Current.CancellationToken));

        Assert.Contains("does not match the pin", error.Message, StringComparison.Ordinal);
        using var right = new TurboMftClient(Options(server));
        Assert.Empty(await right.ListAsync("/", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_push_resumes_a_session_that_already_holds_some_chunks()
    {
        await using var server = await ServerFixture.StartAsync();
        var source = Path.Combine(server.Scratch, "resume.bin");
        var bytes = new byte[6 << 20];
        new Random(11).NextBytes(bytes);
        await File.WriteAllBytesAsync(source, bytes, TestContext.Current.CancellationToken);
        var options = Options(server);

        // An earlier run that died after two chunks: a session, chunks 0 and 3 sent by hand, and its resume record.
        using var raw = RawClient(server);
        var open = await raw.PostAsJsonAsync("v1/uploads", new { path = "/in/resume.bin", size = bytes.Length, chunkSize = ChunkSize, verify = "fast" }, TestContext.Current.CancellationToken);
        open.EnsureSuccessStatusCode();
        var id = (await open.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken)).GetProperty("id").GetString()!;
        foreach (var index in new[] { 0, 3 })
        {
            using var chunk = new ByteArrayContent(bytes, index * ChunkSize, ChunkSize);
            using var put = new HttpRequestMessage(HttpMethod.Put, $"v1/uploads/{id}/chunks/{index}") { Content = chunk };
            put.Headers.Add("TMF-Chunk-CRC64", ChunkCrc.Format(ChunkCrc.Compute(bytes.AsSpan(index * ChunkSize, ChunkSize))));
            (await raw.SendAsync(put, TestContext.Current.CancellationToken)).EnsureSuccessStatusCode();
        }

        new ResumeStore(options.ResumeDirectory).Save(new ResumeRecord(
            source, bytes.Length, File.GetLastWriteTimeUtc(source).Ticks, server.Address.ToString(), "/in/resume.bin", ChunkSize, id));
        using var client = new TurboMftClient(options);

        var result = await client.UploadFileAsync(source, "/in/resume.bin", null, TestContext.Current.CancellationToken);

        Assert.Equal(2, result.ChunksSkipped);
        Assert.Equal(6, result.Chunks);
        Assert.True(result.BytesSent <= 4L * ChunkSize);
        var pulled = await client.DownloadFileAsync("/in/resume.bin", Path.Combine(server.Scratch, "back.bin"), null, TestContext.Current.CancellationToken);
        Assert.Equal(result.Digest, pulled.Digest);
    }

    [Theory]
    [InlineData(0, TransferVerify.Fast)] // one-shot PUTs
    [InlineData(16, TransferVerify.Fast)] // 13 batches, 4 at once
    [InlineData(256, TransferVerify.Sha256)] // one batch, digests compared by the client
    public async Task A_directory_of_200_small_files_is_pushed_and_listed(int batchFiles, TransferVerify verify)
    {
        await using var server = await ServerFixture.StartAsync();
        var folder = Path.Combine(server.Scratch, "images");
        for (var i = 0; i < 200; i++)
        {
            var sub = Path.Combine(folder, $"batch{i % 4}");
            Directory.CreateDirectory(sub);
            await File.WriteAllBytesAsync(Path.Combine(sub, $"frame{i:000}.raw"), TestBytes(1000 + i, i), TestContext.Current.CancellationToken);
        }

        using var client = new TurboMftClient(Options(server) with { BatchFiles = batchFiles, Verify = verify });
        var items = TransferPlan.ForPush([folder], TransferUrl.Parse(new Uri(server.Address, "/site/").ToString()));

        var result = await client.PushAsync(items, null, TestContext.Current.CancellationToken);
        var listed = await client.ListAsync("/site/images", TestContext.Current.CancellationToken);

        Assert.Equal(200, result.Files);
        Assert.Equal(items.Sum(i => new FileInfo(i.LocalPath).Length), result.Bytes);
        Assert.Equal(200, listed.Count);
        Assert.Contains(listed, f => f.Path == "/site/images/batch3/frame199.raw" && f.Size == 1199);
        var back = Path.Combine(server.Scratch, "frame199.back");
        await client.DownloadFileAsync("/site/images/batch3/frame199.raw", back, null, TestContext.Current.CancellationToken);
        Assert.Equal(TestBytes(1199, 199), await File.ReadAllBytesAsync(back, TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData(TransferVerify.Fast)]
    [InlineData(TransferVerify.Sha256)]
    public async Task A_folder_of_small_empty_and_multi_chunk_files_is_pulled_back_identical(TransferVerify verify)
    {
        await using var server = await ServerFixture.StartAsync();
        var folder = Path.Combine(server.Scratch, "export");
        Directory.CreateDirectory(Path.Combine(folder, "deep", "er"));
        var sizes = new Dictionary<string, int> { ["empty.csv"] = 0, ["one.bin"] = 1, ["exact.bin"] = ChunkSize, ["big.bin"] = (3 * ChunkSize) + 17 };
        for (var i = 0; i < 60; i++)
        {
            sizes[Path.Combine("deep", "er", $"f{i:00}.raw")] = 500 + (i * 97);
        }

        foreach (var (name, size) in sizes)
        {
            await File.WriteAllBytesAsync(Path.Combine(folder, name), TestBytes(size, size), TestContext.Current.CancellationToken);
        }

        using var client = new TurboMftClient(Options(server) with { Verify = verify });
        await client.PushAsync(TransferPlan.ForPush([folder], TransferUrl.Parse(new Uri(server.Address, "/site/").ToString())), null, TestContext.Current.CancellationToken);
        var source = TransferUrl.Parse(new Uri(server.Address, "/site/export/").ToString());
        var listed = await client.ListAsync(source.RemotePath, TestContext.Current.CancellationToken);
        var into = Path.Combine(server.Scratch, "back");

        var result = await client.PullAsync(TransferPlan.ForPull(source, listed, into), listed, null, TestContext.Current.CancellationToken);

        Assert.Equal(sizes.Count, result.Files);
        Assert.Equal(sizes.Values.Sum(), result.Bytes);
        foreach (var (name, size) in sizes)
        {
            Assert.Equal(TestBytes(size, size), await File.ReadAllBytesAsync(Path.Combine(into, name), TestContext.Current.CancellationToken));
        }

        Assert.Empty(Directory.GetFiles(into, "*.tmf-partial", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task A_file_that_changed_after_the_listing_fails_the_pull_by_name_and_leaves_no_partial_file()
    {
        await using var server = await ServerFixture.StartAsync();
        var local = Path.Combine(server.Scratch, "a.bin");
        await File.WriteAllBytesAsync(local, TestBytes(4000, 1), TestContext.Current.CancellationToken);
        using var client = new TurboMftClient(Options(server));
        await client.UploadFileAsync(local, "/in/a.bin", null, TestContext.Current.CancellationToken);
        var source = TransferUrl.Parse(new Uri(server.Address, "/in/").ToString());
        var listed = await client.ListAsync(source.RemotePath, TestContext.Current.CancellationToken);
        await File.WriteAllBytesAsync(local, TestBytes(5000, 2), TestContext.Current.CancellationToken);
        await client.UploadFileAsync(local, "/in/a.bin", null, TestContext.Current.CancellationToken);
        var into = Path.Combine(server.Scratch, "back");

        var error = await Assert.ThrowsAsync<TransferException>(() => client.PullAsync(TransferPlan.ForPull(source, listed, into), listed, null, TestContext.Current.CancellationToken));

        Assert.Contains("'/in/a.bin' changed on the server during the pull (4000 bytes listed, 5000 served)", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(into, "a.bin")));
        Assert.False(File.Exists(Path.Combine(into, "a.bin.tmf-partial")));
    }

    private static byte[] TestBytes(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    private static TurboMftClientOptions Options(ServerFixture server) => new()
    {
        BaseAddress = server.Address,
        Token = server.Token,
        PinSha256 = server.Server.Fingerprint,
        ChunkSize = ChunkSize,
        Connections = 4,
        ResumeDirectory = Path.Combine(server.Scratch, "resume"),
    };

    private static HttpClient RawClient(ServerFixture server)
    {
        var pin = CertificatePin.Parse(server.Server.Fingerprint);
        var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, certificate, _, _) => pin.Matches(certificate) };
        var client = new HttpClient(handler) { BaseAddress = server.Address };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", server.Token);
        return client;
    }
}
