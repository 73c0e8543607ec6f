namespace TurboMft.Host.Ingest;

/// <summary>Why bytes sent in were refused; each maps to one problem type of docs/protocol.md, "Errors".</summary>
public enum IngestFault
{
    /// <summary>A chunk body is short, too long, or its LZ4 block does not decode to the chunk's length (<c>chunk-too-large</c>).</summary>
    ChunkBody,

    /// <summary>A chunk does not match its Content-Digest or Repr-Digest (<c>chunk-digest-mismatch</c>).</summary>
    ChunkDigestMismatch,

    /// <summary>A chunk's plaintext does not match its CRC-64 (<c>chunk-crc-mismatch</c>).</summary>
    ChunkCrcMismatch,

    /// <summary>A one-shot body's length differs from its Content-Length (<c>size-mismatch</c>).</summary>
    SizeMismatch,

    /// <summary>The file's digest differs from the one declared (<c>file-digest-mismatch</c>).</summary>
    FileDigestMismatch,

    /// <summary>Chunks of the session have not arrived (<c>chunks-missing</c>, with their indexes).</summary>
    ChunksMissing,

    /// <summary>The session was completed, aborted or expired (<c>upload-closed</c>).</summary>
    UploadClosed,
}

/// <summary>Bytes refused by the ingest core, with what the sender needs to act; nothing of them was committed.</summary>
public sealed class IngestException : Exception
{
    /// <summary>A refusal of <paramref name="fault"/> with its explanation.</summary>
    public IngestException(IngestFault fault, string message, IReadOnlyList<long>? missing = null)
        : base(message)
    {
        Fault = fault;
        Missing = missing ?? [];
    }

    /// <summary>What was wrong.</summary>
    public IngestFault Fault { get; }

    /// <summary>For <see cref="IngestFault.ChunksMissing"/>: the first (up to 1,000) missing chunk indexes.</summary>
    public IReadOnlyList<long> Missing { get; }
}
