using TurboMft.Engine.Datasets;

namespace TurboMft.Engine.Tests.Datasets;

public class Xoshiro256StarStarTests
{
    [Fact]
    public void SplitMix64_from_zero_matches_reference_sequence()
    {
        var mix = new SplitMix64(0);

        Assert.Equal(0xE220A8397B1DCDAFUL, mix.Next());
        Assert.Equal(0x6E789E6AA1B965F4UL, mix.Next());
        Assert.Equal(0x06C45D188009454FUL, mix.Next());
    }

    [Fact]
    public void Xoshiro256StarStar_from_state_1_2_3_4_matches_hand_computed_outputs()
    {
        // rotl(2 * 5, 7) * 9 = 11520; after one step s1 becomes 0, so the second output is 0.
        var rng = new Xoshiro256StarStar(1, 2, 3, 4);

        Assert.Equal(11520UL, rng.Next());
        Assert.Equal(0UL, rng.Next());
    }

    [Fact]
    public void Streams_for_neighbouring_indices_and_seeds_differ()
    {
        var outputs = new HashSet<ulong>();
        for (var seed = 0L; seed < 4; seed++)
        {
            for (var index = 0L; index < 64; index++)
            {
                outputs.Add(Xoshiro256StarStar.For(seed, 1, index).Next());
                outputs.Add(Xoshiro256StarStar.For(seed, 2, index).Next());
            }
        }

        Assert.Equal(4 * 64 * 2, outputs.Count);
    }

    [Fact]
    public void NextBelow_stays_in_range_and_reaches_both_ends()
    {
        var rng = Xoshiro256StarStar.For(7, 1, 0);
        var seen = new bool[5];
        for (var i = 0; i < 1000; i++)
        {
            var value = rng.NextBelow(5);
            Assert.InRange(value, 0u, 4u);
            seen[value] = true;
        }

        Assert.All(seen, Assert.True);
    }
}
