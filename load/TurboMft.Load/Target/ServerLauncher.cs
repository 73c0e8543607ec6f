using System.Diagnostics;
using System.Text.RegularExpressions;
using TurboMft.Engine.Client;

namespace TurboMft.Load.Target;

/// <summary>
/// Runs <c>turbomft serve</c> as a child process over a throwaway data directory on a free loopback port, reads its address
/// and certificate pin from its start-up lines and its admin token from the data directory, and keeps its log lines.
/// </summary>
public sealed partial class ServerLauncher : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _data;
    private readonly bool _keepData;
    private readonly List<string> _lines = [];

    private ServerLauncher(Process process, string data, bool keepData)
    {
        _process = process;
        _data = data;
        _keepData = keepData;
    }

    /// <summary>The running server.</summary>
    public LoadTarget Target { get; private set; } = null!;

    /// <summary>The server's data directory.</summary>
    public string DataPath => _data;

    /// <summary>Lines the server logged at warning level or above, so far.</summary>
    public IReadOnlyList<string> LoggedProblems
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines.Where(l => l.StartsWith("warn:", StringComparison.Ordinal) || l.StartsWith("fail:", StringComparison.Ordinal) || l.StartsWith("crit:", StringComparison.Ordinal))];
            }
        }
    }

    /// <summary>
    /// The built server executable, <c>src/Host/bin/Release/net10.0/turbomft</c> of the repository holding the current
    /// directory or this program; null when there is none.
    /// </summary>
    public static string? FindExecutable()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "src", "Host", "bin", "Release", "net10.0", "turbomft");
                if (File.Exists(Path.Combine(dir.FullName, "TurboMft.sln")) && File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    /// <summary>
    /// Starts <paramref name="executable"/> <c>serve --data DIR --listen 127.0.0.1:0</c> with a new data directory under
    /// <paramref name="dataParent"/>; <paramref name="settings"/> become <c>TURBOMFT_*</c> environment variables
    /// (<c>Content:InlineScanWaitSeconds</c> as <c>TURBOMFT_Content__InlineScanWaitSeconds</c>).
    /// </summary>
    public static async Task<ServerLauncher> StartAsync(
        string executable, string dataParent, IReadOnlyDictionary<string, string> settings, bool keepData, CancellationToken cancellationToken)
    {
        var data = Path.Combine(Path.GetFullPath(dataParent), $"tmf-load-{Environment.ProcessId}-{Random.Shared.Next():x8}");
        Directory.CreateDirectory(data);
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            ArgumentList = { "serve", "--data", data, "--listen", "127.0.0.1:0" },
        };
        foreach (var (key, value) in settings)
        {
            start.Environment["TURBOMFT_" + key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {executable}.");
        var launcher = new ServerLauncher(process, data, keepData);
        var ready = new TaskCompletionSource<(Uri Address, string Pin)>(TaskCreationOptions.RunContinuationsAsynchronously);
        Uri? address = null;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                ready.TrySetException(new InvalidOperationException("turbomft serve closed its output before it was ready."));
                return;
            }

            launcher.Keep(e.Data);
            if (ServingLine().Match(e.Data) is { Success: true } serving)
            {
                address = new Uri(serving.Groups[1].Value);
            }
            else if (CertificateLine().Match(e.Data) is { Success: true } certificate && address is not null)
            {
                ready.TrySetResult((address, certificate.Groups[1].Value));
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                launcher.Keep(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var (url, pin) = await ready.Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
            var token = (await File.ReadAllTextAsync(Path.Combine(data, "admin.token"), cancellationToken).ConfigureAwait(false)).Trim();
            launcher.Target = new LoadTarget(url, token, CertificatePin.Parse(pin), null, process.Id);
            return launcher;
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            var output = string.Join('\n', launcher.Snapshot());
            await launcher.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException($"turbomft serve did not start: {e.Message}\n{output}", e);
        }
        catch
        {
            await launcher.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Stops the server (SIGKILL: its data is thrown away) and removes the data directory unless it is kept.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync().ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            // Never started or already reaped.
        }

        _process.Dispose();
        if (!_keepData)
        {
            try
            {
                Directory.Delete(_data, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private void Keep(string line)
    {
        lock (_lines)
        {
            _lines.Add(line);
        }
    }

    private List<string> Snapshot()
    {
        lock (_lines)
        {
            return [.. _lines];
        }
    }

    [GeneratedRegex(@"TurboMft serving (https://\S+)")]
    private static partial Regex ServingLine();

    [GeneratedRegex(@"^certificate (sha256:[0-9a-f]{64})")]
    private static partial Regex CertificateLine();
}
