using System.Globalization;
using System.Reflection;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace TurboMft.Bench.Infrastructure;

/// <summary>
/// A "GB/s" column: bytes per operation (from <see cref="BytesPerOperationAttribute"/>) divided by the mean time,
/// in decimal gigabytes per second, the unit openssl speed and the design notes use.
/// </summary>
public sealed class ThroughputColumn : IColumn
{
    public static readonly ThroughputColumn Instance = new();

    private ThroughputColumn()
    {
    }

    public string Id => nameof(ThroughputColumn);

    public string ColumnName => "GB/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Bytes processed per operation / mean time, in 10^9 bytes per second (single thread)";

    public static long? BytesPerOperation(BenchmarkCase benchmarkCase)
    {
        var descriptor = benchmarkCase.Descriptor;
        var attribute = descriptor.WorkloadMethod.GetCustomAttribute<BytesPerOperationAttribute>()
            ?? descriptor.Type.GetCustomAttribute<BytesPerOperationAttribute>();
        return attribute?.Bytes;
    }

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) =>
        GetValue(summary, benchmarkCase, SummaryStyle.Default.WithCultureInfo(CultureInfo.InvariantCulture));

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var bytes = BytesPerOperation(benchmarkCase);
        var meanNanoseconds = summary[benchmarkCase]?.ResultStatistics?.Mean;
        if (bytes is null || meanNanoseconds is null or <= 0)
        {
            return "-";
        }

        // Bytes per nanosecond is exactly 10^9 bytes per second.
        return (bytes.Value / meanNanoseconds.Value).ToString("N2", style.CultureInfo);
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public override string ToString() => ColumnName;
}
