using System.Diagnostics;
using System.Globalization;
using Prometheus;
using TurboMft.Engine.Buffers;

namespace TurboMft.Host.Metrics;

/// <summary>Which way file content moves, seen from the server.</summary>
public enum TransferDirection
{
    /// <summary>Into the server: resumable sessions and one-shot PUTs.</summary>
    Upload,

    /// <summary>Out of the server: GETs of a file (whole or one range).</summary>
    Download,
}

/// <summary>How an upload ended (each upload counts once, when it ends).</summary>
public enum UploadOutcome
{
    /// <summary>Verified and committed as a new version.</summary>
    Committed,

    /// <summary>A session deleted by its client.</summary>
    Aborted,

    /// <summary>A session that received nothing for <c>UploadExpiryHours</c>.</summary>
    Expired,

    /// <summary>A one-shot PUT that did not commit (verification, a broken connection, a full disk). A session never fails: it stays open for a retry.</summary>
    Failed,
}

/// <summary>How a download (one GET) ended.</summary>
public enum DownloadOutcome
{
    /// <summary>Every byte asked for was written to the response.</summary>
    Completed,

    /// <summary>Streaming stopped midway (the client went away, a container could not be read).</summary>
    Failed,

    /// <summary>Refused because the current version is not released (pending, quarantined, rejected).</summary>
    Rejected,
}

/// <summary>A check the server makes on what a client sent; its failures are counted by which check failed.</summary>
public enum VerificationCheck
{
    /// <summary>A chunk's plaintext does not match its TMF-Chunk-CRC64.</summary>
    ChunkCrc,

    /// <summary>A chunk does not match its Content-Digest or Repr-Digest.</summary>
    ChunkDigest,

    /// <summary>A chunk body is short or its LZ4 block does not decode to the chunk's length.</summary>
    ChunkBody,

    /// <summary>A file's digest differs from the one the client expected.</summary>
    FileDigest,

    /// <summary>A one-shot body's length differs from its Content-Length.</summary>
    FileSize,
}

/// <summary>
/// Transfer instruments (docs/operations.md, "Metrics"): transfers and their bytes by direction and outcome, chunk
/// latency, bytes held by requests in progress, open upload sessions, the chunk buffer pools, verification failures.
/// Labelled children are created once here, so an update on the chunk path is a lookup-free, allocation-free call.
/// </summary>
public sealed class TransferMetrics
{
    private static readonly string[] UploadOutcomes = ["committed", "aborted", "expired", "failed"];
    private static readonly string[] DownloadOutcomes = ["completed", "failed", "rejected"];
    private static readonly string[] Checks = ["chunk-crc", "chunk-digest", "chunk-body", "file-digest", "file-size"];

    private readonly Counter.Child[] _uploads;
    private readonly Counter.Child[] _uploadBytes;
    private readonly Counter.Child[] _downloads;
    private readonly Counter.Child[] _downloadBytes;
    private readonly Counter.Child[] _verificationFailures;
    private readonly Histogram.Child[] _chunkSeconds;
    private readonly Gauge.Child[] _bytesInFlight;
    private readonly Gauge _sessions;
    private readonly Gauge _poolRented;
    private readonly Gauge _poolBudget;
    private readonly Gauge _poolAllocated;
    private readonly ServerMetrics _metrics;

