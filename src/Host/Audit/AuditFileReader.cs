using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Audit;

/// <summary>
/// The read side of the audit files in a directory (docs/audit.md, "Files"), for a running server's store and for offline
/// commands alike: it takes no lock and never writes, so it reads beside the server that owns the directory.
/// </summary>
/// <param name="directory">The audit directory (<c>DIR/audit</c>).</param>
public sealed class AuditFileReader(string directory) : IAuditReader
{
    /// <summary>The audit directory.</summary>
    public string Directory { get; } = Path.GetFullPath(directory);

    /// <inheritdoc />
    public string AnchorName => AuditFiles.HeadName;

    /// <inheritdoc />
    /// <remarks>With <paramref name="afterSeq"/>, files that hold only records up to that seq are skipped unread.</remarks>
    public IEnumerable<AuditRecord> Read(long? afterSeq = null)
    {
        var files = AuditFiles.List(Directory);
        for (var i = 0; i < files.Count; i++)
        {
            if (afterSeq is { } seq && i + 1 < files.Count && FirstSeq(files[i + 1].Path) is { } next && next <= seq + 1)
            {
                continue;
            }

            // A file moved away (archived) between the listing and the read counts as empty.
            foreach (var line in AuditFiles.ReadLines(files[i].Path, missingIsEmpty: true))
            {
                if (line.Terminated && AuditRecord.TryParse(line.Bytes, out _) is { } record)
                {
                    yield return record;
                }
            }
        }
    }

    /// <inheritdoc />
    /// <remarks>Files are numbered without gaps from 1: a number missing below the last file is a missing part.</remarks>
    public IEnumerable<StoredAuditLine> ReadLines()
    {
        long expected = 1;
        foreach (var (number, path) in AuditFiles.List(Directory))
        {
            for (; expected < number; expected++)
            {
                yield return new StoredAuditLine(expected, null);
            }

            expected = number + 1;
            foreach (var line in AuditFiles.ReadLines(path))
            {
                yield return new StoredAuditLine(number, line);
            }
        }
    }

    /// <inheritdoc />
    public AuditAnchorReading ReadAnchor(AuditKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var path = Path.Combine(Directory, AuditFiles.HeadName);
        var head = AuditHead.Read(path, key, out var error);
        if (error is not null)
        {
            return new AuditAnchorReading(null, error, File.ReadAllBytes(path).AsSpan().IndexOfAnyExcept((byte)0) < 0);
        }

        return new AuditAnchorReading(head is null ? null : new AuditAnchor(head.Seq, head.File, head.Hash), null, false);
    }

    /// <inheritdoc />
    public string PartName(long part) => AuditFiles.Name(part);

    /// <summary>The seq of the first record of a file; null when it has none (or is gone).</summary>
    internal static long? FirstSeq(string path) =>
        AuditFiles.ReadLines(path, missingIsEmpty: true).FirstOrDefault() is { Terminated: true } line && AuditRecord.TryParse(line.Bytes, out _) is { } record
            ? record.Seq
            : null;
}
