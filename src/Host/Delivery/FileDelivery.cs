using System.Diagnostics;
using System.IO.Pipelines;
using TurboMft.Engine.Container;
using TurboMft.Engine.Crypto;
using TurboMft.Engine.Storage;
using TurboMft.Host.Audit;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Metadata;
using TurboMft.Host.Metrics;

namespace TurboMft.Host.Delivery;

/// <summary>
/// The read side (docs/protocol.md, "Downloads"): finds the current version of a path, decides whether it is served
/// (released, the range inside it), records the download, opens its container from the object store, and writes the
/// plaintext of the range, decrypted a chunk at a time, into a pipe. The download endpoint parses, authorizes, calls it and
/// shapes the answer; it knows nothing of HTTP.
/// </summary>
public sealed class FileDelivery(IMetadataStore metadata, IObjectStore store, KeyRing keys, ServerBuffers buffers, IAuditTrail audit, TransferMetrics metrics)
{
    /// <summary>Bytes written to the pipe at a time (Kestrel's default response buffer limit).</summary>
    private const int Slice = 64 * 1024;

    /// <summary>
    /// Plans the download of <paramref name="path"/>'s current version: bytes <paramref name="range"/> (one <c>bytes=a-b</c>,
    /// <c>bytes=a-</c> or <c>bytes=-n</c>; null for the whole file), by <paramref name="actor"/>. Unless
    /// <paramref name="headOnly"/>, the outcome is recorded (<c>file.download</c>, success or denied) and the container of a
    /// non-empty file opened: dispose the download when done.
    /// </summary>
    public async Task<PlannedDownload> PlanAsync(
        string path, string? range, bool headOnly, AuditActor actor, string? correlationId, CancellationToken cancellationToken)
    {
        var version = await metadata.GetCurrentVersionAsync(path, cancellationToken).ConfigureAwait(false);
        if (version is null)
        {
            return new PlannedDownload(DownloadVerdict.NotFound, null, 0, 0, false);
        }

        // The newest version decides: while it is held, the path serves nothing (docs/content-security.md, "Release states").
        if (version.State != ReleaseState.Released)
        {
            if (!headOnly)
            {
                audit.Append(Event(actor, correlationId, AuditOutcome.Denied, version) with { Detail = $"version {version.VersionId} is {version.State.ToName()}" });
                metrics.DownloadEnded(DownloadOutcome.Rejected, 0);
            }

            return new PlannedDownload(DownloadVerdict.NotReleased, version, 0, 0, false);
        }

        long start = 0, end = version.Size - 1;
        var partial = false;
        if (range is { Length: > 0 })
        {
            if (!TryParseRange(range, version.Size, out start, out end))
            {
                return new PlannedDownload(DownloadVerdict.RangeNotSatisfiable, version, 0, 0, false);
            }

            partial = true;
        }

        if (headOnly)
        {
            return new PlannedDownload(DownloadVerdict.Served, version, start, end, partial);
        }

        audit.Append(Event(actor, correlationId, AuditOutcome.Success, version) with { Detail = partial ? $"bytes {start}-{end}" : null });
        var planned = new PlannedDownload(DownloadVerdict.Served, version, start, end, partial);
        if (version.Size > 0)
        {
            planned.Open(ContainerReader.Open(store.OpenRead(version.ObjectKey), keys.Resolver()));
        }

        return planned;
    }

    /// <summary>
    /// Writes the planned bytes into <paramref name="body"/>, a chunk at a time in slices of 64 KiB, each flushed so that a
    /// slow reader holds back the next read rather than a whole chunk in memory; stops when the reader of the pipe is gone.
    /// The download is counted in the transfer metrics (completed, or failed with the bytes sent).
    /// </summary>
    public async Task SendAsync(PlannedDownload download, PipeWriter body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(download);
        ArgumentNullException.ThrowIfNull(body);
        if (download.Reader is not { } reader)
        {
            // An empty file: nothing to read.
            metrics.DownloadEnded(DownloadOutcome.Completed, 0);
            return;
        }

        var (start, end) = (download.Start, download.End);
        using var opener = reader.CreateOpener();
        var pool = buffers.For(reader.Geometry.ChunkSize);
        var (record, plain) = await pool.RentPairAsync(cancellationToken).ConfigureAwait(false);
        long sent = 0;
        var completed = false;
        try
        {
            var geometry = reader.Geometry;
            for (var index = start / geometry.ChunkSize; index <= end / geometry.ChunkSize; index++)
            {
                var started = Stopwatch.GetTimestamp();
                var length = reader.ReadChunk(opener, index, record, plain.Span);
                var chunkStart = geometry.OffsetOf(index);
                var from = (int)Math.Max(0, start - chunkStart);
                var to = (int)Math.Min(length, end - chunkStart + 1);
                metrics.BytesHeld(TransferDirection.Download, to - from);
                try
                {
                    // In slices: Kestrel buffers a whole write before applying backpressure, so one 4 MiB write would park a
                    // whole chunk per slow reader. Each slice is one pipe segment (GetSpan), not sixteen 4 KiB pool blocks.
                    for (var at = from; at < to; at += Slice)
                    {
                        var count = Math.Min(to - at, Slice);
                        plain.Span.Slice(at, count).CopyTo(body.GetSpan(count));
                        body.Advance(count);
                        var flushed = await body.FlushAsync(cancellationToken).ConfigureAwait(false);
                        if (flushed.IsCanceled || flushed.IsCompleted)
                        {
                            // The connection is gone: stop reading and decrypting for nobody; counted as a failed download.
                            return;
                        }
                    }
                }
                finally
                {
                    metrics.BytesReleased(TransferDirection.Download, to - from);
                }

                sent += to - from;
                metrics.ChunkHandled(TransferDirection.Download, started);
            }

            completed = true;
        }
        finally
        {
            metrics.DownloadEnded(completed ? DownloadOutcome.Completed : DownloadOutcome.Failed, sent);
            pool.Return(record);
            pool.Return(plain);
        }
    }

