using System.IO.Hashing;
using BenchmarkDotNet.Attributes;
using TurboMft.Bench.Infrastructure;
using TurboMft.Engine.Datasets;
using TurboMft.Engine.Integrity;

namespace TurboMft.Bench.Integrity;

/// <summary>CRC-64/NVME of one 4 MiB chunk: System.IO.Hashing against the engine's ChunkCrc (which should cost nothing extra).</summary>
[Config(typeof(BenchConfig))]
[MemoryDiagnoser]
[BytesPerOperation(BenchData.ChunkSize)]
public class Crc64Benchmarks
{
    private byte[] _chunk = [];

    [GlobalSetup]
    public void Setup() => _chunk = BenchData.Chunk(DatasetKind.Random);

    [Benchmark(Baseline = true)]
    public ulong Crc64_HashToUInt64_Nvme() => Crc64.HashToUInt64(Crc64ParameterSet.Nvme, _chunk);

    [Benchmark]
    public ulong ChunkCrc_Compute() => ChunkCrc.Compute(_chunk);
}
