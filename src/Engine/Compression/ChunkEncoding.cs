namespace TurboMft.Engine.Compression;

/// <summary>How a chunk's bytes travel and rest: as they are, or LZ4 block-compressed. Recorded per chunk.</summary>
public enum ChunkEncoding : byte
{
    /// <summary>The plaintext bytes unchanged.</summary>
    Raw = 0,

    /// <summary>One LZ4 block (no frame) that decodes to exactly the chunk's plaintext length.</summary>
    Lz4 = 1,
}

/// <summary>Whether the sender or writer tries LZ4 on chunks.</summary>
public enum CompressionMode
{
    /// <summary>Never compress.</summary>
    Off,

    /// <summary>Compress a chunk only when LZ4 shrinks it by a useful margin; otherwise keep it raw.</summary>
    Adaptive,
}
