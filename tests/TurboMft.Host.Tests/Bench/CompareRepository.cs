using System.Diagnostics;

namespace TurboMft.Host.Tests.Bench;

/// <summary>
/// Where the repository's peer-comparison pieces are, from the tests' own build: bench/compare/run.sh, the turbomft
/// executable and the report tool of the same configuration (the test project references the report tool, so it is built).
/// </summary>
internal static class CompareRepository
{
    public static string Root { get; } = FindRoot();

    public static string Configuration { get; } = AppContext.BaseDirectory.Contains("/bin/Debug/", StringComparison.Ordinal) ? "Debug" : "Release";

    public static string Harness => Path.Combine(Root, "bench", "compare", "run.sh");

    public static string TurboMft => Path.Combine(Root, "src", "Host", "bin", Configuration, "net10.0", "turbomft");

    public static string Report => Path.Combine(Root, "bench", "TurboMft.Compare", "bin", Configuration, "net10.0", "TurboMft.Compare");

    /// <summary>Runs a program to its end (or kills it after <paramref name="timeout"/>) and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(
        string program, IEnumerable<string> args, IDictionary<string, string>? environment, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"{program} did not finish within {timeout}:\n{await output}\n{await error}");
        }

        return (process.ExitCode, await output, await error);
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "TurboMft.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no TurboMft.sln above {AppContext.BaseDirectory}");
    }
}
