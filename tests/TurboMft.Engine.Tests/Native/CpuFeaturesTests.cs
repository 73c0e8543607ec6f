using System.Runtime.InteropServices;
using TurboMft.Engine.Native;
using X86 = System.Runtime.Intrinsics.X86;

namespace TurboMft.Engine.Tests.Native;

public class CpuFeaturesTests
{
    private static readonly string[] KnownNames =
    [
        "aes-ni", "aes", "pclmulqdq", "pmull", "vaes", "vpclmulqdq", "sha-ni", "sha256",
        "avx2", "avx512f", "avx512bw", "avx512vl", "crc32",
    ];

    [Fact]
    public void Report_on_x64_matches_the_runtime_intrinsics()
    {
        Assert.SkipUnless(RuntimeInformation.ProcessArchitecture == Architecture.X64, "x64 only");
        var report = CpuFeatures.Detect();

        Assert.True(report.Aes, "every x86-64 machine this project targets has AES-NI");
        Assert.Equal(X86.Aes.IsSupported, report.Aes);
        Assert.Equal(X86.Pclmulqdq.IsSupported, report.CarrylessMultiply);
        Assert.Equal(X86.Avx2.IsSupported, report.Avx2);
        Assert.Equal(X86.Avx512F.IsSupported, report.Avx512F);
        Assert.Equal(X86.Avx512BW.IsSupported, report.Avx512BW);
        Assert.Equal(X86.Avx512F.VL.IsSupported, report.Avx512VL);
        Assert.False(report.Crc32);
        if (X86.Pclmulqdq.V256.IsSupported)
        {
            Assert.True(report.VectorCarrylessMultiply);
        }
    }

    [Fact]
    public void Cpuid_features_agree_with_the_kernel_cpu_flags()
    {
        Assert.SkipUnless(RuntimeInformation.ProcessArchitecture == Architecture.X64 && OperatingSystem.IsLinux(), "x64 Linux only");
        var flags = File.ReadLines("/proc/cpuinfo")
            .First(line => line.StartsWith("flags", StringComparison.Ordinal))
            .Split(':', 2)[1]
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .ToHashSet(StringComparer.Ordinal);
        var report = CpuFeatures.Detect();

        Assert.Equal(flags.Contains("vaes"), report.VectorAes);
        Assert.Equal(flags.Contains("vpclmulqdq"), report.VectorCarrylessMultiply);
        Assert.Equal(flags.Contains("sha_ni"), report.Sha256);
        Assert.Equal(flags.Contains("aes"), report.Aes);
        Assert.Equal(flags.Contains("avx2"), report.Avx2);
    }

    [Fact]
    public void Names_list_exactly_the_present_features_in_order()
    {
        var report = CpuFeatures.Current;
        var x86 = report.Architecture is Architecture.X64 or Architecture.X86;
        var expected = new List<string>();
        if (report.Aes)
        {
            expected.Add(x86 ? "aes-ni" : "aes");
        }

        if (report.CarrylessMultiply)
        {
            expected.Add(x86 ? "pclmulqdq" : "pmull");
        }

        if (report.VectorAes)
        {
            expected.Add("vaes");
        }

        if (report.VectorCarrylessMultiply)
        {
            expected.Add("vpclmulqdq");
        }

        if (report.Sha256)
        {
            expected.Add(x86 ? "sha-ni" : "sha256");
        }

        if (report.Avx2)
        {
            expected.Add("avx2");
        }

        if (report.Avx512F)
        {
            expected.Add("avx512f");
        }

        if (report.Avx512BW)
        {
            expected.Add("avx512bw");
        }

        if (report.Avx512VL)
        {
            expected.Add("avx512vl");
        }

        if (report.Crc32)
        {
            expected.Add("crc32");
        }

        Assert.Equal(expected, report.Names);
        Assert.All(report.Names, name => Assert.Contains(name, KnownNames));
    }

    [Fact]
    public void Names_of_a_report_without_features_are_empty()
    {
        var report = new CpuFeatureReport { ProcessorName = "test", Architecture = Architecture.X64, LogicalCores = 1 };

        Assert.Empty(report.Names);
        Assert.Equal("test (X64, 1 logical cores): none", report.ToString());
    }

    [Fact]
    public void Names_use_arm_spelling_on_arm64()
    {
        var report = new CpuFeatureReport
        {
            ProcessorName = "arm",
            Architecture = Architecture.Arm64,
            LogicalCores = 4,
            Aes = true,
            CarrylessMultiply = true,
            Sha256 = true,
            Crc32 = true,
        };

        Assert.Equal(["aes", "pmull", "sha256", "crc32"], report.Names);
    }

    [Fact]
    public void Processor_name_and_cores_describe_this_machine()
    {
        var report = CpuFeatures.Current;

        Assert.Equal(Environment.ProcessorCount, report.LogicalCores);
        Assert.Equal(RuntimeInformation.ProcessArchitecture, report.Architecture);
        Assert.False(string.IsNullOrWhiteSpace(report.ProcessorName));
        var modelName = OperatingSystem.IsLinux()
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(line => line.StartsWith("model name", StringComparison.Ordinal))
            : null;
        if (modelName is not null)
        {
            Assert.Equal(modelName.Split(':', 2)[1].Trim(), report.ProcessorName);
        }

        var text = report.ToString();
        Assert.StartsWith(report.ProcessorName, text, StringComparison.Ordinal);
        Assert.All(report.Names, name => Assert.Contains(name, text, StringComparison.Ordinal));
    }

    [Fact]
    public void Current_is_detected_once()
    {
        Assert.Same(CpuFeatures.Current, CpuFeatures.Current);
        Assert.Equal(CpuFeatures.Detect(), CpuFeatures.Current);
    }
}