    /// <summary>Creates the instruments in <paramref name="metrics"/>.</summary>
    public TransferMetrics(ServerMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        _metrics = metrics;
        var factory = metrics.Factory;
        string[] directionAndOutcome = ["direction", "outcome"];
        var transfers = factory.CreateCounter("turbomft_transfers_total", "Transfers ended, by direction and outcome (an upload when it commits, is aborted, expires or fails; a download per GET).", directionAndOutcome);
        var bytes = factory.CreateCounter("turbomft_transfer_bytes_total", "Plaintext bytes of ended transfers, by direction and outcome (committed: the file's size; aborted, expired: the chunks held; failed: what was received or sent).", directionAndOutcome);
        _uploads = [.. UploadOutcomes.Select(o => transfers.WithLabels("upload", o))];
        _uploadBytes = [.. UploadOutcomes.Select(o => bytes.WithLabels("upload", o))];
        _downloads = [.. DownloadOutcomes.Select(o => transfers.WithLabels("download", o))];
        _downloadBytes = [.. DownloadOutcomes.Select(o => bytes.WithLabels("download", o))];

        var chunkSeconds = factory.CreateHistogram(
            "turbomft_chunk_duration_seconds",
            "Time to handle one chunk: upload, from its first body byte to its sealed record written and recorded; download, from reading the record to its plaintext written to the response.",
            ["direction"],
            new HistogramConfiguration { Buckets = ServerMetrics.SecondsBuckets(30) });
        _chunkSeconds = [chunkSeconds.WithLabels("upload"), chunkSeconds.WithLabels("download")];

        var inFlight = factory.CreateGauge("turbomft_bytes_in_flight", "Chunk bytes held in server buffers by requests being processed, by direction.", ["direction"]);
        _bytesInFlight = [inFlight.WithLabels("upload"), inFlight.WithLabels("download")];

        var failures = factory.CreateCounter("turbomft_verification_failures_total", "Client data refused by a check, by check (the chunk or file is not stored; the client may resend).", ["check"]);
        _verificationFailures = [.. Checks.Select(c => failures.WithLabels(c))];

        _sessions = factory.CreateGauge("turbomft_upload_sessions_active", "Upload sessions open in this server process (created or resumed since it started, not yet committed, aborted or expired).");
        string[] chunkSize = ["chunk_size"];
        _poolRented = factory.CreateGauge("turbomft_buffer_pool_rented_bytes", "Bytes of chunk buffers rented from the server's pool, by chunk size in bytes.", chunkSize);
        _poolBudget = factory.CreateGauge("turbomft_buffer_pool_budget_bytes", "The pool's budget: bytes of chunk buffers it lends at most at once (requests beyond it wait), by chunk size.", chunkSize);
        _poolAllocated = factory.CreateGauge("turbomft_buffer_pool_allocated_bytes", "Bytes of chunk buffers the pool has allocated (kept for reuse), by chunk size.", chunkSize);
    }

    /// <summary>Counts an ended upload of <paramref name="bytes"/> plaintext bytes.</summary>
    public void UploadEnded(UploadOutcome outcome, long bytes)
    {
        _uploads[(int)outcome].Inc();
        _uploadBytes[(int)outcome].Inc(bytes);
    }

    /// <summary>Counts an ended download of <paramref name="bytes"/> bytes sent.</summary>
    public void DownloadEnded(DownloadOutcome outcome, long bytes)
    {
        _downloads[(int)outcome].Inc();
        _downloadBytes[(int)outcome].Inc(bytes);
    }

    /// <summary>Observes one chunk handled since <paramref name="startTimestamp"/> (<see cref="Stopwatch.GetTimestamp"/>).</summary>
    public void ChunkHandled(TransferDirection direction, long startTimestamp) =>
        _chunkSeconds[(int)direction].Observe(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds);

    /// <summary>A request now holds <paramref name="bytes"/> chunk bytes in server buffers.</summary>
    public void BytesHeld(TransferDirection direction, long bytes) => _bytesInFlight[(int)direction].Inc(bytes);

    /// <summary>A request no longer holds <paramref name="bytes"/> chunk bytes.</summary>
    public void BytesReleased(TransferDirection direction, long bytes) => _bytesInFlight[(int)direction].Dec(bytes);

    /// <summary>Counts data refused by <paramref name="check"/>.</summary>
    public void VerificationFailed(VerificationCheck check) => _verificationFailures[(int)check].Inc();

    /// <summary>Reads the number of open upload sessions from <paramref name="openSessions"/> before every scrape.</summary>
    public void ObserveSessions(Func<int> openSessions)
    {
        ArgumentNullException.ThrowIfNull(openSessions);
        _metrics.BeforeScrape(() => _sessions.Set(openSessions()));
    }

    /// <summary>Reads the chunk buffer pools (by chunk size) from <paramref name="pools"/> before every scrape.</summary>
    public void ObservePools(Func<IEnumerable<KeyValuePair<int, ChunkBufferPool>>> pools)
    {
        ArgumentNullException.ThrowIfNull(pools);
        _metrics.BeforeScrape(() =>
        {
            foreach (var (chunkSize, pool) in pools())
            {
                var label = chunkSize.ToString(CultureInfo.InvariantCulture);
                _poolRented.WithLabels(label).Set((double)pool.InFlight * pool.BufferSize);
                _poolBudget.WithLabels(label).Set((double)pool.MaxInFlight * pool.BufferSize);
                _poolAllocated.WithLabels(label).Set((double)pool.Created * pool.BufferSize);
            }
        });
    }
}
