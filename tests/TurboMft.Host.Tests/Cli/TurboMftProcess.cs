using System.Diagnostics;
using System.Text;

namespace TurboMft.Host.Tests.Cli;

/// <summary>Runs the real <c>turbomft</c> executable (built beside the tests) and captures what it prints.</summary>
internal static class TurboMftProcess
{
    public static string AssemblyPath => Path.Combine(AppContext.BaseDirectory, "turbomft.dll");

    public static async Task<CliRun> RunAsync(IDictionary<string, string?>? environment = null, params string[] args)
    {
        using var running = Start(environment, args);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        return await running.WaitAsync(timeout.Token);
    }

    public static Task<CliRun> RunAsync(params string[] args) => RunAsync(null, args);

    /// <summary>Starts <c>turbomft</c> without waiting, so a test can watch it, kill it, or read its output line by line.</summary>
    public static RunningTurboMft Start(IDictionary<string, string?>? environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(AssemblyPath);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            start.Environment[name] = value;
        }

        return new RunningTurboMft(Process.Start(start) ?? throw new InvalidOperationException("could not start turbomft"));
    }
}

/// <summary>A <c>turbomft</c> process that is still running: its output so far, line by line, and a way to kill it.</summary>
internal sealed class RunningTurboMft : IDisposable
{
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _error = new();
    private readonly Task _readOutput;
    private readonly Task _readError;

    public RunningTurboMft(Process process)
    {
        Process = process;
        _readOutput = Pump(process.StandardOutput, _output);
        _readError = Pump(process.StandardError, _error);
    }

    public Process Process { get; }

    public int Id => Process.Id;

    public bool HasExited => Process.HasExited;

    /// <summary>Everything written to stdout so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Everything written to stderr so far.</summary>
    public string Error
    {
        get
        {
            lock (_error)
            {
                return _error.ToString();
            }
        }
    }

    /// <summary>SIGKILL on Linux: the process gets no chance to clean up.</summary>
    public void Kill() => Process.Kill(entireProcessTree: false);

    /// <summary>Waits for the exit and all output.</summary>
    public async Task<CliRun> WaitAsync(CancellationToken cancellationToken)
    {
        await Process.WaitForExitAsync(cancellationToken);
        await Task.WhenAll(_readOutput, _readError);
        return new CliRun(Process.ExitCode, Output, Error);
    }

    public void Dispose()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
            Process.WaitForExit();
        }

        Process.Dispose();
    }

    private static async Task Pump(StreamReader reader, StringBuilder sink)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (sink)
            {
                sink.Append(line).Append('\n');
            }
        }
    }
}

internal sealed record CliRun(int ExitCode, string Output, string Error)
{
    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Output}\nstderr:\n{Error}";
}
