using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using TurboMft.Bench.Infrastructure;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Datasets;
using TurboMft.Engine.Integrity;

namespace TurboMft.Bench.Integrity;

/// <summary>SHA-256 of one 4 MiB chunk: the BCL one-shot against TreeDigestBuilder.AddChunk, which also records the slot.</summary>
[Config(typeof(BenchConfig))]
[MemoryDiagnoser]
[BytesPerOperation(BenchData.ChunkSize)]
public class Sha256Benchmarks
{
    private readonly byte[] _digest = new byte[SHA256.HashSizeInBytes];
    private byte[] _chunk = [];
    private TreeDigestBuilder? _tree;

    [GlobalSetup]
    public void Setup()
    {
        _chunk = BenchData.Chunk(DatasetKind.Random);
        _tree = new TreeDigestBuilder(new ChunkGeometry(BenchData.ChunkSize, BenchData.ChunkSize));
    }

    [Benchmark(Baseline = true)]
    public int SHA256_HashData() => SHA256.HashData(_chunk, _digest);

    [Benchmark]
    public byte TreeDigestBuilder_AddChunk() => _tree!.AddChunk(0, _chunk)[0];
}
