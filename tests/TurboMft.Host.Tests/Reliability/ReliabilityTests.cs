using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using TurboMft.Engine.Integrity;
using TurboMft.Host.Tests.Cli;
using TurboMft.Host.Tests.Server;

namespace TurboMft.Host.Tests.Reliability;

/// <summary>
/// The product under failure (issue 3, "Reliability and bad input"): the real <c>turbomft serve</c> and <c>turbomft push</c>
/// processes killed with SIGKILL mid-transfer, a full disk, and a client that trickles its body.
/// </summary>
public sealed class ReliabilityTests : IDisposable
{
    // The issue asks for 1 GiB; 192 MiB in 48 chunks of 4 MiB keeps the class well under a minute on a 2-core CI runner and
    // still leaves a kill at 30 % with many chunks on either side of it.
    private const int ChunkSize = 4 << 20;
    private const long LargeSize = 192L << 20;
    private const int Connections = 4;

    private readonly string _root = Directory.CreateTempSubdirectory("tmf-rel-").FullName;
    private readonly CancellationToken _cancel = TestContext.Current.CancellationToken;

    private string DataPath => Path.Combine(_root, "data");

    private string TokenFile => Path.Combine(DataPath, "admin.token");

    // The resume record lives under XDG_CACHE_HOME: private to this test, never the user's.
    private Dictionary<string, string?> Environment => new()
    {
        ["HOME"] = Path.Combine(_root, "home"),
        ["XDG_CACHE_HOME"] = Path.Combine(_root, "home", ".cache"),
        ["TURBOMFT_TOKEN"] = null,
    };

