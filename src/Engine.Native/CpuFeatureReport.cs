using System.Runtime.InteropServices;

namespace TurboMft.Engine.Native;

/// <summary>
/// The CPU features of one machine that matter to the engine: what the runtime's AES-GCM, SHA-256 and CRC kernels can use.
/// </summary>
public sealed record CpuFeatureReport
{
    /// <summary>The processor's model name (from /proc/cpuinfo on Linux), or the architecture when no name is available.</summary>
    public required string ProcessorName { get; init; }

    /// <summary>The processor architecture the process runs on.</summary>
    public required Architecture Architecture { get; init; }

    /// <summary>Logical cores available to the process.</summary>
    public required int LogicalCores { get; init; }

    /// <summary>AES round instructions: AES-NI on x86, the AES extension on Arm64.</summary>
    public bool Aes { get; init; }

    /// <summary>128-bit carry-less multiply (GHASH, CRC folding): PCLMULQDQ on x86, PMULL on Arm64.</summary>
    public bool CarrylessMultiply { get; init; }

    /// <summary>VAES: AES on 256/512-bit vectors (x86 only).</summary>
    public bool VectorAes { get; init; }

    /// <summary>VPCLMULQDQ: carry-less multiply on 256/512-bit vectors (x86 only).</summary>
    public bool VectorCarrylessMultiply { get; init; }

    /// <summary>SHA-256 instructions: SHA-NI on x86, the SHA2 extension on Arm64.</summary>
    public bool Sha256 { get; init; }

    /// <summary>AVX2 (x86 only).</summary>
    public bool Avx2 { get; init; }

    /// <summary>AVX-512 Foundation (x86 only).</summary>
    public bool Avx512F { get; init; }

    /// <summary>AVX-512 Byte and Word (x86 only).</summary>
    public bool Avx512BW { get; init; }

    /// <summary>AVX-512 Vector Length extensions (x86 only).</summary>
    public bool Avx512VL { get; init; }

    /// <summary>CRC32 instructions of the Arm64 CRC extension (false on x86, where CRC-64 folds with carry-less multiply).</summary>
    public bool Crc32 { get; init; }

    /// <summary>Short names of the features present, in a fixed order, spelled as the platform's documentation spells them (e.g. "aes-ni", "vaes").</summary>
    public IReadOnlyList<string> Names => BuildNames();

    /// <summary>One line for logs and <c>/v1/info</c>: processor, cores and feature names.</summary>
    public override string ToString()
    {
        var features = Names.Count == 0 ? "none" : string.Join(' ', Names);
        return $"{ProcessorName} ({Architecture}, {LogicalCores} logical cores): {features}";
    }

    private List<string> BuildNames()
    {
        var names = new List<string>(10);
        var x86 = Architecture is Architecture.X64 or Architecture.X86;
        Add(names, Aes, x86 ? "aes-ni" : "aes");
        Add(names, CarrylessMultiply, x86 ? "pclmulqdq" : "pmull");
        Add(names, VectorAes, "vaes");
        Add(names, VectorCarrylessMultiply, "vpclmulqdq");
        Add(names, Sha256, x86 ? "sha-ni" : "sha256");
        Add(names, Avx2, "avx2");
        Add(names, Avx512F, "avx512f");
        Add(names, Avx512BW, "avx512bw");
        Add(names, Avx512VL, "avx512vl");
        Add(names, Crc32, "crc32");
        return names;
    }

    private static void Add(List<string> names, bool present, string name)
    {
        if (present)
        {
            names.Add(name);
        }
    }
}
