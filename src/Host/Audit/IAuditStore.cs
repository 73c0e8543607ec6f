namespace TurboMft.Host.Audit;

/// <summary>
/// Where the audit chain's records are kept (docs/audit.md), apart from the chain itself: <see cref="AuditLog"/> assigns
/// seq, links each record to the previous one's hash and seals it with the audit key, and hands the sealed lines here.
/// A store keeps them in order after its head, makes them durable on <see cref="Commit"/>, and reads them back. It has one
/// writer at a time (the log that opened it); reads (<see cref="IAuditReader"/>) may run beside it. The behaviour every provider owes is
/// <c>tests/TurboMft.Host.Tests/Audit/AuditStoreContract.cs</c>.
/// </summary>
public interface IAuditStore : IAuditReader, IAsyncDisposable
{
    /// <summary>
    /// The last record stored when the store was opened or last written: where the chain continues
    /// (<see cref="AuditStoreHead.Empty"/> for an empty store).
    /// </summary>
    AuditStoreHead Head { get; }

    /// <summary>
    /// What the store repaired or found amiss when it was opened (a record cut short by a crash, an end that differs from
    /// its anchor), as events for the chain to record first (<c>audit.recovered</c>, <c>audit.gap</c>).
    /// </summary>
    IReadOnlyList<AuditEvent> Recovered { get; }

    /// <summary>
    /// Stores <paramref name="records"/> after <see cref="Head"/>, in order; each one's seq follows the previous. They may be
    /// read back at once but are durable only after <see cref="Commit"/>.
    /// </summary>
    /// <exception cref="IOException">They could not be written; the store is then unusable.</exception>
    void Write(IReadOnlyList<SealedAuditRecord> records);

    /// <summary>Makes every record written so far durable, and the store's record of its end (its anchor) cover the last.</summary>
    /// <exception cref="IOException">They could not be made durable; the store is then unusable.</exception>
    void Commit();
}

/// <summary>Where an audit chain continues: the seq of the last record and the hash of its line.</summary>
/// <param name="Seq">Seq of the last record; 0 when there is none.</param>
/// <param name="Hash">Hex SHA-256 of its line (<see cref="AuditChain.Hash"/>), the next record's <c>prev</c>; <see cref="AuditChain.GenesisPrev"/> when there is none.</param>
public sealed record AuditStoreHead(long Seq, string Hash)
{
    /// <summary>The head of an empty store.</summary>
    public static AuditStoreHead Empty { get; } = new(0, AuditChain.GenesisPrev);
}

/// <summary>A record as the chain sealed it, ready to store.</summary>
/// <param name="Seq">Its seq.</param>
/// <param name="Time">Its time (as written in the line).</param>
/// <param name="Line">The line (<see cref="AuditChain.Encode"/>), without a newline.</param>
/// <param name="Hash">The hex SHA-256 of the line.</param>
public sealed record SealedAuditRecord(long Seq, DateTimeOffset Time, byte[] Line, string Hash);
