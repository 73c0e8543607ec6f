using System.CommandLine;
using System.Globalization;
using System.Text;
using TurboMft.Engine.Chunks;
using TurboMft.Host.Cli.Bench;

namespace TurboMft.Host.Cli;

/// <summary><c>turbomft bench kernels</c>: single-thread kernel rates, CPU features, and pipeline efficiency.</summary>
internal static class BenchCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var json = CliOptions.Json();
        var size = new Option<long>("--size")
        {
            Description = "Size of the incompressible file packed by the pipeline measurement (0 skips it).",
            DefaultValueFactory = _ => 1L << 30,
            CustomParser = r => ByteSize.TryParse(r.Tokens.Count > 0 ? r.Tokens[0].Value : null, out var bytes) ? bytes : Fail(r),
            HelpName = "SIZE",
        };
        var workers = CliOptions.Workers();
        var dir = new Option<DirectoryInfo>("--dir") { Description = "Where the temporary test files go (default: /dev/shm, so the disk is not measured; pass a directory on disk to include it)." };
        var kernels = new Command("kernels", "Measure AES-256-GCM, SHA-256, CRC-64/NVME, XxHash3 and LZ4 single-thread, and file→container efficiency.")
        {
            json, size, workers, dir,
        };
        kernels.SetAction((parse, cancellationToken) => CliErrors.GuardAsync(error, async () =>
        {
            var asJson = parse.GetValue(json);
            var cpu = KernelBench.Cpu;
            if (!asJson)
            {
                await output.WriteLineAsync($"cpu: {cpu.ProcessorName}, {cpu.LogicalCores} logical cores; features: {string.Join(' ', cpu.Names)}").ConfigureAwait(false);
            }

            var results = KernelBench.MeasureKernels();
            if (!asJson)
            {
                await output.WriteAsync(FormatKernels(results)).ConfigureAwait(false);
            }

            PipelineResult? pipeline = null;
            var bytes = parse.GetValue(size);
            if (bytes > 0)
            {
                var where = parse.GetValue(dir)?.FullName ?? KernelBench.DefaultDirectory;
                pipeline = await KernelBench.MeasurePipelineAsync(where, bytes, parse.GetValue(workers), cancellationToken).ConfigureAwait(false);
                if (!asJson)
                {
                    await output.WriteAsync(FormatPipeline(pipeline)).ConfigureAwait(false);
                }
            }

            if (asJson)
            {
                await output.WriteLineAsync(CliJson.Serialize(new
                {
                    cpu = new { model = cpu.ProcessorName, logicalCores = cpu.LogicalCores, features = cpu.Names },
                    kernels = results.Select(r => new
                    {
                        kernel = r.Kernel,
                        data = r.Data,
                        gbPerSecond = Gb(r.BytesPerSecond),
                        libraryGbPerSecond = r.LibraryBytesPerSecond is { } raw ? Gb(raw) : (double?)null,
                        wrapperEfficiency = r.WrapperEfficiency is { } e ? Math.Round(e, 3) : (double?)null,
                        compressionRatio = r.CompressionRatio is { } c ? Math.Round(c, 2) : (double?)null,
                    }),
                    pipeline = pipeline is null ? null : new
                    {
                        bytes = pipeline.Bytes,
                        workers = pipeline.Workers,
                        stages = pipeline.Stages.Select(s => new { stage = s.Stage, gbPerSecond = Gb(s.BytesPerSecond) }),
                        idealGbPerSecond = Gb(pipeline.IdealBytesPerSecond),
                        measuredGbPerSecond = Gb(pipeline.MeasuredBytesPerSecond),
                        efficiency = Math.Round(pipeline.Efficiency, 3),
                        efficiencyMin = Math.Round(pipeline.EfficiencyMin, 3),
                        efficiencyMax = Math.Round(pipeline.EfficiencyMax, 3),
                        rounds = pipeline.Rounds,
                        peakWorkingSetBytes = pipeline.PeakWorkingSetBytes,
                    },
                })).ConfigureAwait(false);
            }

            return ExitCodes.Ok;
        }));

        var bench = new Command("bench", "Measure this machine.") { kernels };
        foreach (var hidden in TransferBenchCommands.Create(output, error))
        {
            bench.Subcommands.Add(hidden);
        }

        return bench;
    }

    private static long Fail(System.CommandLine.Parsing.ArgumentResult result)
    {
        result.AddError($"'{(result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty)}' is not a size; write e.g. 1GiB or 512MiB.");
        return 0;
    }

    private static double Gb(double bytesPerSecond) => Math.Round(bytesPerSecond / 1e9, 3);

    private static string FormatKernels(IReadOnlyList<KernelResult> results)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"{"kernel (single thread, 4 MiB)",-30} {"data",-10} {"GB/s",8} {"library",8} {"ours/lib",9}");
        foreach (var r in results)
        {
            var raw = r.LibraryBytesPerSecond is { } lib ? (lib / 1e9).ToString("0.00", CultureInfo.InvariantCulture) : "-";
            var ratio = r.WrapperEfficiency is { } e ? e.ToString("0%", CultureInfo.InvariantCulture) : "-";
            var extra = r.CompressionRatio is { } c ? $"  ratio {c:0.00}x" : string.Empty;
            text.AppendLine(CultureInfo.InvariantCulture, $"{r.Kernel,-30} {r.Data,-10} {r.BytesPerSecond / 1e9,8:0.00} {raw,8} {ratio,9}{extra}");
        }

        return text.ToString();
    }

    private static string FormatPipeline(PipelineResult p)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"pipeline file→container, {ByteSize.Format(p.Bytes)} random, {p.Workers} workers, in {p.Directory}");
        foreach (var s in p.Stages)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  stage {s.Stage,-18} {s.BytesPerSecond / 1e9,8:0.00} GB/s");
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"  ideal (cores / Σ stage cost) {p.IdealBytesPerSecond / 1e9,6:0.00} GB/s");
        text.AppendLine(CultureInfo.InvariantCulture, $"  measured                     {p.MeasuredBytesPerSecond / 1e9,6:0.00} GB/s");
        text.AppendLine(CultureInfo.InvariantCulture, $"  efficiency                   {p.Efficiency,6:0%}  (median of {p.Rounds} alternating rounds; range {p.EfficiencyMin:0%}–{p.EfficiencyMax:0%})");
        text.AppendLine(CultureInfo.InvariantCulture, $"  peak working set             {ByteSize.Format(p.PeakWorkingSetBytes)}");
        return text.ToString();
    }
}
