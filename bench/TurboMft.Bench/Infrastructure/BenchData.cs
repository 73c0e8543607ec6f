using TurboMft.Engine.Datasets;

namespace TurboMft.Bench.Infrastructure;

/// <summary>Inputs shared by the kernels: one default-size chunk of a deterministic dataset, in pinned memory like the engine's.</summary>
public static class BenchData
{
    /// <summary>The engine's default chunk size, 4 MiB.</summary>
    public const int ChunkSize = 4 * 1024 * 1024;

    public static byte[] Chunk(DatasetKind kind, long chunkIndex = 0)
    {
        var chunk = GC.AllocateUninitializedArray<byte>(ChunkSize, pinned: true);
        DatasetGenerator.Fill(kind, seed: 1, chunkIndex * ChunkSize, chunk);
        return chunk;
    }

    public static byte[] Pinned(int length) => GC.AllocateArray<byte>(length, pinned: true);
}
