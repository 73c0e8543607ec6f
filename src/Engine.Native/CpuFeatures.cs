using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using ArmAes = System.Runtime.Intrinsics.Arm.Aes;
using ArmCrc32 = System.Runtime.Intrinsics.Arm.Crc32;
using ArmSha256 = System.Runtime.Intrinsics.Arm.Sha256;
using X86Aes = System.Runtime.Intrinsics.X86.Aes;

namespace TurboMft.Engine.Native;

/// <summary>Detects the CPU features of the machine the process runs on.</summary>
public static class CpuFeatures
{
    // CPUID leaf 7 subleaf 0 (Intel SDM vol. 2A, "Structured Extended Feature Flags").
    private const int ExtendedFeaturesLeaf = 7;
    private const int ShaBit = 29;
    private const int VaesBit = 9;
    private const int VpclmulqdqBit = 10;

    private static readonly Lazy<CpuFeatureReport> Detected = new(Detect);

    /// <summary>The report for this machine, detected once per process.</summary>
    public static CpuFeatureReport Current => Detected.Value;

    /// <summary>Detects the features now; <see cref="Current"/> caches the same result.</summary>
    public static CpuFeatureReport Detect()
    {
        var report = new CpuFeatureReport
        {
            ProcessorName = ReadProcessorName(),
            Architecture = RuntimeInformation.ProcessArchitecture,
            LogicalCores = Environment.ProcessorCount,
        };

        if (X86Base.IsSupported)
        {
            return DetectX86(report);
        }

        if (ArmAes.IsSupported || ArmSha256.IsSupported || ArmCrc32.IsSupported)
        {
            // .NET's Arm Aes class carries PMULL too, so carry-less multiply comes with it.
            return report with
            {
                Aes = ArmAes.IsSupported,
                CarrylessMultiply = ArmAes.IsSupported,
                Sha256 = ArmSha256.IsSupported,
                Crc32 = ArmCrc32.IsSupported,
            };
        }

        return report;
    }

    private static CpuFeatureReport DetectX86(CpuFeatureReport report)
    {
        var (_, ebx, ecx) = ReadExtendedFeatures();

        // VAES and VPCLMULQDQ are VEX/EVEX-encoded: usable only when the OS saves the YMM state, which Avx.IsSupported reflects.
        var vexUsable = Avx.IsSupported;
        return report with
        {
            Aes = X86Aes.IsSupported,
            CarrylessMultiply = Pclmulqdq.IsSupported,
            VectorAes = vexUsable && X86Aes.IsSupported && IsBitSet(ecx, VaesBit),
            VectorCarrylessMultiply = vexUsable && Pclmulqdq.IsSupported && IsBitSet(ecx, VpclmulqdqBit),
            Sha256 = Sse2.IsSupported && IsBitSet(ebx, ShaBit),
            Avx2 = Avx2.IsSupported,
            Avx512F = Avx512F.IsSupported,
            Avx512BW = Avx512BW.IsSupported,
            Avx512VL = Avx512F.VL.IsSupported,
        };
    }

    private static (bool Available, int Ebx, int Ecx) ReadExtendedFeatures()
    {
        var (maxLeaf, _, _, _) = X86Base.CpuId(0, 0);
        if (maxLeaf < ExtendedFeaturesLeaf)
        {
            return (false, 0, 0);
        }

        var (_, ebx, ecx, _) = X86Base.CpuId(ExtendedFeaturesLeaf, 0);
        return (true, ebx, ecx);
    }

    private static bool IsBitSet(int register, int bit) => (register & (1 << bit)) != 0;

    private static string ReadProcessorName()
    {
        var fallback = RuntimeInformation.ProcessArchitecture.ToString();
        if (!OperatingSystem.IsLinux())
        {
            return fallback;
        }

        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
            {
                if (!line.StartsWith("model name", StringComparison.Ordinal))
                {
                    continue;
                }

                var colon = line.IndexOf(':', StringComparison.Ordinal);
                var name = colon < 0 ? string.Empty : line[(colon + 1)..].Trim();
                return name.Length == 0 ? fallback : name;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A sandbox without /proc still runs; the name is cosmetic.
            return fallback;
        }

        return fallback;
    }
}
