using TurboMft.Load.Target;

namespace TurboMft.Load.Reporting;

/// <summary>Latency percentiles of one operation, in milliseconds (from an HdrHistogram at 3 significant digits).</summary>
public sealed record LatencySummary(string Operation, long Count, double MeanMs, double P50Ms, double P90Ms, double P99Ms, double P999Ms, double MaxMs);

/// <summary>The idle-connection figures of a run that held idle connections.</summary>
public sealed record IdleFigures
{
    /// <summary>Idle connections asked for.</summary>
    public int Connections { get; init; }

    /// <summary>Connections the idle clients opened in all (more than <see cref="Connections"/> means some were dropped and reopened).</summary>
    public long Connects { get; init; }

    /// <summary>Connections of idle clients that closed during the measured run.</summary>
    public long ClosedDuringRun { get; init; }

    /// <summary>Idle requests answered during the run.</summary>
    public long Requests { get; init; }
}

/// <summary>What one measured run (one client count, or one phase of a scenario) gave.</summary>
public sealed record RunReport
{
    /// <summary>What the run was, e.g. <c>64 clients</c> or <c>4 active + 1000 idle</c>.</summary>
    public required string Label { get; init; }

    /// <summary>Concurrent transferring clients.</summary>
    public int Clients { get; init; }

    /// <summary>The measurement window in seconds: throughput and operations per second are over this.</summary>
    public double WindowSeconds { get; init; }

    /// <summary>Seconds from the window's start until the last in-flight operation finished or was cancelled.</summary>
    public double ElapsedSeconds { get; init; }

    /// <summary>Uploads and downloads completed inside the window.</summary>
    public long Operations { get; init; }

    /// <summary>Uploads and downloads that completed after the window (their latencies are included).</summary>
    public long OperationsAfterWindow { get; init; }

    /// <summary>Completed operations per second of window.</summary>
    public double OperationsPerSecond { get; init; }

    /// <summary>File bytes uploaded in the window.</summary>
    public long UploadBytes { get; init; }

    /// <summary>File bytes downloaded in the window.</summary>
    public long DownloadBytes { get; init; }

    /// <summary>Upload throughput, MB/s (10^6 bytes).</summary>
    public double UploadMBps { get; init; }

    /// <summary>Download throughput, MB/s.</summary>
    public double DownloadMBps { get; init; }

    /// <summary>Aggregate throughput, uploads plus downloads, MB/s.</summary>
    public double TotalMBps { get; init; }

    /// <summary>Latencies per operation and request type.</summary>
    public IReadOnlyList<LatencySummary> Latencies { get; init; } = [];

    /// <summary>Latencies of whole uploads and downloads per file size.</summary>
    public IReadOnlyList<LatencySummary> LatenciesBySize { get; init; } = [];

    /// <summary>Unexpected failures, keyed <c>kind (operation)</c>, e.g. <c>http 500 internal (chunk PUT)</c>.</summary>
    public IReadOnlyDictionary<string, long> Errors { get; init; } = new Dictionary<string, long>();

    /// <summary>Sum of <see cref="Errors"/>.</summary>
    public long ErrorCount => Errors.Values.Sum();

    /// <summary>Slow-client uploads the server cut off (the intended outcome; not errors).</summary>
    public long CutOffs { get; init; }

    /// <summary>Named outcomes: commit states, cut-offs by how, operations cancelled at the end.</summary>
    public IReadOnlyDictionary<string, long> Outcomes { get; init; } = new Dictionary<string, long>();

    /// <summary>The server's memory, threads, CPU and connections during the run.</summary>
    public ServerStats? Server { get; init; }

    /// <summary>Lines the server logged at warning level or above during the run (when the driver started it).</summary>
    public int? ServerWarnings { get; init; }

    /// <summary>The first few of those lines.</summary>
    public IReadOnlyList<string> ServerWarningSamples { get; init; } = [];

    /// <summary>CPU seconds the driver itself used during the run (it shares the machine with the server).</summary>
    public double DriverCpuSeconds { get; init; }

    /// <summary>The machine's 1-minute load average at the start and the end of the run.</summary>
    public double[] LoadAverage { get; init; } = [];

    /// <summary>Idle connection figures, for runs that held them.</summary>
    public IdleFigures? Idle { get; init; }
}

/// <summary>One target from the issue, against what was measured: met, missed, or not measurable in this run (null).</summary>
public sealed record TargetCheck(string Name, string Target, string Measured, bool? Met);

/// <summary>The machine the run was on.</summary>
public sealed record MachineInfo(string CpuModel, int Cores, string Os, string Kernel, string Runtime)
{
    /// <summary>Reads this machine's CPU model (<c>/proc/cpuinfo</c>), cores, OS (<c>/etc/os-release</c>), kernel and .NET runtime.</summary>
    public static MachineInfo Current()
    {
        static string Read(string path, string key, char separator)
        {
            try
            {
                var line = File.ReadLines(path).FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal));
                return line is null ? "unknown" : line[(line.IndexOf(separator) + 1)..].Trim().Trim('"');
            }
            catch (IOException)
            {
                return "unknown";
            }
        }

        var kernel = File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : Environment.OSVersion.VersionString;
        return new MachineInfo(
            Read("/proc/cpuinfo", "model name", ':'),
            Environment.ProcessorCount,
            Read("/etc/os-release", "PRETTY_NAME", '='),
            kernel,
            System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription);
    }

    /// <summary>The 1-minute load average, or NaN where <c>/proc/loadavg</c> is missing.</summary>
    public static double LoadAverage()
    {
        try
        {
            var text = File.ReadAllText("/proc/loadavg");
            return double.Parse(text.AsSpan(0, text.IndexOf(' ')), System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }
}

/// <summary>One scenario's results: every run, the targets, the machine and how it was run.</summary>
public sealed record LoadReport
{
    /// <summary><c>mixed</c>, <c>idle</c> or <c>slow</c>.</summary>
    public required string Scenario { get; init; }

    /// <summary>When the scenario started (UTC).</summary>
    public DateTimeOffset Date { get; init; }

    /// <summary>The machine.</summary>
    public required MachineInfo Machine { get; init; }

    /// <summary>The command line that produced it.</summary>
    public string Command { get; init; } = string.Empty;

    /// <summary>The settings in force (driver and server).</summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();

    /// <summary>The runs, in order.</summary>
    public IReadOnlyList<RunReport> Runs { get; init; } = [];

    /// <summary>The targets for this scenario.</summary>
    public IReadOnlyList<TargetCheck> Targets { get; init; } = [];

    /// <summary>Whether the outcomes were the intended ones: no unexpected error and, per scenario, cut-offs seen or connections held.</summary>
    public bool OutcomesAsIntended { get; init; }

    /// <summary>Remarks: what was chosen, what to keep in mind reading the figures.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
}
