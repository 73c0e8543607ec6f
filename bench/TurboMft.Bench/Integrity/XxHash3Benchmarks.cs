using System.IO.Hashing;
using BenchmarkDotNet.Attributes;
using TurboMft.Bench.Infrastructure;
using TurboMft.Engine.Datasets;

namespace TurboMft.Bench.Integrity;

/// <summary>
/// XxHash3 of one 4 MiB chunk. The engine has no XxHash3 wrapper (it uses CRC-64/NVME), so the pair is the one-shot call
/// against incremental hashing in 64 KiB appends, the way a hash would see a chunk arrive from a socket.
/// </summary>
[Config(typeof(BenchConfig))]
[MemoryDiagnoser]
[BytesPerOperation(BenchData.ChunkSize)]
public class XxHash3Benchmarks
{
    private const int Segment = 64 * 1024;
    private readonly XxHash3 _incremental = new();
    private byte[] _chunk = [];

    [GlobalSetup]
    public void Setup() => _chunk = BenchData.Chunk(DatasetKind.Random);

    [Benchmark(Baseline = true)]
    public ulong XxHash3_HashToUInt64() => XxHash3.HashToUInt64(_chunk);

    [Benchmark]
    public ulong XxHash3_Append_64KiB_segments()
    {
        _incremental.Reset();
        for (var offset = 0; offset < _chunk.Length; offset += Segment)
        {
            _incremental.Append(_chunk.AsSpan(offset, Segment));
        }

        return _incremental.GetCurrentHashAsUInt64();
    }
}
