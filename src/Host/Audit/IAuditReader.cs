using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Audit;

/// <summary>
/// The read side of an audit store (<see cref="IAuditStore"/>): what queries (<see cref="AuditQuery"/>), the verifier
/// (<see cref="AuditVerifier"/>) and the watch (<see cref="AuditWatch"/>) read. A reader never changes the store, takes no
/// lock and may run beside the writer: a record being written is read once it is complete. The behaviour every provider
/// owes is <c>tests/TurboMft.Host.Tests/Audit/AuditStoreContract.cs</c>.
/// </summary>
public interface IAuditReader
{
    /// <summary>The name of the store's anchor of its end in reports (<c>head</c> for the local files).</summary>
    string AnchorName { get; }

    /// <summary>
    /// Every complete, well-formed record in seq order; with <paramref name="afterSeq"/>, at least those above it (a store may
    /// skip what lies before). Reads what is stored, durable or not, and does not verify the chain.
    /// </summary>
    IEnumerable<AuditRecord> Read(long? afterSeq = null);

    /// <summary>
    /// Every stored line, part by part in order, as stored: also lines that are cut short, malformed or forged, since the
    /// verifier must see them. A part missing between two others (a deleted file) appears as one entry without a line.
    /// </summary>
    IEnumerable<StoredAuditLine> ReadLines();

    /// <summary>The store's anchor of its end, checked against <paramref name="key"/>.</summary>
    AuditAnchorReading ReadAnchor(AuditKey key);

    /// <summary>The name of part <paramref name="part"/> in reports (<c>audit-000002.jsonl</c> for the local files).</summary>
    string PartName(long part);
}

/// <summary>One stored line of an audit store, or a missing part.</summary>
/// <param name="Part">The part it is kept in (a file's number; 1, 2, …).</param>
/// <param name="Line">The line; null when the part is missing.</param>
public readonly record struct StoredAuditLine(long Part, AuditLine? Line);

/// <summary>An audit store's anchor of its end (docs/audit.md, "Head anchor").</summary>
/// <param name="Seq">Seq of the last durable record; 0 for an empty store.</param>
/// <param name="Part">The part holding it; 0 for an empty store.</param>
/// <param name="Hash">Hex SHA-256 of its line.</param>
public sealed record AuditAnchor(long Seq, long Part, string Hash);

/// <summary>What reading an anchor found.</summary>
/// <param name="Anchor">The authentic anchor; null when there is none or it is not authentic.</param>
/// <param name="Error">Why it is not authentic; null when it is, or when there is none.</param>
/// <param name="Blank">True when the anchor exists but was never written (all zeros: the store was created and nothing committed).</param>
public sealed record AuditAnchorReading(AuditAnchor? Anchor, string? Error, bool Blank);
