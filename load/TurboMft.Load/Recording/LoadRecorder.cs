using System.Collections.Concurrent;
using System.Diagnostics;
using HdrHistogram;

namespace TurboMft.Load.Recording;

/// <summary>
/// What one run measured, recorded concurrently by every client: an HdrHistogram of latencies (microseconds) per
/// operation, bytes and completed operations inside the measurement window, errors by kind and operation, and named
/// outcomes (commit states, cut-offs, operations cancelled at the end).
/// </summary>
public sealed class LoadRecorder
{
    /// <summary>Longest latency a histogram holds: one hour, in microseconds.</summary>
    public const long HighestLatencyMicroseconds = 3_600_000_000;

    private readonly ConcurrentDictionary<string, LongConcurrentHistogram> _latencies = new();
    private readonly ConcurrentDictionary<(string Operation, string Kind), long> _errors = new();
    private readonly ConcurrentDictionary<string, long> _outcomes = new();
    private long _windowStart;
    private long _windowEnd = long.MaxValue;
    private long _uploadBytes;
    private long _downloadBytes;
    private long _operations;
    private long _operationsAfterWindow;

    /// <summary>Starts the measurement window now; bytes and operations count only until it closes.</summary>
    public void StartWindow(TimeSpan duration)
    {
        _windowStart = Stopwatch.GetTimestamp();
        _windowEnd = _windowStart + (long)(duration.TotalSeconds * Stopwatch.Frequency);
    }

    /// <summary>Whether the window is still open (clients start no new operation after it closed).</summary>
    public bool WindowOpen => Stopwatch.GetTimestamp() < Volatile.Read(ref _windowEnd);

    /// <summary>The window's length in seconds, as set by <see cref="StartWindow"/>.</summary>
    public double WindowSeconds => (double)(_windowEnd - _windowStart) / Stopwatch.Frequency;

    /// <summary>File bytes uploaded (acknowledged by the server) inside the window.</summary>
    public long UploadBytes => Interlocked.Read(ref _uploadBytes);

    /// <summary>File bytes downloaded (received and checked) inside the window.</summary>
    public long DownloadBytes => Interlocked.Read(ref _downloadBytes);

    /// <summary>Uploads and downloads completed inside the window.</summary>
    public long Operations => Interlocked.Read(ref _operations);

    /// <summary>Uploads and downloads that completed after the window, while in-flight work drained.</summary>
    public long OperationsAfterWindow => Interlocked.Read(ref _operationsAfterWindow);

    /// <summary>Records the latency of <paramref name="operation"/> that started at <paramref name="startTimestamp"/> (<see cref="Stopwatch.GetTimestamp"/>).</summary>
    public void Latency(string operation, long startTimestamp)
    {
        var micros = (long)Stopwatch.GetElapsedTime(startTimestamp).TotalMicroseconds;
        _latencies.GetOrAdd(operation, _ => new LongConcurrentHistogram(1, HighestLatencyMicroseconds, 3))
            .RecordValue(Math.Clamp(micros, 1, HighestLatencyMicroseconds));
    }

    /// <summary>Counts <paramref name="bytes"/> uploaded, if the window is open.</summary>
    public void Uploaded(long bytes)
    {
        if (WindowOpen)
        {
            Interlocked.Add(ref _uploadBytes, bytes);
        }
    }

    /// <summary>Counts <paramref name="bytes"/> downloaded, if the window is open.</summary>
    public void Downloaded(long bytes)
    {
        if (WindowOpen)
        {
            Interlocked.Add(ref _downloadBytes, bytes);
        }
    }

    /// <summary>Counts one completed upload or download, inside or after the window.</summary>
    public void OperationCompleted()
    {
        if (WindowOpen)
        {
            Interlocked.Increment(ref _operations);
        }
        else
        {
            Interlocked.Increment(ref _operationsAfterWindow);
        }
    }

    /// <summary>Counts one failure of <paramref name="operation"/> of <paramref name="kind"/> (<see cref="FailureKinds.Classify"/>).</summary>
    public void Error(string operation, string kind) => _errors.AddOrUpdate((operation, kind), 1, (_, n) => n + 1);

    /// <summary>Counts one named outcome, e.g. <c>commit released</c>.</summary>
    public void Outcome(string name) => _outcomes.AddOrUpdate(name, 1, (_, n) => n + 1);

    /// <summary>A copy of the latency histogram of <paramref name="operation"/>, or null when none was recorded.</summary>
    public HistogramBase? LatencyOf(string operation) => _latencies.TryGetValue(operation, out var h) ? h.Copy() : null;

    /// <summary>The operations that have latencies.</summary>
    public IReadOnlyCollection<string> LatencyOperations => [.. _latencies.Keys];

    /// <summary>Errors by (operation, kind).</summary>
    public IReadOnlyDictionary<(string Operation, string Kind), long> Errors => new Dictionary<(string, string), long>(_errors);

    /// <summary>Named outcomes and their counts.</summary>
    public IReadOnlyDictionary<string, long> Outcomes => new Dictionary<string, long>(_outcomes);
}
