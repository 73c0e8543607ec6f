using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Client;
using TurboMft.Engine.Datasets;
using TurboMft.Load.Scenarios;
using TurboMft.Load.Target;
using TurboMft.Load.Workload;

namespace TurboMft.Load.Cli;

/// <summary>The options every scenario takes: which server (started or attached), the workload, and the output.</summary>
internal sealed class CommonOptions
{
    public Option<Uri?> Url { get; } = new("--url") { Description = "Attach to a running server at https://host:port instead of starting one (needs --token-file and --ca or --pin).", HelpName = "URL", CustomParser = OptionParsers.ServerUrl };

    public Option<FileInfo?> TokenFile { get; } = new("--token-file") { Description = "File holding a bearer token with write, read and delete on /load (e.g. DATA/admin.token).", HelpName = "FILE" };

    public Option<FileInfo?> Ca { get; } = new("--ca") { Description = "CA (or the server's own certificate, DATA/tls/server.crt) the server's certificate must chain to.", HelpName = "FILE" };

    public Option<string?> Pin { get; } = new("--pin") { Description = "The server certificate's pin, sha256:HEX (printed by turbomft serve).", HelpName = "PIN" };

    public Option<int?> ServerPid { get; } = new("--server-pid") { Description = "The attached server's process id, for RSS, threads and CPU from /proc.", HelpName = "PID" };

    public Option<FileInfo?> ServerExe { get; } = new("--server-exe") { Description = "turbomft executable to start (default: src/Host/bin/Release/net10.0/turbomft of this repository).", HelpName = "PATH" };

    public Option<DirectoryInfo?> ServerData { get; } = new("--server-data") { Description = "Where the started server's throwaway data directory goes (default: the temp directory; /dev/shm measures CPU, not disk).", HelpName = "DIR" };

    public Option<Dictionary<string, string>> ServerSettings { get; } = new("--server-setting")
    {
        Description = "A setting of the started server, KEY=VALUE (as TURBOMFT_KEY; ':' for nesting), e.g. MinRequestBodyGraceSeconds=2. Repeatable.",
        HelpName = "KEY=VALUE",
        CustomParser = OptionParsers.Settings,
        DefaultValueFactory = _ => [],
        Arity = ArgumentArity.ZeroOrMore,
        AllowMultipleArgumentsPerToken = false,
    };

    public Option<bool> KeepServerData { get; } = new("--keep-server-data") { Description = "Keep the started server's data directory." };

    public Option<TimeSpan> Duration { get; } = new("--duration") { Description = "Measurement window of each run (e.g. 30s).", DefaultValueFactory = _ => TimeSpan.FromSeconds(30), CustomParser = OptionParsers.Duration, HelpName = "TIME" };

    public Option<TimeSpan> Drain { get; } = new("--drain") { Description = "Time operations in flight at the window's end get to finish before they are cancelled.", DefaultValueFactory = _ => TimeSpan.FromSeconds(30), CustomParser = OptionParsers.Duration, HelpName = "TIME" };

    public Option<string> Sizes { get; } = new("--sizes") { Description = $"File sizes and weights (default {SizeMix.DefaultText}).", DefaultValueFactory = _ => SizeMix.DefaultText, HelpName = "SIZE:WEIGHT,..." };

    public Option<double> DownloadShare { get; } = new("--download-share") { Description = "Share of operations that are downloads, 0 to 1.", DefaultValueFactory = _ => 0.5, HelpName = "SHARE" };

    public Option<long> Seed { get; } = new("--seed") { Description = "Seed of the content and of every client's choices.", DefaultValueFactory = _ => 1 };

    public Option<int> ChunkSize { get; } = new("--chunk-size") { Description = "Chunk size of session uploads (files below it go one-shot).", DefaultValueFactory = _ => ChunkGeometry.DefaultChunkSize, CustomParser = OptionParsers.ChunkSize, HelpName = "SIZE" };

    public Option<int> ChunksInFlight { get; } = new("--chunks-in-flight") { Description = "Chunk PUTs or range GETs each client has in flight (turbomft push's --connections).", DefaultValueFactory = _ => 4 };

    public Option<string> Http { get; } = new("--http") { Description = "HTTP version: 1.1 (a connection per chunk in flight) or 2 (streams).", DefaultValueFactory = _ => "1.1" };

    public Option<DatasetKind> Content { get; } = new("--content") { Description = "File content: Random (incompressible), HistorianCsv or ImagingFrames.", DefaultValueFactory = _ => DatasetKind.Random };

    public Option<bool> NoCompress { get; } = new("--no-compress") { Description = "Send chunks raw (default: LZ4 where the client's adaptive policy would)." };

    public Option<TimeSpan> RequestTimeout { get; } = new("--request-timeout") { Description = "Longest wait for one request before it counts as a timeout.", DefaultValueFactory = _ => TimeSpan.FromSeconds(120), CustomParser = OptionParsers.Duration, HelpName = "TIME" };

    public Option<bool> Json { get; } = new("--json") { Description = "Print the report as one JSON document instead of tables." };

