using System.Globalization;

namespace TurboMft.Load.Target;

/// <summary>One look at the server process: resident memory, its peak, threads, CPU time, and established connections on its port.</summary>
public sealed record ServerSample(long RssBytes, long PeakRssBytes, int Threads, double CpuSeconds, int Connections);

/// <summary>
/// Reads the server's state from Linux <c>/proc</c>: <c>/proc/PID/status</c> (VmRSS, VmHWM, Threads), <c>/proc/PID/stat</c>
/// (utime + stime) and <c>/proc/net/tcp</c>, <c>tcp6</c> (sockets in ESTABLISHED state whose local port is the server's).
/// Without a process id only the connection count is known.
/// </summary>
public sealed class ServerProbe(int? pid, int port)
{
    // The kernel reports CPU times in USER_HZ ticks, which is 100 on every Linux ABI .NET runs on.
    private const double TicksPerSecond = 100;

    /// <summary>The server's process id, when known.</summary>
    public int? Pid { get; } = pid;

    /// <summary>The server's TCP port.</summary>
    public int Port { get; } = port;

    /// <summary>Samples the server now (only the connection count when its process id is unknown); null when it is gone.</summary>
    public ServerSample? Sample()
    {
        var connections = CountEstablished(Port);
        if (Pid is not { } id)
        {
            return new ServerSample(0, 0, 0, 0, connections);
        }

        try
        {
            long rss = 0, peak = 0;
            var threads = 0;
            foreach (var line in File.ReadLines($"/proc/{id}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = Kilobytes(line) * 1024;
                }
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    peak = Kilobytes(line) * 1024;
                }
                else if (line.StartsWith("Threads:", StringComparison.Ordinal))
                {
                    threads = int.Parse(line.AsSpan(8).Trim(), CultureInfo.InvariantCulture);
                }
            }

            // Fields after the parenthesised command name: state is field 3, utime 14 and stime 15 (proc(5)).
            var stat = File.ReadAllText($"/proc/{id}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return new ServerSample(rss, peak, threads, ticks / TicksPerSecond, connections);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>Resets the kernel's peak-RSS mark (VmHWM) through <c>/proc/PID/clear_refs</c>; false when not allowed.</summary>
    public bool ResetPeak()
    {
        if (Pid is not { } id)
        {
            return false;
        }

        try
        {
            File.WriteAllText($"/proc/{id}/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Sockets in ESTABLISHED state whose local port is <paramref name="port"/>: the server's side of its connections.</summary>
    public static int CountEstablished(int port)
    {
        var count = 0;
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            if (!File.Exists(table))
            {
                continue;
            }

            foreach (var line in File.ReadLines(table).Skip(1))
            {
                // "sl local_address rem_address st ...": local_address is HEXADDR:HEXPORT, st 01 is ESTABLISHED.
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length > 3 && parts[3] == "01"
                    && int.TryParse(parts[1].AsSpan(parts[1].LastIndexOf(':') + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var local)
                    && local == port)
                {
                    count++;
                }
            }
        }

        return count;
    }

    /// <summary>Samples every <paramref name="interval"/> in the background until the watch is stopped.</summary>
    public ServerWatch Watch(TimeSpan interval) => new(this, interval);

    private static long Kilobytes(string line) =>
        long.Parse(line.AsSpan(line.IndexOf(':') + 1).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
}

/// <summary>The server's figures over one run: peaks, the last sample, CPU used and the range of connection counts.</summary>
public sealed record ServerStats
{
    /// <summary>Largest VmRSS sampled, MiB.</summary>
    public double? RssPeakMiB { get; init; }

    /// <summary>VmRSS at the end, MiB.</summary>
    public double? RssEndMiB { get; init; }

    /// <summary>The kernel's own peak (VmHWM) at the end, MiB; covers the run only when it could be reset at the start.</summary>
    public double? KernelPeakMiB { get; init; }

    /// <summary>Whether <see cref="KernelPeakMiB"/> was reset at the start of the run.</summary>
    public bool KernelPeakReset { get; init; }

    /// <summary>Most threads sampled.</summary>
    public int? ThreadsPeak { get; init; }

    /// <summary>Threads at the end.</summary>
    public int? ThreadsEnd { get; init; }

    /// <summary>CPU seconds the server used during the run.</summary>
    public double? CpuSeconds { get; init; }

    /// <summary>Average CPU use during the run, percent of one core.</summary>
    public double? CpuPercent { get; init; }

    /// <summary>Fewest established connections sampled on the server's port.</summary>
    public int ConnectionsMin { get; init; }

    /// <summary>Most established connections sampled on the server's port.</summary>
    public int ConnectionsMax { get; init; }

    /// <summary>How many samples were taken.</summary>
    public int Samples { get; init; }
}

/// <summary>A background sampler of one <see cref="ServerProbe"/>; <see cref="StopAsync"/> gives the run's <see cref="ServerStats"/>.</summary>
public sealed class ServerWatch
{
    private readonly ServerProbe _probe;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly ServerSample? _first;
    private readonly bool _peakReset;
    private readonly long _started = System.Diagnostics.Stopwatch.GetTimestamp();
    private long _rssPeak;
    private int _threadsPeak;
    private int _connectionsMin = int.MaxValue;
    private int _connectionsMax;
    private int _samples;

    internal ServerWatch(ServerProbe probe, TimeSpan interval)
    {
        _probe = probe;
        _peakReset = probe.ResetPeak();
        _first = probe.Sample();
        Take(_first);
        _loop = RunAsync(interval);
    }

    /// <summary>Stops sampling, takes a last sample and sums up.</summary>
    public async Task<ServerStats> StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
        var last = _probe.Sample();
        Take(last);
        var known = _probe.Pid is not null && last is not null && _first is not null;
        var seconds = System.Diagnostics.Stopwatch.GetElapsedTime(_started).TotalSeconds;
        return new ServerStats
        {
            RssPeakMiB = known ? _rssPeak / 1048576.0 : null,
            RssEndMiB = known ? last!.RssBytes / 1048576.0 : null,
            KernelPeakMiB = known ? last!.PeakRssBytes / 1048576.0 : null,
            KernelPeakReset = _peakReset,
            ThreadsPeak = known ? _threadsPeak : null,
            ThreadsEnd = known ? last!.Threads : null,
            CpuSeconds = known ? last!.CpuSeconds - _first!.CpuSeconds : null,
            CpuPercent = known && seconds > 0 ? 100 * (last!.CpuSeconds - _first!.CpuSeconds) / seconds : null,
            ConnectionsMin = _samples == 0 ? 0 : _connectionsMin,
            ConnectionsMax = _connectionsMax,
            Samples = _samples,
        };
    }

    private async Task RunAsync(TimeSpan interval)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                Take(_probe.Sample());
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }

    private void Take(ServerSample? sample)
    {
        if (sample is null)
        {
            return;
        }

        _samples++;
        _rssPeak = Math.Max(_rssPeak, sample.RssBytes);
        _threadsPeak = Math.Max(_threadsPeak, sample.Threads);
        _connectionsMin = Math.Min(_connectionsMin, sample.Connections);
        _connectionsMax = Math.Max(_connectionsMax, sample.Connections);
    }
}
