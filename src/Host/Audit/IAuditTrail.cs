namespace TurboMft.Host.Audit;

/// <summary>
/// Appends events to the hash-chained, HMAC-keyed audit log (docs/audit.md). Records keep the order of the calls.
/// </summary>
public interface IAuditTrail
{
    /// <summary>
    /// Appends <paramref name="auditEvent"/> and completes once it is durable on disk (fsync; group commit shares one
    /// fsync among concurrent callers). Writes, deletes and policy changes await this before answering the client.
    /// </summary>
    /// <exception cref="AuditUnavailableException">When the log cannot be written; the caller must fail the operation closed.</exception>
    ValueTask AppendDurableAsync(AuditEvent auditEvent, CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends <paramref name="auditEvent"/> without waiting for the fsync (reads, listings, authentication); it is
    /// durable with the next group commit, at most about a second later.
    /// </summary>
    void Append(AuditEvent auditEvent);
}

/// <summary>The audit log cannot be written (disk full, I/O error, locked by another process).</summary>
public sealed class AuditUnavailableException : IOException
{
    /// <summary>Creates the exception.</summary>
    public AuditUnavailableException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }

    /// <summary>Creates the exception.</summary>
    public AuditUnavailableException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public AuditUnavailableException(string message)
        : base(message)
    {
    }
}
