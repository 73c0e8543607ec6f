using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using TurboMft.Host.Scanning;

namespace TurboMft.Host.Tests.Scanning;

/// <summary>Limits written into the fixture's clamd.conf.</summary>
public sealed record ClamdLimits(string StreamMaxLength = "2000M", string MaxFileSize = "2000M", string MaxScanSize = "2000M");

/// <summary>
/// A real clamd started in the foreground over a temporary directory: its own config, a Unix socket and a loopback TCP
/// port, and a signature database written here (no freshclam, no network): the EICAR test file's MD5 and a body
/// signature for <see cref="Marker"/>. Waits for PING → PONG; stops clamd on dispose. If clamd is not installed the
/// fixture fails with how to install it: the tests never skip (CI installs clamav-daemon).
/// </summary>
public sealed class ClamdFixture : IAsyncLifetime
{
    /// <summary>Bytes the fixture's body signature <c>TurboMft-Test-Marker</c> finds anywhere in a file.</summary>
    public const string Marker = "TURBOMFT-CLAMD-TEST-MARKER-6b1f0e";

    private readonly ClamdLimits _limits;
    private Process? _process;
    private readonly StringBuilder _output = new();

    public ClamdFixture()
        : this(new ClamdLimits())
    {
    }

    private ClamdFixture(ClamdLimits limits)
    {
        _limits = limits;
        Directory = System.IO.Directory.CreateTempSubdirectory("tmf-clamd-").FullName;
    }

    public string Directory { get; }

    public string SocketPath => Path.Combine(Directory, "clamd.sock");

    public int TcpPort { get; private set; }

    public ClamdEndpoint UnixEndpoint => ClamdEndpoint.Parse("unix:" + SocketPath);

    public ClamdEndpoint TcpEndpoint => ClamdEndpoint.Parse($"tcp:127.0.0.1:{TcpPort}");

    /// <summary>From process start to the first PONG.</summary>
    public TimeSpan StartupTime { get; private set; }

    public bool Running => _process is { HasExited: false };

    public static async Task<ClamdFixture> StartAsync(ClamdLimits limits)
    {
        var fixture = new ClamdFixture(limits);
        try
        {
            await fixture.InitializeAsync();
            return fixture;
        }
        catch
        {
            await fixture.DisposeAsync();
            throw;
        }
    }

    public async ValueTask InitializeAsync()
    {
        var clamd = FindClamd() ?? throw new InvalidOperationException(
            "clamd is not installed: the content-scanning tests need a real clamd. Install it with `apt-get install -y clamav-daemon` " +
            "(.ci/run does this in CI; no service or freshclam is needed, the tests start their own clamd with a test signature database).");
        var db = System.IO.Directory.CreateDirectory(Path.Combine(Directory, "db")).FullName;
        var tmp = System.IO.Directory.CreateDirectory(Path.Combine(Directory, "tmp")).FullName;
        await File.WriteAllTextAsync(Path.Combine(db, "test.hdb"), "44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test-Signature\n");
        await File.WriteAllTextAsync(Path.Combine(db, "test.ndb"), $"TurboMft-Test-Marker:0:*:{Convert.ToHexStringLower(Encoding.ASCII.GetBytes(Marker))}\n");
        TcpPort = FreePort();
        var config = Path.Combine(Directory, "clamd.conf");
        await File.WriteAllTextAsync(config, string.Join('\n',
            $"LocalSocket {SocketPath}",
            "LocalSocketMode 600",
            "FixStaleSocket yes",
            "TCPAddr 127.0.0.1",
            $"TCPSocket {TcpPort.ToString(CultureInfo.InvariantCulture)}",
            $"DatabaseDirectory {db}",
            $"TemporaryDirectory {tmp}",
            $"LogFile {Path.Combine(Directory, "clamd.log")}",
            "LogTime yes",
            "Foreground yes",
            $"User {Environment.UserName}",
            "SelfCheck 3600",
            "MaxThreads 4",
            $"StreamMaxLength {_limits.StreamMaxLength}",
            $"MaxFileSize {_limits.MaxFileSize}",
            $"MaxScanSize {_limits.MaxScanSize}",
            "AlertExceedsMax yes",

            // Every scan really scans: no clean-file cache across tests and repeated measurements.
            "DisableCache yes",
            "Bytecode no",
            string.Empty));

        var started = Stopwatch.StartNew();
        var info = new ProcessStartInfo(clamd, ["--foreground", "--config-file=" + config])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        _process = Process.Start(info) ?? throw new InvalidOperationException($"{clamd} did not start.");
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var scanner = new ClamdScanner(UnixEndpoint, new ClamdOptions { ConnectTimeout = TimeSpan.FromSeconds(1) });
        while (!await scanner.PingAsync(CancellationToken.None))
        {
            if (_process.HasExited || started.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new InvalidOperationException($"clamd did not answer PING within {started.Elapsed.TotalSeconds:0.0} s (exit: {(_process.HasExited ? _process.ExitCode : "running")}):\n{Log()}");
            }

            await Task.Delay(20);
        }

        StartupTime = started.Elapsed;
    }

    /// <summary>Stops clamd (SIGKILL: as if it crashed) and waits for it to be gone.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process?.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    public string Log()
    {
        var log = Path.Combine(Directory, "clamd.log");
        lock (_output)
        {
            return _output + (File.Exists(log) ? File.ReadAllText(log) : string.Empty);
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    private static string? FindClamd()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        return path.Split(':', StringSplitOptions.RemoveEmptyEntries).Append("/usr/sbin").Append("/usr/local/sbin")
            .Select(dir => Path.Combine(dir, "clamd"))
            .FirstOrDefault(File.Exists);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
