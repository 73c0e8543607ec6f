using System.Diagnostics;
using System.IO.Hashing;
using System.Security.Cryptography;
using K4os.Compression.LZ4;
using TurboMft.Engine.Compression;
using TurboMft.Engine.Container;
using TurboMft.Engine.Crypto;
using TurboMft.Engine.Datasets;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Native;
using TurboMft.Engine.Pipeline;

namespace TurboMft.Host.Cli.Bench;

/// <summary>
/// The measurements behind <c>turbomft bench kernels</c>: single-thread GB/s of every kernel as the engine calls it, beside
/// the raw library call on the same buffers, and the file→container pipeline against its ideal (docs/benchmarks.md).
/// </summary>
internal static class KernelBench
{
    private const int BufferSize = 4 << 20;
    private const int Rounds = 5;

    public static IReadOnlyList<KernelResult> MeasureKernels()
    {
        var random = new byte[BufferSize];
        var historian = new byte[BufferSize];
        DatasetGenerator.Fill(DatasetKind.Random, 1, 0, random);
        DatasetGenerator.Fill(DatasetKind.HistorianCsv, 1, 0, historian);
        var output = new byte[ChunkCompressor.MaxEncodedLength(BufferSize) + 64];
        var results = new List<KernelResult>();

        using var key = DataKey.Generate();
        using var sealer = new ChunkSealer(key, Guid.NewGuid());
        using var aes = new AesGcm(key.Bytes, ChunkSealer.TagSize);
        var nonce = new byte[ChunkSealer.NonceSize];
        var tag = new byte[ChunkSealer.TagSize];
        var aad = new byte[ChunkSealer.AssociatedDataSize];
        var info = new ChunkRecordInfo(0, ChunkEncoding.Raw, BufferSize, 0);
        results.Add(new("aes-256-gcm seal", "random",
            Throughput.Measure(BufferSize, () => sealer.Seal(info, random, output, nonce, tag)),
            Throughput.Measure(BufferSize, () => aes.Encrypt(nonce, random, output.AsSpan(0, BufferSize), tag, aad))));
        sealer.Seal(info, random, output, nonce, tag);
        var plain = new byte[BufferSize];
        results.Add(new("aes-256-gcm open", "random",
            Throughput.Measure(BufferSize, () => sealer.TryOpen(info, nonce, output.AsSpan(0, BufferSize), tag, plain)),
            null));

        var tree = new TreeDigestBuilder(new Engine.Chunks.ChunkGeometry(BufferSize, BufferSize));
        var digest = new byte[32];
        results.Add(new("sha-256", "random",
            Throughput.Measure(BufferSize, () => tree.AddChunk(0, random)),
            Throughput.Measure(BufferSize, () => SHA256.HashData(random, digest))));
        results.Add(new("crc-64/nvme", "random",
            Throughput.Measure(BufferSize, () => ChunkCrc.Compute(random)),
            Throughput.Measure(BufferSize, () => Crc64.HashToUInt64(Crc64ParameterSet.Nvme, random))));
        results.Add(new("xxhash3", "random", Throughput.Measure(BufferSize, () => XxHash3.HashToUInt64(random)), null));

        var written = 0;
        var lz4Historian = Throughput.Measure(BufferSize, () => ChunkCompressor.Adaptive.Compress(historian, output, out written));
        var rawHistorian = Throughput.Measure(BufferSize, () => LZ4Codec.Encode(historian, output, LZ4Level.L00_FAST));
        var ratio = BufferSize / (double)Math.Max(1, written);
        results.Add(new("lz4 encode", "historian", lz4Historian, rawHistorian) { CompressionRatio = ratio });
        ChunkCompressor.Adaptive.Compress(historian, output, out written);
        var compressed = output.AsSpan(0, written).ToArray();
        results.Add(new("lz4 decode", "historian",
            Throughput.Measure(BufferSize, () => ChunkCompressor.Decode(ChunkEncoding.Lz4, compressed, plain)),
            Throughput.Measure(BufferSize, () => LZ4Codec.Decode(compressed, plain))));
        results.Add(new("lz4 encode (adaptive skip)", "random",
            Throughput.Measure(BufferSize, () => ChunkCompressor.Adaptive.Compress(random, output, out _)),
            Throughput.Measure(BufferSize, () => LZ4Codec.Encode(random, output, LZ4Level.L00_FAST))));
        return results;
    }

