using System.Diagnostics;
using System.Globalization;
using TurboMft.Engine.Container;
using TurboMft.Engine.Datasets;
using TurboMft.Engine.Storage;
using TurboMft.Host.Metadata;
using TurboMft.Host.Scanning;

namespace TurboMft.Host.Tests.Scanning;

/// <summary>Runs alone: it measures the process's allocations and working set.</summary>
[CollectionDefinition(nameof(ScanMemoryCollection), DisableParallelization = true)]
public sealed class ScanMemoryCollection;

/// <summary>
/// A large container through the whole chain with a real clamd, in bounded memory. 256 MiB by default so CI stays fast;
/// <c>TURBOMFT_SCAN_TEST_MIB=1024</c> runs the 1 GiB case (docs/content-security.md, "Throughput and memory").
/// </summary>
[Collection(nameof(ScanMemoryCollection))]
public sealed class ScanMemoryTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly TestContainers _containers = new();
    private ClamdFixture? _clamd;

    public async ValueTask InitializeAsync()
    {
        _clamd = await ClamdFixture.StartAsync(new ClamdLimits(StreamMaxLength: "4000M", MaxFileSize: "2000M", MaxScanSize: "4000M"));
    }

    public async ValueTask DisposeAsync()
    {
        if (_clamd is not null)
        {
            await _clamd.DisposeAsync();
        }

        _containers.Dispose();
    }

    private static string? Configured => Environment.GetEnvironmentVariable("TURBOMFT_SCAN_TEST_MIB");

    private static long SizeMiB => long.TryParse(Configured, NumberStyles.None, CultureInfo.InvariantCulture, out var mib) ? mib : 256;

    [Theory]
    [InlineData(DatasetKind.Random)]
    [InlineData(DatasetKind.HistorianCsv)]
    public async Task A_large_container_is_scanned_by_the_whole_chain_in_bounded_memory(DatasetKind kind)
    {
        var length = SizeMiB << 20;
        var container = await _containers.PackDatasetAsync(kind.ToString(), kind, length);
        var denyList = Path.Combine(_containers.Directory, "deny.txt");
        await File.WriteAllTextAsync(denyList, new string('b', 64) + " Not.This\n", TestContext.Current.CancellationToken);
        var chain = ScannerChain.Create(new ContentSettings
        {
            Clamd = "unix:" + _clamd!.SocketPath,
            DenyListFile = denyList,
            Areas = [new AreaContentSettings { Area = "/ot", DenyTypes = ["pe", "elf"] }],
        });
        string digest;
        using (var probe = ContainerPlaintextStream.Open(container, _containers.Resolver))
        {
            digest = probe.Digest;
        }

        var subject = new ScanSubject(RemotePath.Parse("/ot/plant1/big.bin"), length, digest, Sha256: null);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var baseline = Environment.WorkingSet;
        var peak = baseline;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, Environment.WorkingSet);
                await Task.Delay(25, CancellationToken.None);
            }
        }, CancellationToken.None);

        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var started = Stopwatch.StartNew();
        var report = await chain.ScanAsync(subject, _containers.Opener(container), TestContext.Current.CancellationToken);
        started.Stop();
        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        await sampling.CancelAsync();
        await sampler;

        var mb = length / 1e6;
        output.WriteLine($"{kind} {SizeMiB} MiB: chain {started.Elapsed.TotalSeconds:0.0} s ({mb / started.Elapsed.TotalSeconds:0} MB/s); allocated {allocated / 1e6:0.0} MB; working set +{(peak - baseline) / 1e6:0} MB");
        Assert.Equal(ScanOutcome.Clean, report.Outcome);
        Assert.All(report.Verdicts, v => Assert.Equal(ScanOutcome.Clean, v.Outcome));
        Assert.True(allocated < 64 << 20, $"scanning {SizeMiB} MiB allocated {allocated} bytes");
        Assert.Equal(0, _containers.BuffersInUse);
        Assert.True(peak - baseline < 128 << 20, $"the working set grew by {peak - baseline} bytes");
        await TimeEachScannerAsync(chain, subject, container);
    }

    private async Task TimeEachScannerAsync(ScannerChain chain, ScanSubject subject, string container)
    {
        // On a manual run, each scanner is also timed on its own (the figures in docs/content-security.md).
        foreach (var scanner in Configured is null ? [] : chain.Scanners)
        {
            var one = new ScannerChain([scanner], chain.Policies, chain.ScanTimeout);
            var allocated = GC.GetTotalAllocatedBytes(precise: true);
            var watch = Stopwatch.StartNew();
            var verdict = (await one.ScanAsync(subject, _containers.Opener(container), TestContext.Current.CancellationToken)).Verdicts[0];
            allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
            output.WriteLine($"  {scanner.Name}: {watch.Elapsed.TotalSeconds:0.00} s, allocated {allocated / 1e6:0.0} MB ({verdict.Outcome})");
        }
    }
}