    /// <summary>Parses one <c>bytes=a-b</c>, <c>bytes=a-</c> or <c>bytes=-n</c> range inside a file of <paramref name="size"/> bytes.</summary>
    public static bool TryParseRange(string header, long size, out long start, out long end)
    {
        ArgumentNullException.ThrowIfNull(header);
        start = end = 0;
        if (!header.StartsWith("bytes=", StringComparison.Ordinal) || header.Contains(',', StringComparison.Ordinal) || size == 0)
        {
            return false;
        }

        var spec = header["bytes=".Length..].Trim();
        var dash = spec.IndexOf('-', StringComparison.Ordinal);
        if (dash < 0)
        {
            return false;
        }

        var first = spec[..dash];
        var last = spec[(dash + 1)..];
        if (first.Length == 0)
        {
            if (!long.TryParse(last, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var suffix) || suffix <= 0)
            {
                return false;
            }

            start = Math.Max(0, size - suffix);
            end = size - 1;
            return true;
        }

        if (!long.TryParse(first, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out start) || start >= size)
        {
            return false;
        }

        if (last.Length == 0)
        {
            end = size - 1;
            return true;
        }

        if (!long.TryParse(last, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out end) || end < start)
        {
            return false;
        }

        end = Math.Min(end, size - 1);
        return true;
    }

    private static AuditEvent Event(AuditActor actor, string? correlationId, string outcome, FileVersion version) => new()
    {
        Action = "file.download",
        Actor = actor,
        Outcome = outcome,
        Path = version.Path,
        CorrelationId = correlationId,
        Size = version.Size,
        Digest = version.Digest,
    };
}

/// <summary>Whether a download is served.</summary>
public enum DownloadVerdict
{
    /// <summary>Served: the whole file or the range asked for.</summary>
    Served,

    /// <summary>No file at the path.</summary>
    NotFound,

    /// <summary>The current version is held (pending, quarantined or rejected).</summary>
    NotReleased,

    /// <summary>The range is not one range inside the file.</summary>
    RangeNotSatisfiable,
}

/// <summary>
/// A download as <see cref="FileDelivery.PlanAsync"/> decided it: the verdict, the version, the bytes
/// <see cref="Start"/> to <see cref="End"/> (inclusive) and, for a body, the container opened for reading.
/// </summary>
public sealed class PlannedDownload(DownloadVerdict verdict, FileVersion? version, long start, long end, bool partial) : IDisposable
{
    /// <summary>Whether it is served.</summary>
    public DownloadVerdict Verdict => verdict;

    /// <summary>The current version (null when there is none).</summary>
    public FileVersion? Version => version;

    /// <summary>The first byte served.</summary>
    public long Start => start;

    /// <summary>The last byte served (inclusive; −1 for an empty file).</summary>
    public long End => end;

    /// <summary>True when a range was asked for and is served.</summary>
    public bool Partial => partial;

    /// <summary>
    /// The stored checks of the one chunk served, when the range is exactly one whole chunk (so that a client verifies it
    /// without hashing it again, docs/protocol.md, "Downloads"); null otherwise or without a body.
    /// </summary>
    public WholeChunk? WholeChunk { get; private set; }

    /// <summary>The container, open while the body is sent.</summary>
    internal ContainerReader? Reader { get; private set; }

    /// <inheritdoc />
    public void Dispose() => Reader?.Dispose();

    internal void Open(ContainerReader reader)
    {
        Reader = reader;
        var geometry = reader.Geometry;
        var first = start / geometry.ChunkSize;
        if (start == geometry.OffsetOf(first) && end - start + 1 == geometry.LengthOf(first))
        {
            WholeChunk = new WholeChunk(reader.GetEntry(first).PlainCrc64, reader.GetChunkDigest(first).ToArray());
        }
    }
}

/// <summary>The stored checks of one chunk: its plaintext's CRC-64/NVME and SHA-256.</summary>
/// <param name="Crc64">The CRC-64/NVME.</param>
/// <param name="Sha256">The SHA-256.</param>
public sealed record WholeChunk(ulong Crc64, byte[] Sha256);
