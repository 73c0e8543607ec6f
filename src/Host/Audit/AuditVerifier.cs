using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Audit;

/// <summary>How the chain is broken (docs/audit.md, "Verification").</summary>
public enum AuditBreakKind
{
    /// <summary>A record's HMAC does not match its bytes: changed in place (or the key is not the log's).</summary>
    Edited,

    /// <summary>Records or a whole file are missing from the middle: seq jumps forward and the missing seqs appear nowhere later.</summary>
    Deleted,

    /// <summary>A record that is not part of the chain: a forged line the next record skips, a replayed copy, or a record of another chain.</summary>
    Inserted,

    /// <summary>Records out of order: a later seq comes before an earlier one that appears further on.</summary>
    Reordered,

    /// <summary>The end is missing: a partial last line, the head anchor ahead of the log (lines or the last file cut), or an <c>audit.gap</c> record.</summary>
    Truncated,

    /// <summary>A line that is not a record: not JSON, or a required member is missing.</summary>
    Malformed,
}

/// <summary>The first place where the chain does not verify.</summary>
/// <param name="Kind">What is wrong.</param>
/// <param name="File">The log file (<c>audit-000002.jsonl</c>), or <c>head</c> for the head anchor.</param>
/// <param name="Line">1-based line in <paramref name="File"/>; 0 when the break is not a line (a missing file, the head anchor).</param>
/// <param name="Seq">The first seq the chain could not confirm: every record before it verified.</param>
/// <param name="Message">What was found, in words.</param>
public sealed record AuditBreak(AuditBreakKind Kind, string File, long Line, long Seq, string Message)
{
    /// <summary>The kind as written in reports: <c>edited</c>, <c>deleted</c>, <c>inserted</c>, <c>reordered</c>, <c>truncated</c>, <c>malformed</c>.</summary>
    public string KindName => Kind.ToString().ToLowerInvariant();

    /// <summary>One line for a person: kind, place, seq, message.</summary>
    public override string ToString() =>
        $"{KindName} at {File}{(Line > 0 ? $" line {Line}" : string.Empty)} (seq {Seq}): {Message}";
}

/// <summary>The outcome of <see cref="AuditVerifier.Verify"/>.</summary>
/// <param name="Records">Records that verified (all of them when <see cref="Ok"/>).</param>
/// <param name="LastSeq">The seq of the last record that verified; 0 for an empty log.</param>
/// <param name="Break">The first break, or null.</param>
/// <param name="Notices">Things worth knowing that are not breaks: recoveries after an unclean stop.</param>
public sealed record AuditVerification(long Records, long LastSeq, AuditBreak? Break, IReadOnlyList<string> Notices)
{
    /// <summary>True when the whole chain and the head anchor verify.</summary>
    public bool Ok => Break is null;
}

/// <summary>
/// Checks a whole audit log: every line's HMAC, the seq and prev links across all files in order, and the head anchor
/// against the end (docs/audit.md, "Verification"). Reads only; takes no lock, so it runs beside a live server.
/// </summary>
public static class AuditVerifier
{
    /// <summary>Verifies the log that <paramref name="reader"/> reads with <paramref name="key"/>; stops at the first break.</summary>
    public static AuditVerification Verify(IAuditReader reader, AuditKey key)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(key);

        // The anchor first: it only moves after the log has grown, so read in this order it is never ahead of a sound log.
        var anchor = reader.ReadAnchor(key);
        var walk = new Walk(reader, key, anchor.Anchor);
        var broken = walk.Run();
        if (broken is null)
        {
            broken = walk.CheckAnchor(anchor);
        }

