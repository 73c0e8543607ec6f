using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;

namespace TurboMft.Bench.Infrastructure;

/// <summary>The configuration every benchmark class shares: the GB/s column and allocation counts.</summary>
public sealed class BenchConfig : ManualConfig
{
    public BenchConfig()
    {
        AddColumn(ThroughputColumn.Instance);
        AddDiagnoser(MemoryDiagnoser.Default);
    }
}
