using TurboMft.Engine.Buffers;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Compression;

namespace TurboMft.Engine.Pipeline;

/// <summary>How a pipeline runs: chunking, parallelism, compression, memory budget, progress.</summary>
public sealed record PipelineOptions
{
    /// <summary>Bytes per chunk: a power of two from 1 to 64 MiB.</summary>
    public int ChunkSize { get; init; } = ChunkGeometry.DefaultChunkSize;

    /// <summary>Worker threads; 0 means one per logical core.</summary>
    public int Workers { get; init; }

    /// <summary>Whether chunks are LZ4-compressed when it pays.</summary>
    public CompressionMode Compression { get; init; } = CompressionMode.Adaptive;

    /// <summary>Also compute the whole-file SHA-256 (sha256sum-compatible); costs one more sequential pass.</summary>
    public bool WholeFileSha256 { get; init; }

    /// <summary>A shared buffer pool; when null the pipeline makes one with the default budget.</summary>
    public ChunkBufferPool? Pool { get; init; }

    /// <summary>Receives progress after each chunk.</summary>
    public IProgress<PipelineProgress>? Progress { get; init; }

    /// <summary>The worker count in effect.</summary>
    public int EffectiveWorkers => Workers > 0 ? Workers : Environment.ProcessorCount;
}
