using System.CommandLine;

namespace TurboMft.Host.Cli;

/// <summary>The <c>turbomft</c> command tree.</summary>
public static class TurboMftCommand
{
    /// <summary>Builds the command tree writing to the given streams.</summary>
    public static RootCommand Build(TextWriter output, TextWriter error) => Build(AdminCliContext.ForConsole(output, error));

    /// <summary>Builds the command tree; administration commands read passwords and open the offline audit log through <paramref name="context"/>.</summary>
    internal static RootCommand Build(AdminCliContext context)
    {
        var (output, error) = (context.Output, context.Error);
        var root = new RootCommand("TurboMft: fast, verified, encrypted managed file transfer.")
        {
            ServeCommand.Create(output, error),
            DigestCommand.Create(output, error),
            BenchCommand.Create(output, error),
            KeysCommand.Create(output, error),
            AuditCommand.Create(output, error),
            ContainerCommand.Create(output, error),
            NotifyCommand.Create(output, error),
            ReplicationCommands.Create(output, error),
            ClusterCommands.Create(output, error),
        };
        foreach (var transfer in TransferCommands.Create(output, error))
        {
            root.Subcommands.Add(transfer);
        }

        foreach (var administration in AccessCommands.Create(context))
        {
            root.Subcommands.Add(administration);
        }

        foreach (var release in ReleaseCommands.Create(context))
        {
            root.Subcommands.Add(release);
        }

        return root;
    }

    /// <summary>Parses and runs the command line; returns the process exit code.</summary>
    public static Task<int> RunAsync(string[] args)
    {
        return RunAsync(args, Console.Out, Console.Error);
    }

    /// <summary>Parses and runs the command line against the given streams; usage errors exit with code 2.</summary>
    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return RunAsync(args, AdminCliContext.ForConsole(output, error));
    }

    /// <summary>Parses and runs the command line in <paramref name="context"/>; usage errors exit with code 2.</summary>
    internal static async Task<int> RunAsync(string[] args, AdminCliContext context)
    {
        var (output, error) = (context.Output, context.Error);
        var parse = Build(context).Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var problem in parse.Errors)
            {
                await error.WriteLineAsync($"turbomft: error: {problem.Message}").ConfigureAwait(false);
            }

            await error.WriteLineAsync($"Run '{CommandPath(parse)} --help' for usage.").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        return await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error }).ConfigureAwait(false);
    }

    private static string CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (var result = parse.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Insert(0, result.Command is RootCommand ? "turbomft" : result.Command.Name);
        }

        return string.Join(' ', names);
    }
}
