using BenchmarkDotNet.Attributes;
using TurboMft.Bench.Infrastructure;
using TurboMft.Engine.Container;
using TurboMft.Engine.Crypto;
using TurboMft.Engine.Datasets;
using TurboMft.Engine.Pipeline;

namespace TurboMft.Bench.Pipeline;

/// <summary>
/// End to end on all cores: a 256 MiB file into a container and back, in /dev/shm so the disk is not measured.
/// Allocated per operation is the per-file overhead (index, tasks); it must not grow with chunks processed.
/// </summary>
[Config(typeof(BenchConfig))]
[MemoryDiagnoser]
[BytesPerOperation(Size)]
public class PipelineBenchmarks
{
    private const long Size = 256L << 20;
    private readonly string _directory = Directory.CreateDirectory(Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"tmf-bench-{Guid.NewGuid():N}")).FullName;
    private readonly byte[] _wrapped = new byte[ContainerFormat.WrappedKeySize];
    private DataKey? _key;
    private string _source = string.Empty;
    private string _container = string.Empty;
    private int _run;

    [Params(DatasetKind.Random, DatasetKind.HistorianCsv)]
    public DatasetKind Data { get; set; }

    [Params(2)]
    public int Workers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _key = DataKey.Generate();
        _source = Path.Combine(_directory, "source.bin");
        DatasetGenerator.WriteFileAsync(_source, Data, Size).GetAwaiter().GetResult();
        _container = Path.Combine(_directory, "read.tmf");
        ContainerPacker.PackAsync(_source, _container, _key, _wrapped, Guid.NewGuid(), new PipelineOptions { Workers = Workers }).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _key?.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark]
    public async Task Pack()
    {
        var target = Path.Combine(_directory, $"w{_run++}.tmf");
        await ContainerPacker.PackAsync(_source, target, _key!, _wrapped, Guid.NewGuid(), new PipelineOptions { Workers = Workers });
        File.Delete(target);
    }

    [Benchmark]
    public async Task Unpack()
    {
        var key = _key!;
        using var reader = ContainerReader.Open(_container, (_, _) => DataKey.FromBytes(key.Bytes));
        var target = Path.Combine(_directory, $"u{_run++}.bin");
        await ContainerUnpacker.UnpackAsync(reader, target, new PipelineOptions { Workers = Workers }, verifyChunkDigests: false);
        File.Delete(target);
    }
}
