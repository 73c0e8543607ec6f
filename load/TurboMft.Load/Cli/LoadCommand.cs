using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using TurboMft.Engine.Chunks;
using TurboMft.Load.Reporting;
using TurboMft.Load.Scenarios;
using TurboMft.Load.Target;

namespace TurboMft.Load.Cli;

/// <summary><c>turbomft-load mixed|idle|slow</c>: runs one scenario against a started or attached server and reports it.</summary>
public static class LoadCommand
{
    /// <summary>Exit code when the command line is wrong.</summary>
    public const int UsageExitCode = 2;

    /// <summary>Parses and runs the command line; exit 0 when the outcomes were the intended ones, 1 otherwise, 2 for a wrong command line.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(error);
        var root = new RootCommand("TurboMft load driver: concurrent clients against a TurboMft server, HdrHistogram latencies, error counts, one summary (load/README.md).")
        {
            Mixed(args, output, error),
            Idle(args, output, error),
            Slow(args, output, error),
        };
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var problem in parse.Errors)
            {
                await error.WriteLineAsync($"turbomft-load: error: {problem.Message}").ConfigureAwait(false);
            }

            await error.WriteLineAsync("Run 'turbomft-load --help' for usage.").ConfigureAwait(false);
            return UsageExitCode;
        }

        return await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error }).ConfigureAwait(false);
    }

    private static Command Mixed(string[] args, TextWriter output, TextWriter error)
    {
        var common = new CommonOptions();
        var clients = new Option<int[]>("--clients")
        {
            Description = "Client counts, one measured run each, in order.",
            DefaultValueFactory = _ => [1, 8, 64, 256],
            CustomParser = OptionParsers.ClientCounts,
            HelpName = "N,N,...",
        };
        var command = new Command(MixedScenario.Name, "Concurrent clients uploading and downloading mixed sizes, one run per client count.") { clients };
        common.AddTo(command);
        command.SetAction((parse, cancellationToken) =>
        {
            var counts = parse.GetRequiredValue(clients);
            return RunScenarioAsync(
                parse, common, args, output, error, counts.Max(),
                new Dictionary<string, string> { ["clients"] = string.Join(',', counts) },
                (session, token) => MixedScenario.RunAsync(session, counts, token),
                cancellationToken);
        });
        return command;
    }

    private static Command Idle(string[] args, TextWriter output, TextWriter error)
    {
        var common = new CommonOptions();
        var active = new Option<int>("--active-clients") { Description = "Transferring clients, measured alone and beside the idle connections.", DefaultValueFactory = _ => 4 };
        var idle = new Option<int>("--idle-connections") { Description = "Idle TLS connections to hold.", DefaultValueFactory = _ => 1000 };
        var interval = new Option<TimeSpan>("--idle-interval") { Description = "How often each idle connection sends its request.", DefaultValueFactory = _ => TimeSpan.FromSeconds(10), CustomParser = OptionParsers.Duration, HelpName = "TIME" };
        var path = new Option<string>("--idle-path") { Description = "The cheap authenticated request: v1/info, or healthz (anonymous).", DefaultValueFactory = _ => "v1/info" };
        var command = new Command(IdleScenario.Name, "Many mostly idle TLS connections beside a few active clients, compared with the active clients alone.") { active, idle, interval, path };
        common.AddTo(command);
        command.SetAction((parse, cancellationToken) =>
        {
            var settings = new IdleSettings
            {
                ActiveClients = Positive(parse.GetValue(active), "--active-clients"),
                IdleConnections = Positive(parse.GetValue(idle), "--idle-connections"),
                IdleInterval = parse.GetValue(interval),
                IdlePath = parse.GetRequiredValue(path).TrimStart('/'),
            };
            return RunScenarioAsync(
                parse, common, args, output, error, settings.ActiveClients,
                new Dictionary<string, string>
                {
                    ["active-clients"] = settings.ActiveClients.ToString(CultureInfo.InvariantCulture),
                    ["idle-connections"] = settings.IdleConnections.ToString(CultureInfo.InvariantCulture),
                    ["idle-interval"] = $"{settings.IdleInterval.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s",
                    ["idle-path"] = "/" + settings.IdlePath,
                },
                (session, token) => IdleScenario.RunAsync(session, settings, token),
                cancellationToken);
        });
        return command;
    }

    private static Command Slow(string[] args, TextWriter output, TextWriter error)
    {
        var common = new CommonOptions();
        var clients = new Option<int>("--clients") { Description = "Normal transferring clients.", DefaultValueFactory = _ => 4 };
        var slow = new Option<int>("--slow-clients") { Description = "Slow clients trickling one-shot upload bodies.", DefaultValueFactory = _ => 8 };
        var rate = new Option<int>("--slow-rate") { Description = "Bytes per second a slow client sends (must be below the server's MinRequestBodyBytesPerSecond).", DefaultValueFactory = _ => 100 };
        var size = new Option<int>("--slow-size") { Description = "Body length a slow client announces.", DefaultValueFactory = _ => 1 << 20, CustomParser = OptionParsers.Size, HelpName = "SIZE" };
        var command = new Command(SlowScenario.Name, "Slow clients trickling uploads beside normal clients: the server must cut the slow ones off.") { clients, slow, rate, size };
        common.AddTo(command);
        command.SetAction((parse, cancellationToken) =>
        {
            var settings = new SlowSettings
            {
                Clients = Positive(parse.GetValue(clients), "--clients"),
                SlowClients = Positive(parse.GetValue(slow), "--slow-clients"),
                BytesPerSecond = Positive(parse.GetValue(rate), "--slow-rate"),
                BodySize = parse.GetValue(size),
            };
            return RunScenarioAsync(
                parse, common, args, output, error, settings.Clients,
                new Dictionary<string, string>
                {
                    ["clients"] = settings.Clients.ToString(CultureInfo.InvariantCulture),
                    ["slow-clients"] = settings.SlowClients.ToString(CultureInfo.InvariantCulture),
                    ["slow-rate"] = $"{settings.BytesPerSecond} B/s",
                    ["slow-size"] = ByteSize.Format(settings.BodySize),
                },
                (session, token) => SlowScenario.RunAsync(session, settings, token),
                cancellationToken,
                settings.BodySize);
        });
        return command;
    }

    private static int Positive(int value, string name) =>
        value is >= 1 and <= 100_000 ? value : throw new ArgumentException($"{name} must be from 1 to 100000, not {value}.");

    private static async Task<int> RunScenarioAsync(
        ParseResult parse,
        CommonOptions common,
        string[] args,
        TextWriter output,
        TextWriter error,
        int maxClients,
        Dictionary<string, string> scenarioSettings,
        Func<LoadSession, CancellationToken, Task<LoadReport>> scenario,
        CancellationToken cancellationToken,
        int extraSize = 0)
    {
        ServerLauncher? launcher = null;
        try
        {
            var workload = common.Workload(parse);
            workload = workload with { MinimumPayload = extraSize };

            var target = common.Attached(parse);
            if (target is null)
            {
                var executable = parse.GetValue(common.ServerExe)?.FullName ?? ServerLauncher.FindExecutable()
                    ?? throw new ArgumentException("No built server found (src/Host/bin/Release/net10.0/turbomft); build with 'dotnet build TurboMft.sln -c Release', give --server-exe, or attach with --url.");
                var dataParent = parse.GetValue(common.ServerData)?.FullName ?? Path.GetTempPath();
                launcher = await ServerLauncher.StartAsync(executable, dataParent, parse.GetRequiredValue(common.ServerSettings), parse.GetValue(common.KeepServerData), cancellationToken).ConfigureAwait(false);
                target = launcher.Target;
                await error.WriteLineAsync($"load: started {executable} at {target.Address} (pid {target.ServerPid}, data {launcher.DataPath})").ConfigureAwait(false);
            }

            var settings = common.Describe(parse, workload);
            foreach (var (key, value) in scenarioSettings)
            {
                settings[key] = value;
            }

            LoadReport report;
            await using (var session = await LoadSession.OpenAsync(target, workload, error, launcher is null ? null : () => launcher.LoggedProblems, cancellationToken).ConfigureAwait(false))
            {
                var (rate, grace) = session.MinimumBodyRate;
                settings["server min body rate"] = string.Create(CultureInfo.InvariantCulture, $"{rate} B/s after {grace} s");
                report = await scenario(session, cancellationToken).ConfigureAwait(false);
                if (launcher is null)
                {
                    await session.CleanUpAsync(maxClients, cancellationToken).ConfigureAwait(false);
                }
            }

            report = report with { Command = "turbomft-load " + string.Join(' ', args), Settings = settings };
            await output.WriteAsync(parse.GetValue(common.Json) ? ReportWriter.ToJson(report) + "\n" : ReportWriter.ToText(report)).ConfigureAwait(false);
            if (common.ResultsDirectory(parse) is { } results)
            {
                Directory.CreateDirectory(results);
                var stem = Path.Combine(results, string.Create(CultureInfo.InvariantCulture, $"{report.Scenario}-{report.Date:yyyyMMdd-HHmmss}"));
                await File.WriteAllTextAsync(stem + ".md", ReportWriter.ToMarkdown(report), cancellationToken).ConfigureAwait(false);
                await File.WriteAllTextAsync(stem + ".json", ReportWriter.ToJson(report), cancellationToken).ConfigureAwait(false);
                await error.WriteLineAsync($"load: report in {stem}.md and .json").ConfigureAwait(false);
            }

            return report.OutcomesAsIntended ? 0 : 1;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException or HttpRequestException or IOException or CryptographicException or TimeoutException)
        {
            await error.WriteLineAsync($"turbomft-load: error: {e.Message}").ConfigureAwait(false);
            return 1;
        }
        finally
        {
            if (launcher is not null)
            {
                await launcher.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
