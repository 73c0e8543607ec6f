using System.CommandLine;

namespace TurboMft.Host.Cli;

/// <summary>The <c>turbomft</c> command tree.</summary>
public static class TurboMftCommand
{
    /// <summary>Parses and runs the command line; returns the process exit code.</summary>
    public static Task<int> RunAsync(string[] args)
    {
        var root = new RootCommand("TurboMft: fast, verified, encrypted managed file transfer.");
        return root.Parse(args).InvokeAsync();
    }
}