        return new AuditVerification(walk.Records, walk.ExpectedSeq - 1, broken, walk.Notices);
    }

    /// <summary>One pass over every line of every file, with one line of look-ahead.</summary>
    private sealed class Walk(IAuditReader reader, AuditKey key, AuditAnchor? head)
    {
        private readonly IEnumerator<StoredAuditLine> _entries = reader.ReadLines().GetEnumerator();
        private StoredAuditLine? _peeked;
        private string? _anchoredHash;
        private string _lastFile = reader.PartName(1);
        private long _lastFileNumber;

        public long Records { get; private set; }

        public long ExpectedSeq { get; private set; } = 1;

        public List<string> Notices { get; } = [];

        private string ExpectedPrev { get; set; } = AuditChain.GenesisPrev;

        public AuditBreak? Run()
        {
            using (_entries)
            {
                while (Next() is { } entry)
                {
                    if (Check(entry) is { } broken)
                    {
                        return broken;
                    }
                }
            }

            return null;
        }

        public AuditBreak? CheckAnchor(AuditAnchorReading reading)
        {
            var last = ExpectedSeq - 1;
            if (reading.Error is { } error)
            {
                return last == 0 && reading.Blank ? null : new AuditBreak(AuditBreakKind.Edited, reader.AnchorName, 0, ExpectedSeq, error);
            }

            if (reading.Anchor is not { } anchor)
            {
                return last == 0 ? null : new AuditBreak(AuditBreakKind.Truncated, reader.AnchorName, 0, ExpectedSeq, $"the head anchor is missing, so the end of the log cannot be confirmed (the log ends at seq {last})");
            }

            if (anchor.Seq > last)
            {
                var missingFile = anchor.Part > _lastFileNumber;
                return new AuditBreak(
                    AuditBreakKind.Truncated,
                    missingFile ? reader.PartName(anchor.Part) : _lastFile,
                    0,
                    ExpectedSeq,
                    $"the log ends at seq {last} but the head anchor says seq {anchor.Seq} in {reader.PartName(anchor.Part)}{(missingFile ? ", which is missing" : string.Empty)}: records {ExpectedSeq}..{anchor.Seq} were cut from the end");
            }

            if (anchor.Seq > 0 && _anchoredHash != anchor.Hash)
            {
                return new AuditBreak(AuditBreakKind.Truncated, reader.AnchorName, 0, anchor.Seq, $"record {anchor.Seq} is not the one the head anchor holds: the end of the log was cut and written again");
            }

            return null;
        }

        private AuditBreak? Check(StoredAuditLine entry)
        {
            var file = reader.PartName(entry.Part);
            if (entry.Line is not { } line)
            {
                return new AuditBreak(AuditBreakKind.Deleted, file, 0, ExpectedSeq, $"{file} is missing: files are numbered without gaps, and records from seq {ExpectedSeq} on are gone");
            }

            _lastFile = file;
            _lastFileNumber = entry.Part;
            if (!line.Terminated)
            {
                return Break(AuditBreakKind.Truncated, entry, $"the last line has no newline: {line.Bytes.Length} bytes of a partial record (an unclean stop the server has not yet recovered, or the file was cut)");
            }

            var record = AuditRecord.TryParse(line.Bytes, out var error);
            if (record is null)
            {
                return Break(AuditBreakKind.Malformed, entry, $"not an audit record: {error}");
            }

            if (!AuditChain.HasValidHmac(line.Bytes, key))
            {
                if (!(record.Seq == ExpectedSeq && record.Prev == ExpectedPrev) && Peek() is { Line: { } next } && Continues(next))
                {
                    return Break(AuditBreakKind.Inserted, entry, $"a line claiming seq {record.Seq} is not part of the chain (its HMAC fails and the next record links past it): it was inserted");
                }

                return Break(AuditBreakKind.Edited, entry, $"the HMAC of seq {record.Seq} does not match its bytes: the record was changed (or the audit key is not the log's)");
            }

            if (record.Seq > ExpectedSeq)
            {
                return AppearsLater(ExpectedSeq)
                    ? Break(AuditBreakKind.Reordered, entry, $"seq {record.Seq} comes before seq {ExpectedSeq}, which appears further on: records were reordered")
                    : Break(AuditBreakKind.Deleted, entry, $"seq {record.Seq} follows seq {ExpectedSeq - 1}: records {ExpectedSeq}..{record.Seq - 1} were deleted");
            }

            if (record.Seq < ExpectedSeq)
            {
                return Break(AuditBreakKind.Inserted, entry, $"seq {record.Seq} appears again after seq {ExpectedSeq - 1}: a copy of a record was inserted");
            }

            if (record.Prev != ExpectedPrev)
            {
                return Break(AuditBreakKind.Inserted, entry, $"seq {record.Seq} does not link to the record before it (prev differs): it belongs to another chain");
            }

            if (record.Action == "audit.gap")
            {
                // Authentic and linked, but it says that records before it were lost: the break stays visible.
                return Break(AuditBreakKind.Truncated, entry, $"the server found records missing when it opened the log and recorded it at seq {record.Seq}: {record.Detail}");
            }

            Records++;
            ExpectedSeq++;
            ExpectedPrev = AuditChain.Hash(line.Bytes);
            if (head is not null && record.Seq == head.Seq)
            {
                _anchoredHash = ExpectedPrev;
            }

            if (record.Action == "audit.recovered")
            {
                Notices.Add($"seq {record.Seq} ({file} line {line.Number}): {record.Detail}");
            }

            return null;
        }

        private AuditBreak Break(AuditBreakKind kind, StoredAuditLine entry, string message) => new(kind, reader.PartName(entry.Part), entry.Line!.Value.Number, ExpectedSeq, message);

        /// <summary>True when <paramref name="line"/> is the authentic record the chain expects next.</summary>
        private bool Continues(AuditLine line) =>
            line.Terminated
            && AuditRecord.TryParse(line.Bytes, out _) is { } record
            && record.Seq == ExpectedSeq
            && record.Prev == ExpectedPrev
            && AuditChain.HasValidHmac(line.Bytes, key);

        /// <summary>Reads on (the walk ends at this break anyway) looking for an authentic record with <paramref name="seq"/>.</summary>
        private bool AppearsLater(long seq)
        {
            while (Next() is { } entry)
            {
                if (entry.Line is { Terminated: true } line
                    && AuditRecord.TryParse(line.Bytes, out _) is { } record
                    && record.Seq == seq
                    && AuditChain.HasValidHmac(line.Bytes, key))
                {
                    return true;
                }
            }

            return false;
        }

        private StoredAuditLine? Next()
        {
            if (_peeked is { } peeked)
            {
                _peeked = null;
                return peeked;
            }

            return _entries.MoveNext() ? _entries.Current : null;
        }

        private StoredAuditLine? Peek() => _peeked ??= _entries.MoveNext() ? _entries.Current : null;
    }
}
