using System.Buffers;
using TurboMft.Host.Metadata;

namespace TurboMft.Host.Scanning;

/// <summary>Bounds of the archive walk (docs/content-security.md, "Archive limits"); exceeding one is an <c>archive-bomb:&lt;reason&gt;</c> finding.</summary>
public sealed class ArchiveLimits
{
    /// <summary>Archives nested deeper than this (the file itself is level 1) are <c>archive-bomb:depth</c>.</summary>
    public int MaxDepth { get; init; } = 3;

    /// <summary>Bytes all decompressors together may produce (<c>archive-bomb:expanded-size</c>).</summary>
    public long MaxExpandedBytes { get; init; } = 4L << 30;

    /// <summary>Largest expansion of one entry over its compressed bytes (<c>archive-bomb:ratio</c>) …</summary>
    public int MaxRatio { get; init; } = 200;

    /// <summary>… once it has produced more than this many bytes (small, very compressible files are common).</summary>
    public long RatioFloorBytes { get; init; } = 1 << 20;

    /// <summary>Entries at all levels together (<c>archive-bomb:entry-count</c>).</summary>
    public int MaxEntries { get; init; } = 100_000;
}

/// <summary>
/// Walks zip, gzip and tar archives and the archives nested in them (docs/content-security.md, "archive"), streaming:
/// nothing is extracted to disk and no entry is held in memory. Findings: <c>archive-bomb:depth</c>,
/// <c>archive-bomb:expanded-size</c>, <c>archive-bomb:ratio</c>, <c>archive-bomb:entry-count</c>,
/// <c>archive-bomb:overlapping-entries</c>; <c>archive-malformed</c> (corrupt, truncated or self-contradicting);
/// <c>archive-uninspectable:&lt;reason&gt;</c> (encrypted, unsupported compression); and, for each entry, the file-type
/// rules' <c>type-denied:&lt;type&gt;</c> and <c>type-mismatch:&lt;type&gt;-as-&lt;ext&gt;</c> with the entry's name in the detail.
/// </summary>
public sealed class ArchiveScanner(ArchiveLimits? limits = null) : IContentScanner
{
    /// <summary>The scanner's name in verdicts.</summary>
    public const string ScannerName = "archive";

    /// <summary>The limits in force.</summary>
    public ArchiveLimits Limits { get; } = limits ?? new ArchiveLimits();

    /// <inheritdoc />
    public string Name => ScannerName;

    /// <inheritdoc />
    public async Task<ScanVerdict> ScanAsync(ScanSubject subject, Func<Stream> openPlaintext, AreaContentPolicy policy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(openPlaintext);
        ArgumentNullException.ThrowIfNull(policy);
        var stream = openPlaintext();
        await using (stream.ConfigureAwait(false))
        {
            var head = ArrayPool<byte>.Shared.Rent(FileTypeDetector.HeadLength);
            try
            {
                var read = await stream.ReadAtLeastAsync(head.AsMemory(0, FileTypeDetector.HeadLength), FileTypeDetector.HeadLength, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                var type = FileTypeDetector.Detect(head.AsSpan(0, read), complete: read < FileTypeDetector.HeadLength);
                if (!FileTypes.Walkable.Contains(type))
                {
                    return new ScanVerdict(Name, ScannerVersion.BuiltIn, ScanOutcome.Clean, Detail: $"not an archive ({type})");
                }

                var walk = new ArchiveWalk(Limits, policy);
                try
                {
                    await walk.WalkAsync(new PrefixedStream(head.AsMemory(0, read), stream), type, subject.Path.Name, head.AsMemory(0, read), level: 1, cancellationToken).ConfigureAwait(false);
                }
                catch (ArchiveFindingException e)
                {
                    return new ScanVerdict(Name, ScannerVersion.BuiltIn, ScanOutcome.Infected, e.Finding, $"{subject.Path}: {e.Message}");
                }
                catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
                {
                    return new ScanVerdict(Name, ScannerVersion.BuiltIn, ScanOutcome.Infected, "archive-malformed", $"{subject.Path}: {walk.Where}{e.Message}");
                }

                return new ScanVerdict(Name, ScannerVersion.BuiltIn, ScanOutcome.Clean, Detail: $"{type}: {walk.Entries} entries, {walk.Expanded} bytes expanded");
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(head);
            }
        }
    }
}

/// <summary>A finding raised from inside the walk; unwinds it.</summary>
internal sealed class ArchiveFindingException(string finding, string detail) : Exception(detail)
{
    public string Finding => finding;
}
