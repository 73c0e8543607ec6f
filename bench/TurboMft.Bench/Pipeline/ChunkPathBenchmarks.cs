using BenchmarkDotNet.Attributes;
using TurboMft.Bench.Infrastructure;
using TurboMft.Engine.Buffers;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Compression;
using TurboMft.Engine.Container;
using TurboMft.Engine.Crypto;
using TurboMft.Engine.Datasets;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Pipeline;

namespace TurboMft.Bench.Pipeline;

/// <summary>
/// The per-chunk hot path of the pipeline, one 4 MiB chunk per operation: read+CRC+SHA-256, adaptive LZ4, seal and
/// positional write (pack), and positional read, open, CRC check (unpack). The Allocated column must read 0 B.
/// </summary>
[Config(typeof(BenchConfig))]
[MemoryDiagnoser]
[BytesPerOperation(BenchData.ChunkSize)]
public class ChunkPathBenchmarks
{
    private const int ChunksPerIteration = 32;
    private readonly string _directory = Directory.CreateDirectory(Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"tmf-bench-{Guid.NewGuid():N}")).FullName;
    private DataKey? _key;
    private SourceFile? _source;
    private ChunkBufferPool? _pool;
    private ContainerWriter? _writer;
    private PackWorker? _worker;
    private TreeDigestBuilder? _tree;
    private ContainerReader? _reader;
    private ChunkSealer? _opener;
    private ChunkBuffer? _plain;
    private ChunkBuffer? _scratch;
    private long _next;

    [Params(DatasetKind.Random, DatasetKind.HistorianCsv)]
    public DatasetKind Data { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var sourcePath = Path.Combine(_directory, "source.bin");
        DatasetGenerator.WriteFileAsync(sourcePath, Data, BenchData.ChunkSize * 4L).GetAwaiter().GetResult();
        _key = DataKey.Generate();
        _source = SourceFile.Open(sourcePath);
        _pool = new ChunkBufferPool(ContainerFormat.BufferSizeFor(BenchData.ChunkSize), 4);
        _plain = _pool.Rent();
        _scratch = _pool.Rent();
        _tree = new TreeDigestBuilder(new ChunkGeometry(BenchData.ChunkSize * (long)ChunksPerIteration, BenchData.ChunkSize));

        var containerPath = Path.Combine(_directory, "read.tmf");
        var wrapped = new byte[ContainerFormat.WrappedKeySize];
        var key = _key;
        ContainerPacker.PackAsync(sourcePath, containerPath, key, wrapped, Guid.NewGuid(), new PipelineOptions { ChunkSize = BenchData.ChunkSize }).GetAwaiter().GetResult();
        _reader = ContainerReader.Open(containerPath, (_, _) => DataKey.FromBytes(key.Bytes));
        _opener = _reader.CreateOpener();
    }

    [IterationSetup(Target = nameof(PackChunk))]
    public void NewContainer()
    {
        _worker?.Dispose();
        _writer?.Dispose();
        var path = Path.Combine(_directory, "write.tmf");
        File.Delete(path);
        var header = new ContainerHeader(Guid.NewGuid(), BenchData.ChunkSize, 0) { WrappedKey = new byte[ContainerFormat.WrappedKeySize] };
        _writer = ContainerWriter.Create(path, header, _key!, ChunksPerIteration);
        _worker = new PackWorker(_writer.CreateSealer());
        _next = 0;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _worker?.Dispose();
        _writer?.Dispose();
        _opener?.Dispose();
        _reader?.Dispose();
        _source?.Dispose();
        _pool?.Dispose();
        _key?.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark]
    [InvocationCount(ChunksPerIteration)]
    public void PackChunk()
    {
        var index = _next++ % ChunksPerIteration;
        var span = _plain!.Span.Slice(ContainerFormat.RecordHeaderSize, BenchData.ChunkSize);
        var crc = _worker!.ReadAndHash(_source!, span, (index % 4) * BenchData.ChunkSize, index, _tree!);
        _writer!.WriteChunk(_worker.Sealer, ChunkCompressor.Adaptive, index, _plain, BenchData.ChunkSize, crc, _tree!.GetChunkDigest(index), _scratch!);
    }

    [Benchmark]
    public int UnpackChunk() => _reader!.ReadChunk(_opener!, 1, _scratch!, _plain!.Span);
}
