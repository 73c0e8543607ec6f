using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using TurboMft.Engine.Storage;
using TurboMft.Host.Metadata;
using TurboMft.Host.Scanning;

namespace TurboMft.Host.Tests.Scanning;

public class ClamdScannerTests(ClamdFixture clamd, ITestOutputHelper output) : IClassFixture<ClamdFixture>
{
    private static readonly AreaContentPolicy Anywhere = new(RemotePath.Root);

    [Fact]
    public async Task Clamd_starts_quickly_with_the_test_database()
    {
        output.WriteLine($"clamd start-up to first PONG: {clamd.StartupTime.TotalMilliseconds:0} ms");
        Assert.True(clamd.StartupTime < TimeSpan.FromSeconds(10), $"clamd took {clamd.StartupTime} to start");
        var version = await new ClamdScanner(clamd.UnixEndpoint).GetVersionAsync(TestContext.Current.CancellationToken);
        Assert.StartsWith("ClamAV ", version, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Eicar_is_infected_with_the_signature_name()
    {
        var verdict = await ScanAsync(new ClamdScanner(clamd.UnixEndpoint), ScanTestFiles.Eicar);
        Assert.Equal(ScanOutcome.Infected, verdict.Outcome);
        Assert.Equal("clamav", verdict.Scanner);
        Assert.StartsWith("Eicar-Test-Signature", verdict.Finding, StringComparison.Ordinal);
        Assert.StartsWith("ClamAV ", verdict.ScannerVersion, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Eicar_is_found_over_tcp_too()
    {
        var verdict = await ScanAsync(new ClamdScanner(clamd.TcpEndpoint), ScanTestFiles.Eicar);
        Assert.StartsWith("Eicar-Test-Signature", verdict.Finding, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_clean_historian_csv_is_clean()
    {
        var verdict = await ScanAsync(new ClamdScanner(clamd.UnixEndpoint), ScanTestFiles.HistorianCsv(2 << 20));
        Assert.Equal(ScanOutcome.Clean, verdict.Outcome);
        Assert.Null(verdict.Finding);
    }

    [Fact]
    public async Task A_signature_at_the_end_of_a_multi_chunk_stream_is_found()
    {
        // 3 MiB of CSV then the marker: clamd must have received every chunk.
        var csv = ScanTestFiles.HistorianCsv(3 << 20);
        var content = csv.Concat(Encoding.ASCII.GetBytes("\n" + ClamdFixture.Marker + "\n")).ToArray();
        var verdict = await ScanAsync(new ClamdScanner(clamd.UnixEndpoint, new ClamdOptions { ChunkBytes = 64 * 1024 }), content);
        Assert.Equal(ScanOutcome.Infected, verdict.Outcome);
        Assert.Equal("TurboMft-Test-Marker.UNOFFICIAL", verdict.Finding);
    }

    [Fact]
    public async Task Eicar_inside_a_zip_is_found_by_clamd_itself()
    {
        var zip = ScanTestFiles.Zip(("docs/readme.txt", "hello"u8.ToArray()), ("docs/eicar.com", ScanTestFiles.Eicar));
        var verdict = await ScanAsync(new ClamdScanner(clamd.UnixEndpoint), zip);
        Assert.StartsWith("Eicar-Test-Signature", verdict.Finding, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_socket_nobody_listens_on_is_an_error()
    {
        var dead = ClamdEndpoint.Parse("unix:" + Path.Combine(clamd.Directory, "nobody-here.sock"));
        var verdict = await ScanAsync(new ClamdScanner(dead), ScanTestFiles.Eicar);
        Assert.Equal(ScanOutcome.Error, verdict.Outcome);
        Assert.Contains("not reachable", verdict.Detail, StringComparison.Ordinal);
        Assert.Contains("nobody-here.sock", verdict.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stopped_clamd_is_an_error_even_with_its_version_cached()
    {
        await using var own = await ClamdFixture.StartAsync(new ClamdLimits());
        var scanner = new ClamdScanner(own.UnixEndpoint);
        Assert.Equal(ScanOutcome.Clean, (await ScanAsync(scanner, "clean"u8.ToArray())).Outcome);

        await own.StopAsync();
        var verdict = await ScanAsync(scanner, ScanTestFiles.Eicar);
        Assert.Equal(ScanOutcome.Error, verdict.Outcome);
        Assert.StartsWith("ClamAV ", verdict.ScannerVersion, StringComparison.Ordinal);
        Assert.Contains("not reachable", verdict.Detail, StringComparison.Ordinal);
        Assert.False(await scanner.PingAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_stream_over_streammaxlength_is_an_error_naming_the_limit_not_clean()
    {
        await using var small = await ClamdFixture.StartAsync(new ClamdLimits(StreamMaxLength: "1M"));
        var verdict = await ScanAsync(new ClamdScanner(small.UnixEndpoint), ScanTestFiles.HistorianCsv(3 << 20));
        output.WriteLine(verdict.Detail ?? "(no detail)");
        Assert.Equal(ScanOutcome.Error, verdict.Outcome);
        Assert.Contains("size limit exceeded", verdict.Detail, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("StreamMaxLength", verdict.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_file_over_clamds_maxfilesize_is_an_error_not_clean()
    {
        // With AlertExceedsMax clamd reports what it skipped; without it the reply would be a silent OK.
        await using var small = await ClamdFixture.StartAsync(new ClamdLimits(MaxFileSize: "512K", MaxScanSize: "512K"));
        var verdict = await ScanAsync(new ClamdScanner(small.UnixEndpoint), ScanTestFiles.HistorianCsv(1 << 20));
        output.WriteLine(verdict.Detail ?? "(no detail)");
        Assert.Equal(ScanOutcome.Error, verdict.Outcome);
        Assert.Contains("Heuristics.Limits.Exceeded", verdict.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_clamd_that_never_answers_times_out_as_an_error()
    {
        using var silent = new SilentServer();
        var scanner = new ClamdScanner(ClamdEndpoint.Parse($"tcp:127.0.0.1:{silent.Port}"), new ClamdOptions { SendTimeout = TimeSpan.FromMilliseconds(500), ReplyTimeout = TimeSpan.FromMilliseconds(500) });
        var started = Stopwatch.StartNew();
        var verdict = await ScanAsync(scanner, "x"u8.ToArray());
        output.WriteLine(verdict.Detail ?? "(no detail)");
        Assert.Equal(ScanOutcome.Error, verdict.Outcome);
        Assert.Contains("did not answer", verdict.Detail, StringComparison.Ordinal);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Cancellation_is_honoured_while_waiting_for_clamd()
    {
        using var silent = new SilentServer();
        var scanner = new ClamdScanner(ClamdEndpoint.Parse($"tcp:127.0.0.1:{silent.Port}"));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var started = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            scanner.ScanAsync(ScanTestFiles.Subject("/a", "x"u8.ToArray()), ScanTestFiles.Opener("x"u8.ToArray()), Anywhere, cancel.Token));
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(5));
    }

    [Theory]
    [InlineData("unix:/run/clamav/clamd.ctl", true)]
    [InlineData("tcp:127.0.0.1:3310", true)]
    [InlineData("tcp:[::1]:3310", true)]
    [InlineData("tcp:clamav.internal:3310", true)]
    [InlineData("unix:relative/clamd.ctl", false)]
    [InlineData("tcp:127.0.0.1", false)]
    [InlineData("tcp:127.0.0.1:99999", false)]
    [InlineData("/run/clamav/clamd.ctl", false)]
    public void Endpoints_are_unix_paths_or_tcp_host_ports(string text, bool valid)
    {
        if (valid)
        {
            Assert.Equal(text, ClamdEndpoint.Parse(text).ToString());
        }
        else
        {
            Assert.Contains("clamd address", Assert.Throws<FormatException>(() => ClamdEndpoint.Parse(text)).Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("stream: OK", true, ScanOutcome.Clean, null)]
    [InlineData("stream: Win.Test.EICAR_HDB-1 FOUND", true, ScanOutcome.Infected, "Win.Test.EICAR_HDB-1")]
    [InlineData("stream: Eicar-Test-Signature(44d88612fea8a8f36de82e1278abb02f:68) FOUND", true, ScanOutcome.Infected, "Eicar-Test-Signature")]
    [InlineData("INSTREAM size limit exceeded. ERROR", false, ScanOutcome.Error, null)]
    [InlineData("stream: Can't allocate memory ERROR", true, ScanOutcome.Error, null)]
    [InlineData("stream: Heuristics.Limits.Exceeded.MaxFileSize FOUND", true, ScanOutcome.Error, null)]
    [InlineData("stream: OK", false, ScanOutcome.Error, null)]
    [InlineData("UNKNOWN COMMAND", true, ScanOutcome.Error, null)]
    public void Replies_are_interpreted_fail_closed(string reply, bool complete, ScanOutcome outcome, string? finding)
    {
        var verdict = ClamdScanner.Interpret("ClamAV 1.4.6/27000", new InstreamReply(reply, 100, complete));
        Assert.Equal(outcome, verdict.Outcome);
        Assert.Equal(finding, verdict.Finding);
    }

    private static Task<ScanVerdict> ScanAsync(ClamdScanner scanner, byte[] content) =>
        scanner.ScanAsync(ScanTestFiles.Subject("/it/file.bin", content), ScanTestFiles.Opener(content), Anywhere, TestContext.Current.CancellationToken);

    /// <summary>Accepts connections and reads everything, never answering: a hung clamd.</summary>
    private sealed class SilentServer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Socket> _accepted = [];

        public SilentServer()
        {
            _listener.Start();
            _ = AcceptAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            lock (_accepted)
            {
                _accepted.ForEach(s => s.Dispose());
            }

            _stop.Dispose();
        }

        private async Task AcceptAsync()
        {
            try
            {
                while (true)
                {
                    var socket = await _listener.AcceptSocketAsync(_stop.Token);
                    lock (_accepted)
                    {
                        _accepted.Add(socket);
                    }

                    _ = DrainAsync(socket);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }

        private async Task DrainAsync(Socket socket)
        {
            var buffer = new byte[65536];
            try
            {
                while (await socket.ReceiveAsync(buffer, _stop.Token) > 0)
                {
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }
    }
}