    /// <summary>
    /// Measures file→container on <paramref name="size"/> bytes of incompressible data with <paramref name="workers"/>
    /// workers, and the single-thread cost of each stage on the same file, in the same run.
    /// </summary>
    public static async Task<PipelineResult> MeasurePipelineAsync(string directory, long size, int workers, CancellationToken cancellationToken)
    {
        var work = Directory.CreateDirectory(Path.Combine(directory, $"tmf-bench-{Guid.NewGuid():N}")).FullName;
        try
        {
            var source = Path.Combine(work, "source.bin");
            await DatasetGenerator.WriteFileAsync(source, DatasetKind.Random, size, 7, cancellationToken).ConfigureAwait(false);
            using var key = DataKey.Generate();
            var wrapped = new byte[ContainerFormat.WrappedKeySize];
            var options = new PipelineOptions { Workers = workers };
            var cores = Math.Min(workers, Environment.ProcessorCount);
            var rounds = new List<PipelineRound>();
            long peak = 0;

            // Stage costs and the pipeline are measured in alternation, so that each ratio compares figures taken under
            // the same background load; the round with the median efficiency is reported.
            for (var round = 0; round < Rounds; round++)
            {
                var stages = MeasureStages(source, Path.Combine(work, "write.bin"));
                var target = Path.Combine(work, $"c{round}.tmf");
                var started = Stopwatch.GetTimestamp();
                await ContainerPacker.PackAsync(source, target, key, wrapped, Guid.NewGuid(), options, cancellationToken).ConfigureAwait(false);
                var measured = size / Stopwatch.GetElapsedTime(started).TotalSeconds;
                File.Delete(target);
                peak = Math.Max(peak, Process.GetCurrentProcess().PeakWorkingSet64);
                var ideal = cores / stages.Sum(s => 1 / s.BytesPerSecond);
                rounds.Add(new PipelineRound(stages, ideal, measured));
            }

            rounds.Sort((a, b) => a.Efficiency.CompareTo(b.Efficiency));
            var median = rounds[rounds.Count / 2];
            return new PipelineResult(size, workers, median.Stages, median.Ideal, median.Measured, median.Efficiency, peak)
            {
                Directory = directory,
                EfficiencyMin = rounds[0].Efficiency,
                EfficiencyMax = rounds[^1].Efficiency,
                Rounds = rounds.Count,
            };
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static List<StageResult> MeasureStages(string source, string writeTarget)
    {
        var buffer = GC.AllocateUninitializedArray<byte>(BufferSize, pinned: true);
        var output = GC.AllocateUninitializedArray<byte>(ContainerFormat.BufferSizeFor(BufferSize), pinned: true);
        var length = new FileInfo(source).Length;
        var stages = new List<StageResult>();

        using (var file = File.OpenHandle(source))
        {
            stages.Add(new("read", BestOf(3, () => TimeWholeFile(length, offset => RandomAccess.Read(file, buffer, offset)))));
        }

        DatasetGenerator.Fill(DatasetKind.Random, 7, 0, buffer);
        stages.Add(new("crc-64/nvme", Throughput.Measure(BufferSize, () => ChunkCrc.Compute(buffer))));
        stages.Add(new("sha-256", Throughput.Measure(BufferSize, () => SHA256.HashData(buffer, output))));
        stages.Add(new("lz4 adaptive", Throughput.Measure(BufferSize, () => ChunkCompressor.Adaptive.Compress(buffer, output, out _))));
        using (var key = DataKey.Generate())
        using (var sealer = new ChunkSealer(key, Guid.NewGuid()))
        {
            var info = new ChunkRecordInfo(0, ChunkEncoding.Raw, BufferSize, 0);
            var nonce = new byte[ChunkSealer.NonceSize];
            var tag = new byte[ChunkSealer.TagSize];
            stages.Add(new("aes-256-gcm seal", Throughput.Measure(BufferSize, () => sealer.Seal(info, buffer, output, nonce, tag))));
        }

        // Each pass writes a new file, as the pipeline does: allocating pages is part of the cost of writing.
        stages.Add(new("write", BestOf(3, () =>
        {
            using var file = File.OpenHandle(writeTarget, FileMode.Create, FileAccess.Write);
            var rate = TimeWholeFile(length, offset =>
            {
                RandomAccess.Write(file, buffer, offset);
                return BufferSize;
            });
            file.Dispose();
            File.Delete(writeTarget);
            return rate;
        })));

        return stages;
    }

    private static double BestOf(int passes, Func<double> measure)
    {
        var best = 0.0;
        for (var i = 0; i < passes; i++)
        {
            best = Math.Max(best, measure());
        }

        return best;
    }

    /// <summary>The default scratch directory: RAM-backed /dev/shm when it exists, so the figure is the CPU pipeline's, not the disk's.</summary>
    public static string DefaultDirectory => Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();

    private static double TimeWholeFile(long length, Func<long, int> step)
    {
        var started = Stopwatch.GetTimestamp();
        for (long offset = 0; offset < length;)
        {
            var n = step(offset);
            if (n <= 0)
            {
                break;
            }

            offset += n;
        }

        return length / Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    public static CpuFeatureReport Cpu => CpuFeatures.Current;
}

/// <summary>One kernel's single-thread rate as the engine calls it, and the raw library call's on the same buffer.</summary>
internal sealed record KernelResult(string Kernel, string Data, double BytesPerSecond, double? LibraryBytesPerSecond)
{
    public double? CompressionRatio { get; init; }

    public double? WrapperEfficiency => LibraryBytesPerSecond is { } raw && raw > 0 ? BytesPerSecond / raw : null;
}

/// <summary>One pipeline stage's single-thread rate.</summary>
internal sealed record StageResult(string Stage, double BytesPerSecond);

/// <summary>File→container throughput against the ideal <c>cores / Σ(per-byte stage cost)</c>.</summary>
internal sealed record PipelineResult(long Bytes, int Workers, IReadOnlyList<StageResult> Stages, double IdealBytesPerSecond, double MeasuredBytesPerSecond, double Efficiency, long PeakWorkingSetBytes)
{
    public string Directory { get; init; } = string.Empty;

    public double EfficiencyMin { get; init; }

    public double EfficiencyMax { get; init; }

    public int Rounds { get; init; }
}

/// <summary>One alternation of stage measurements and a pipeline run.</summary>
internal sealed record PipelineRound(IReadOnlyList<StageResult> Stages, double Ideal, double Measured)
{
    public double Efficiency => Measured / Ideal;
}
