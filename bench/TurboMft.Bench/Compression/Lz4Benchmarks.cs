using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using K4os.Compression.LZ4;
using TurboMft.Bench.Infrastructure;
using TurboMft.Engine.Compression;
using TurboMft.Engine.Datasets;

namespace TurboMft.Bench.Compression;

/// <summary>
/// LZ4 fast on one 4 MiB chunk of each dataset: K4os directly against ChunkCompressor, whose adaptive policy keeps
/// chunks raw when LZ4 does not pay. Decode compares each side's own stored form: for data kept raw that is a copy.
/// GB/s counts plaintext bytes.
/// </summary>
[Config(typeof(BenchConfig))]
[MemoryDiagnoser]
[BytesPerOperation(BenchData.ChunkSize)]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class Lz4Benchmarks
{
    private byte[] _plaintext = [];
    private byte[] _scratch = [];
    private byte[] _output = [];
    private byte[] _lz4 = [];
    private int _lz4Length;
    private byte[] _stored = [];
    private int _storedLength;
    private ChunkEncoding _storedEncoding;

    [Params(DatasetKind.HistorianCsv, DatasetKind.ImagingFrames, DatasetKind.Random)]
    public DatasetKind Kind { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _plaintext = BenchData.Chunk(Kind);
        var bound = ChunkCompressor.MaxEncodedLength(BenchData.ChunkSize);
        _scratch = BenchData.Pinned(bound);
        _output = BenchData.Pinned(BenchData.ChunkSize);
        _lz4 = BenchData.Pinned(bound);
        _lz4Length = LZ4Codec.Encode(_plaintext, _lz4, LZ4Level.L00_FAST);
        _stored = BenchData.Pinned(bound);
        _storedEncoding = ChunkCompressor.Adaptive.Compress(_plaintext, _stored, out _storedLength);
        if (_storedEncoding == ChunkEncoding.Raw)
        {
            _plaintext.CopyTo(_stored, 0);
            _storedLength = _plaintext.Length;
        }
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Encode")]
    public int LZ4Codec_Encode() => LZ4Codec.Encode(_plaintext, _scratch, LZ4Level.L00_FAST);

    [Benchmark]
    [BenchmarkCategory("Encode")]
    public ChunkEncoding ChunkCompressor_Compress() => ChunkCompressor.Adaptive.Compress(_plaintext, _scratch, out _);

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Decode")]
    public int LZ4Codec_Decode() => LZ4Codec.Decode(_lz4.AsSpan(0, _lz4Length), _output);

    [Benchmark]
    [BenchmarkCategory("Decode")]
    public void ChunkCompressor_Decode() => ChunkCompressor.Decode(_storedEncoding, _stored.AsSpan(0, _storedLength), _output);
}
