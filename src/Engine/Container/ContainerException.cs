namespace TurboMft.Engine.Container;

/// <summary>What is wrong with a container; stable names that callers map to errors and audit records.</summary>
public enum ContainerFault
{
    /// <summary>The file does not start with the container magic.</summary>
    NotAContainer,

    /// <summary>A format version this build cannot read.</summary>
    UnsupportedVersion,

    /// <summary>The fixed header fails its check.</summary>
    HeaderCorrupt,

    /// <summary>The footer or trailer is missing: the container was cut off before it was completed.</summary>
    TrailerMissing,

    /// <summary>The trailer does not authenticate: tampered, or opened with the wrong key.</summary>
    TrailerCorrupt,

    /// <summary>A record header is unreadable or its bytes run past the end of the file.</summary>
    RecordCorrupt,

    /// <summary>The record at a chunk's place claims another index, length or encoding (records swapped or moved).</summary>
    ChunkOutOfPlace,

    /// <summary>The record's AES-GCM tag does not verify (bit flip, record from another file, or wrong key).</summary>
    ChunkAuthenticationFailed,

    /// <summary>The decrypted payload does not decode to the declared plaintext length.</summary>
    ChunkDecodeFailed,

    /// <summary>The plaintext's CRC-64/NVME differs from the one recorded.</summary>
    ChunkCrcMismatch,

    /// <summary>The plaintext's SHA-256 differs from the one in the trailer.</summary>
    ChunkDigestMismatch,

    /// <summary>The <c>sha256-tree</c> recomputed from the chunks differs from the trailer's.</summary>
    FileDigestMismatch,

    /// <summary>The container does not hold every chunk the file needs.</summary>
    ChunkMissing,
}

/// <summary>A container that cannot be trusted; names the file, the chunk (when one is at fault) and the fault.</summary>
public sealed class ContainerException : IOException
{
    /// <summary>Creates the exception; the message is prefixed with the file and chunk.</summary>
    public ContainerException(ContainerFault fault, string path, long? chunkIndex, string detail, Exception? inner = null)
        : base(Describe(fault, path, chunkIndex, detail), inner)
    {
        Fault = fault;
        ContainerPath = path;
        ChunkIndex = chunkIndex;
    }

    /// <summary>What is wrong.</summary>
    public ContainerFault Fault { get; }

    /// <summary>The container file.</summary>
    public string ContainerPath { get; }

    /// <summary>The chunk at fault, if the fault is in one chunk.</summary>
    public long? ChunkIndex { get; }

    private static string Describe(ContainerFault fault, string path, long? chunkIndex, string detail) =>
        chunkIndex is { } index
            ? $"Container '{path}', chunk {index}: {fault}: {detail}"
            : $"Container '{path}': {fault}: {detail}";
}