    [Fact]
    public async Task A_push_interrupted_by_kill_9_of_the_server_resumes_after_a_restart_on_the_same_data_directory()
    {
        var server = await ServeProcess.StartAsync(DataPath, 0, _cancel);
        var port = server.Address.Port;
        var pin = server.Pin;
        var small = WriteRandomFile("before.bin", 1 << 20, seed: 1);
        var large = WriteRandomFile("large.bin", LargeSize, seed: 2);
        try
        {
            var before = await TurboMftProcess.RunAsync(Environment, PushArgs(pin, server.Address, small));
            Assert.True(before.ExitCode == 0, before.ToString());

            using var push = TurboMftProcess.Start(Environment, PushArgs(pin, server.Address, large));
            var id = await WaitForUploadIdAsync(push);
            var heldAtKill = await WaitForChunksAsync(server, id, push, LargeSize / ChunkSize * 3 / 10);
            await server.KillAsync(_cancel);
            var failed = await push.WaitAsync(_cancel);

            Assert.NotEqual(0, failed.ExitCode);
            var error = Assert.Single(failed.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("turbomft: error: ", error, StringComparison.Ordinal);
            Assert.True(Directory.EnumerateFiles(Path.Combine(DataPath, "store", "staging")).Any(), "the staging container must survive the kill");

            // The resume record is keyed by the server's authority, so the restarted server must take the same port.
            server.Dispose();
            server = await ServeProcess.StartAsync(DataPath, port, _cancel);
            Assert.Equal(pin, server.Pin);
            var rerun = await TurboMftProcess.RunAsync(Environment, PushArgs(pin, server.Address, large));

            Assert.True(rerun.ExitCode == 0, rerun.ToString());
            var summary = Summary(rerun);
            var skipped = summary.GetProperty("chunksSkipped").GetInt64();
            var sent = summary.GetProperty("bytesSent").GetInt64();
            TestContext.Current.TestOutputHelper?.WriteLine($"held at kill {heldAtKill}; first run: {error}; rerun: {rerun.Output}");
            Assert.True(skipped >= heldAtKill, $"the server acknowledged {heldAtKill} chunks before the kill but the rerun skipped only {skipped}\n{rerun}");
            Assert.Equal((LargeSize / ChunkSize) - skipped, sent / ChunkSize);
            Assert.True(sent <= LargeSize * 3 / 4, $"sent {sent} of {LargeSize} bytes again");
            Assert.Empty(Directory.EnumerateFiles(Path.Combine(DataPath, "store", "staging")));
            await AssertPullsBackIdenticalAsync(server, large);
            await AssertPullsBackIdenticalAsync(server, small);
        }
        finally
        {
            server.Dispose();
        }
    }

    [Fact]
    public async Task A_push_killed_with_kill_9_and_run_again_skips_the_chunks_the_server_holds()
    {
        using var server = await ServeProcess.StartAsync(DataPath, 0, _cancel);
        var large = WriteRandomFile("large.bin", LargeSize, seed: 3);

        long[] held;
        using (var push = TurboMftProcess.Start(Environment, PushArgs(server.Pin, server.Address, large)))
        {
            var id = await WaitForUploadIdAsync(push);
            await WaitForChunksAsync(server, id, push, LargeSize / ChunkSize * 3 / 10);
            push.Kill();
            var killed = await push.WaitAsync(_cancel);
            Assert.NotEqual(0, killed.ExitCode);
            held = await server.ReceivedAsync(id, _cancel);
        }

        var rerun = await TurboMftProcess.RunAsync(Environment, PushArgs(server.Pin, server.Address, large));

        Assert.True(rerun.ExitCode == 0, rerun.ToString());
        var summary = Summary(rerun);
        var skipped = summary.GetProperty("chunksSkipped").GetInt64();
        var sent = summary.GetProperty("bytesSent").GetInt64();

        TestContext.Current.TestOutputHelper?.WriteLine($"held after kill {held.Length}; rerun: {rerun.Output}");

        // A chunk whose body had fully arrived when the client died may still have been written after the status was read.
        Assert.InRange(skipped, held.Length, held.Length + Connections);
        Assert.True(skipped > 0, rerun.ToString());
        Assert.Equal(((LargeSize / ChunkSize) - skipped) * ChunkSize, sent);
        await AssertPullsBackIdenticalAsync(server, large);

        // Chunk requests cut short by the dying client are the client's doing, not server errors.
        Assert.True(server.LoggedProblems.Length == 0, string.Join('\n', server.LoggedProblems));
    }

    [Fact]
    public async Task A_full_disk_refuses_the_upload_with_507_commits_nothing_and_the_server_keeps_serving()
    {
        if (!OperatingSystem.IsLinux() || System.Environment.UserName != "root")
        {
            Assert.Skip("needs root on Linux to mount a size-limited tmpfs as the object store");
        }

        // Only the object store (staging and objects) sits on the small file system; metadata, keys and TLS stay beside it.
        var store = Path.Combine(DataPath, "store");
        Directory.CreateDirectory(store);
        var mount = await RunAsync("mount", "-t", "tmpfs", "-o", "size=48m,mode=0700", "tmpfs", store);
        if (mount.ExitCode != 0)
        {
            Assert.Skip($"could not mount a tmpfs: {mount.Error.Trim()}");
        }

        try
        {
            using var server = await ServeProcess.StartAsync(DataPath, 0, _cancel);
            var large = WriteRandomFile("large.bin", 96L << 20, seed: 4);

            var push = await TurboMftProcess.RunAsync(Environment, PushArgs(server.Pin, server.Address, large));

            TestContext.Current.TestOutputHelper?.WriteLine($"full disk: {push.Error}");
            Assert.NotEqual(0, push.ExitCode);
            var error = Assert.Single(push.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Contains("507 insufficient-storage", error, StringComparison.Ordinal);
            Assert.Empty(Directory.EnumerateFiles(Path.Combine(store, "staging")));
            Assert.Empty(Directory.EnumerateFiles(Path.Combine(store, "objects"), "*", SearchOption.AllDirectories));

            // A one-shot PUT of unknown length cannot reserve space up front: the disk fills half-way through the body.
            using (var request = new HttpRequestMessage(HttpMethod.Put, new Uri(server.Address, "/v1/files/in/streamed.bin")) { Content = new StreamContent(new RandomStream(64L << 20)) })
            {
                request.Headers.TransferEncodingChunked = true;
                using var response = await server.Client.SendAsync(request, _cancel);
                Assert.Equal(HttpStatusCode.InsufficientStorage, response.StatusCode);
                Assert.Contains("insufficient-storage", await response.Content.ReadAsStringAsync(_cancel), StringComparison.Ordinal);
            }

            Assert.Empty(Directory.EnumerateFiles(Path.Combine(store, "staging")));
            Assert.Equal("ok\n", await server.Client.GetStringAsync(new Uri(server.Address, "/healthz"), _cancel));
            var list = await TurboMftProcess.RunAsync(Environment, "ls", "--pin", server.Pin, "--token-file", TokenFile, "--json", new Uri(server.Address, "/").ToString());
            Assert.True(list.ExitCode == 0, list.ToString());
            Assert.Equal(0, JsonDocument.Parse(list.Output).RootElement.GetProperty("files").GetArrayLength());

            var small = WriteRandomFile("small.bin", 1 << 20, seed: 5);
            var after = await TurboMftProcess.RunAsync(Environment, PushArgs(server.Pin, server.Address, small));
            Assert.True(after.ExitCode == 0, after.ToString());
            await AssertPullsBackIdenticalAsync(server, small);
        }
        finally
        {
            var unmount = await RunAsync("umount", store);
            Assert.True(unmount.ExitCode == 0, $"umount {store}: {unmount.Error}");
        }
    }

    [Fact]
    public async Task A_chunk_body_trickled_below_the_minimum_rate_is_cut_off_while_another_connection_is_served()
    {
        // Kestrel's grace period is 10 s; a high minimum rate makes any trickle a violation as soon as it ends.
        using var server = await ServeProcess.StartAsync(DataPath, 0, _cancel, new Dictionary<string, string?> { ["TURBOMFT_MINREQUESTBODYBYTESPERSECOND"] = "100000" });
        var bytes = new byte[2 * (1 << 20)];
        new Random(6).NextBytes(bytes);
        var open = await server.Client.PostAsJsonAsync(new Uri(server.Address, "/v1/uploads"), new { path = "/in/slow.bin", size = bytes.Length, chunkSize = 1 << 20 }, _cancel);
        Assert.Equal(HttpStatusCode.Created, open.StatusCode);
        var id = (await open.Content.ReadFromJsonAsync<JsonElement>(_cancel)).GetProperty("id").GetString()!;

        // A separate client, so the trickle has a connection of its own; the guard only stops a test that would hang.
        using var slowClient = ServerFixture.CreateClient(server.Pin, (await File.ReadAllTextAsync(TokenFile, _cancel)).Trim(), HttpVersion.Version11);
        using var guard = CancellationTokenSource.CreateLinkedTokenSource(_cancel);
        guard.CancelAfter(TimeSpan.FromSeconds(60));
        var trickle = new TrickleContent(bytes.AsMemory(0, 1 << 20), 1024, TimeSpan.FromMilliseconds(100));
        var slow = SendChunkAsync(slowClient, server.Address, id, 0, trickle, bytes.AsSpan(0, 1 << 20), guard.Token);
        await trickle.Started.WaitAsync(_cancel);

        using var normal = await SendChunkAsync(server.Client, server.Address, id, 1, new ByteArrayContent(bytes, 1 << 20, 1 << 20), bytes.AsSpan(1 << 20), _cancel);
        Assert.Equal(HttpStatusCode.OK, normal.StatusCode);
        Assert.False(slow.IsCompleted, "the trickle should still be running while the normal request is served");

        HttpResponseMessage? cut = null;
        try
        {
            cut = await slow;
        }
        catch (HttpRequestException)
        {
            // The connection was closed under the request body: also a cut-off.
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"trickle: {cut?.StatusCode} {(cut is null ? "connection closed" : await cut.Content.ReadAsStringAsync(_cancel))} after {trickle.Sent} bytes");
        Assert.False(guard.IsCancellationRequested, "the trickle ran for a minute without being cut off");
        Assert.True(cut is null || cut.StatusCode == HttpStatusCode.RequestTimeout, $"the trickle got {cut?.StatusCode}: {(cut is null ? null : await cut.Content.ReadAsStringAsync(_cancel))}");
        Assert.True(trickle.Sent < (1 << 20), "the whole body went through");
        using var status = JsonDocument.Parse(await server.Client.GetStringAsync(new Uri(server.Address, $"/v1/uploads/{id}"), _cancel));
        Assert.Equal([1L], status.RootElement.GetProperty("received").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal("ok\n", await server.Client.GetStringAsync(new Uri(server.Address, "/healthz"), _cancel));

        // The cut-off is the client's doing: one warning line for the operator, not a server error with a stack trace.
        var logged = Assert.Single(server.LoggedProblems);
        Assert.StartsWith("warn:", logged, StringComparison.Ordinal);
        Assert.Contains($"PUT /v1/uploads/{id}/chunks/0 cut off", logged, StringComparison.Ordinal);
        cut?.Dispose();
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static Task<HttpResponseMessage> SendChunkAsync(HttpClient client, Uri server, string id, int index, HttpContent content, ReadOnlySpan<byte> plain, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, new Uri(server, $"/v1/uploads/{id}/chunks/{index}")) { Content = content };
        request.Headers.Add("TMF-Chunk-CRC64", ChunkCrc.Format(ChunkCrc.Compute(plain)));
        content.Headers.ContentLength = plain.Length;
        return client.SendAsync(request, cancellationToken);
    }

    private string[] PushArgs(string pin, Uri server, string source) =>
        ["push", "--pin", pin, "--token-file", TokenFile, "--json", "--connections", Connections.ToString(System.Globalization.CultureInfo.InvariantCulture), source, new Uri(server, "/in/").ToString()];

    private static JsonElement Summary(CliRun run) => JsonDocument.Parse(run.Output.Trim().Split('\n')[^1]).RootElement;

    private string WriteRandomFile(string name, long size, int seed)
    {
        var path = Path.Combine(_root, name);
        var random = new Random(seed);
        var block = new byte[1 << 20];
        using var file = File.Create(path);
        for (var left = size; left > 0; left -= block.Length)
        {
            random.NextBytes(block);
            file.Write(block, 0, (int)Math.Min(block.Length, left));
        }

        return path;
    }

    /// <summary>The upload id of the push in progress, from its resume record (written before the first chunk is sent).</summary>
    private async Task<string> WaitForUploadIdAsync(RunningTurboMft push)
    {
        var records = Path.Combine(_root, "home", ".cache", "turbomft", "uploads");
        while (true)
        {
            var record = Directory.Exists(records) ? Directory.EnumerateFiles(records, "*.json").FirstOrDefault() : null;
            if (record is not null)
            {
                using var json = JsonDocument.Parse(await File.ReadAllTextAsync(record, _cancel));
                return json.RootElement.GetProperty("uploadId").GetString()!;
            }

            if (push.HasExited)
            {
                Assert.Fail($"the push ended before opening a session:\n{await push.WaitAsync(_cancel)}");
            }

            await Task.Delay(10, _cancel);
        }
    }

    /// <summary>
    /// Waits until the server holds at least <paramref name="chunks"/> chunks of upload <paramref name="id"/>. The staging
    /// container is preallocated to its full size, so its length says nothing; the session status does.
    /// </summary>
    private async Task<long> WaitForChunksAsync(ServeProcess server, string id, RunningTurboMft push, long chunks)
    {
        while (true)
        {
            var held = (await server.ReceivedAsync(id, _cancel)).Length;
            if (push.HasExited)
            {
                Assert.Fail($"the push ended before it could be interrupted (the server held {held} chunks):\n{await push.WaitAsync(_cancel)}");
            }

            if (held >= chunks)
            {
                return held;
            }

            await Task.Delay(10, _cancel);
        }
    }

    private async Task AssertPullsBackIdenticalAsync(ServeProcess server, string local)
    {
        var back = local + ".back";
        var pull = await TurboMftProcess.RunAsync(Environment, "pull", "--pin", server.Pin, "--token-file", TokenFile, new Uri(server.Address, "/in/" + Path.GetFileName(local)).ToString(), back);
        Assert.True(pull.ExitCode == 0, pull.ToString());
        Assert.Equal(await HashAsync(local), await HashAsync(back));
        File.Delete(back);
    }

    private async Task<string> HashAsync(string path)
    {
        await using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(file, _cancel));
    }

    private async Task<CliRun> RunAsync(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(_cancel);
        var error = process.StandardError.ReadToEndAsync(_cancel);
        await process.WaitForExitAsync(_cancel);
        return new CliRun(process.ExitCode, await output, await error);
    }

    /// <summary>A request body sent a few bytes at a time, far below any sane minimum rate.</summary>
    private sealed class TrickleContent(ReadOnlyMemory<byte> body, int step, TimeSpan pause) : HttpContent
    {
        private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _sent;

        public Task Started => _started.Task;

        public long Sent => Interlocked.Read(ref _sent);

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            for (var at = 0; at < body.Length; at += step)
            {
                await stream.WriteAsync(body.Slice(at, Math.Min(step, body.Length - at)), cancellationToken);
                await stream.FlushAsync(cancellationToken);
                Interlocked.Add(ref _sent, Math.Min(step, body.Length - at));
                _started.TrySetResult();
                await Task.Delay(pause, cancellationToken);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = body.Length;
            return true;
        }
    }

    /// <summary>Random bytes of a given length, read without ever being held in memory at once.</summary>
    private sealed class RandomStream(long length) : Stream
    {
        private readonly Random _random = new(7);
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, length - _position);
            _random.NextBytes(buffer.AsSpan(offset, n));
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
