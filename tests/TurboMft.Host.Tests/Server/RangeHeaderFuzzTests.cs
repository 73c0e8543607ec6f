using System.Globalization;
using CsCheck;
using TurboMft.Fuzz;
using TurboMft.Fuzz.Targets;
using TurboMft.Host.Delivery;

namespace TurboMft.Host.Tests.Server;

/// <summary>The Range header fuzz target (tests/TurboMft.Fuzz/Targets/RangeTarget.cs) on its kept corpus, generated headers and round trips.</summary>
public class RangeHeaderFuzzTests
{
    private static readonly FuzzTarget Target = FuzzTargets.Find("range")!;

    [Fact]
    public void Every_kept_range_is_inside_its_file_or_refused()
    {
        var results = FuzzInputs.RunCorpus(Target);

        Assert.Contains(results, r => r.Outcome.Accepted && r.File.EndsWith("seed-suffix", StringComparison.Ordinal));
        Assert.Contains(results, r => !r.Outcome.Accepted && r.File.EndsWith("seed-multi", StringComparison.Ordinal));
    }

    [Fact]
    public void Random_range_headers_are_inside_the_file_or_refused() =>
        Gen.Select(Gen.Long[0, long.MaxValue], Gen.String[Gen.Char["bytes=-0123456789, +\t"], 0, 40])
            .Sample((size, header) => _ = Target.Run(RangeTarget.Frame(size, header)), iter: 5000);

    [Fact]
    public void Mutated_range_inputs_are_inside_the_file_or_refused() =>
        FuzzInputs.Mutated(Target.Name).Sample(bytes => _ = Target.Run(bytes), iter: 4000);

    [Fact]
    public void A_range_formatted_inside_the_file_parses_to_itself() =>
        Gen.Select(Gen.Long[1, long.MaxValue], Gen.Long[0, long.MaxValue], Gen.Long[0, long.MaxValue]).Sample((size, a, b) =>
        {
            var start = a % size;
            var end = start + (b % (size - start));
            Assert.True(FileDelivery.TryParseRange(string.Create(CultureInfo.InvariantCulture, $"bytes={start}-{end}"), size, out var parsedStart, out var parsedEnd));
            Assert.Equal((start, end), (parsedStart, parsedEnd));
        }, iter: 4000);

    [Fact]
    public void A_suffix_range_is_the_last_bytes_of_the_file() =>
        Gen.Select(Gen.Long[1, long.MaxValue], Gen.Long[1, long.MaxValue]).Sample((size, suffix) =>
        {
            Assert.True(FileDelivery.TryParseRange(string.Create(CultureInfo.InvariantCulture, $"bytes=-{suffix}"), size, out var start, out var end));
            Assert.Equal((Math.Max(0, size - suffix), size - 1), (start, end));
        }, iter: 4000);
}
