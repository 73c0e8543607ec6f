using System.Numerics;
using System.Runtime.CompilerServices;

namespace TurboMft.Engine.Datasets;

/// <summary>
/// The xoshiro256** generator (Blackman and Vigna), seeded through SplitMix64. Written out here rather than taken from
/// System.Random, whose algorithm may change between runtimes: generated datasets must be the same bytes everywhere.
/// </summary>
internal struct Xoshiro256StarStar
{
    private ulong _s0;
    private ulong _s1;
    private ulong _s2;
    private ulong _s3;

    /// <summary>Creates a generator from raw state; the state must not be all zero.</summary>
    public Xoshiro256StarStar(ulong s0, ulong s1, ulong s2, ulong s3)
    {
        _s0 = s0;
        _s1 = s1;
        _s2 = s2;
        _s3 = s3;
    }

    /// <summary>An independent stream for one (seed, stream, index) triple, e.g. one block of one dataset kind.</summary>
    public static Xoshiro256StarStar For(long seed, ulong stream, long index)
    {
        // Three SplitMix64 finalisations fold the triple into one 64-bit key; distinct triples give unrelated streams.
        var key = SplitMix64.Mix((ulong)seed + SplitMix64.Gamma);
        key = SplitMix64.Mix(key ^ (stream * 0xD6E8FEB86659FD93UL));
        key = SplitMix64.Mix(key ^ (ulong)index);
        var mix = new SplitMix64(key);
        return new Xoshiro256StarStar(mix.Next(), mix.Next(), mix.Next(), mix.Next());
    }

    /// <summary>The next 64 random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Next()
    {
        var result = BitOperations.RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = BitOperations.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>A value in [0, <paramref name="bound"/>) by multiply-shift (Lemire), bias below 2^-32 for small bounds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint NextBelow(uint bound) => (uint)(((Next() >> 32) * bound) >> 32);
}

/// <summary>SplitMix64 (Steele, Lea, Flood): used only to expand seeds into xoshiro state.</summary>
internal struct SplitMix64
{
    /// <summary>The golden-ratio increment.</summary>
    public const ulong Gamma = 0x9E3779B97F4A7C15UL;

    private ulong _state;

    /// <summary>Starts the sequence at <paramref name="state"/>.</summary>
    public SplitMix64(ulong state) => _state = state;

    /// <summary>The next output.</summary>
    public ulong Next()
    {
        _state += Gamma;
        return Mix(_state);
    }

    /// <summary>The SplitMix64 output finaliser: a bijective 64-bit mix.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