    public Option<DirectoryInfo?> Results { get; } = new("--results") { Description = "Where the markdown and JSON report files go (default: load/results of this repository).", HelpName = "DIR" };

    public Option<bool> NoResults { get; } = new("--no-results") { Description = "Write no report files." };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[]
        {
            Url, TokenFile, Ca, Pin, ServerPid, ServerExe, ServerData, ServerSettings, KeepServerData, Duration, Drain, Sizes, DownloadShare, Seed,
            ChunkSize, ChunksInFlight, Http, Content, NoCompress, RequestTimeout, Json, Results, NoResults,
        })
        {
            command.Options.Add(option);
        }
    }

    /// <summary>The workload settings; throws <see cref="ArgumentException"/> or <see cref="FormatException"/> for values that cannot work.</summary>
    public WorkloadSettings Workload(ParseResult parse)
    {
        var share = parse.GetValue(DownloadShare);
        if (share is < 0 or > 1)
        {
            throw new ArgumentException($"--download-share must be from 0 to 1, not {share.ToString(CultureInfo.InvariantCulture)}.");
        }

        var inFlight = parse.GetValue(ChunksInFlight);
        if (inFlight is < 1 or > 256)
        {
            throw new ArgumentException($"--chunks-in-flight must be from 1 to 256, not {inFlight}.");
        }

        var http = parse.GetValue(Http) switch
        {
            "1.1" or "1" => HttpVersion.Version11,
            "2" or "2.0" => HttpVersion.Version20,
            var other => throw new ArgumentException($"--http must be 1.1 or 2, not '{other}'."),
        };
        return new WorkloadSettings
        {
            Sizes = SizeMix.Parse(parse.GetRequiredValue(Sizes)),
            DownloadShare = share,
            Seed = parse.GetValue(Seed),
            ChunkSize = parse.GetValue(ChunkSize),
            Content = parse.GetValue(Content),
            Compress = !parse.GetValue(NoCompress),
            Profile = new ClientProfile(inFlight, http, parse.GetValue(RequestTimeout)),
            Duration = parse.GetValue(Duration),
            Drain = parse.GetValue(Drain),
        };
    }

    /// <summary>The settings as the report lists them.</summary>
    public Dictionary<string, string> Describe(ParseResult parse, WorkloadSettings workload)
    {
        var settings = new Dictionary<string, string>
        {
            ["duration"] = $"{workload.Duration.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s",
            ["drain"] = $"{workload.Drain.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s",
            ["sizes"] = workload.Sizes.ToString(),
            ["download-share"] = workload.DownloadShare.ToString(CultureInfo.InvariantCulture),
            ["seed"] = workload.Seed.ToString(CultureInfo.InvariantCulture),
            ["chunk-size"] = ByteSize.Format(workload.ChunkSize),
            ["chunks-in-flight"] = workload.Profile.ChunksInFlight.ToString(CultureInfo.InvariantCulture),
            ["http"] = workload.Profile.HttpVersion.ToString(),
            ["content"] = workload.Content.ToString(),
            ["compress"] = workload.Compress ? "adaptive LZ4" : "none",
            ["request-timeout"] = $"{workload.Profile.RequestTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s",
        };
        if (parse.GetValue(Url) is { } url)
        {
            settings["server"] = $"attached {url}";
        }
        else
        {
            settings["server"] = $"started, data in {parse.GetValue(ServerData)?.FullName ?? Path.GetTempPath()}";
            foreach (var (key, value) in parse.GetRequiredValue(ServerSettings))
            {
                settings["server " + key] = value;
            }
        }

        return settings;
    }

    /// <summary>The server to attach to, from --url, --token-file, --ca or --pin, and --server-pid; null when --url is absent.</summary>
    public LoadTarget? Attached(ParseResult parse)
    {
        if (parse.GetValue(Url) is not { } url)
        {
            return null;
        }

        var tokenFile = parse.GetValue(TokenFile) ?? throw new ArgumentException("--url needs --token-file (a token with write, read and delete on /load).");
        var token = File.ReadAllText(tokenFile.FullName).Trim();
        var pin = parse.GetValue(Pin) is { } text ? CertificatePin.Parse(text) : null;
        var ca = parse.GetValue(Ca) is { } file ? X509CertificateLoader.LoadCertificateFromFile(file.FullName) : null;
        if (pin is null && ca is null)
        {
            throw new ArgumentException("--url needs --ca FILE or --pin sha256:HEX to trust the server's certificate.");
        }

        return new LoadTarget(url, token, pin, ca, parse.GetValue(ServerPid));
    }

    /// <summary>The report directory: --results, else load/results of the repository holding the current directory, else ./load-results.</summary>
    public string? ResultsDirectory(ParseResult parse)
    {
        if (parse.GetValue(NoResults))
        {
            return null;
        }

        if (parse.GetValue(Results) is { } given)
        {
            return given.FullName;
        }

        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "TurboMft.sln")))
            {
                return Path.Combine(dir.FullName, "load", "results");
            }
        }

        return Path.Combine(Environment.CurrentDirectory, "load-results");
    }
}
