using CsCheck;
using TurboMft.Engine.Storage;
using TurboMft.Fuzz;

namespace TurboMft.Engine.Tests.Storage;

/// <summary>The path normalisation fuzz target (tests/TurboMft.Fuzz/Targets/RemotePathTarget.cs) on its kept corpus, generated inputs and round trips.</summary>
public class RemotePathFuzzTests
{
    private static readonly FuzzTarget Target = FuzzTargets.Find("remote-path")!;

    private static readonly Gen<string> PathLike = Gen.String[Gen.Char["/ab.-_~ é\u0301\u00e9:\\*?<>|\u0000\u200bcon"], 0, 40];

    [Fact]
    public void Every_kept_path_is_canonical_or_refused_with_its_reason()
    {
        var results = FuzzInputs.RunCorpus(Target);

        Assert.Contains(results, r => r.Outcome.Accepted && r.File.EndsWith("seed-nfd", StringComparison.Ordinal));
        Assert.Contains(results, r => !r.Outcome.Accepted && r.Outcome.Refusal!.Contains("relative reference", StringComparison.Ordinal));
    }

    [Fact]
    public void Random_bytes_as_paths_parse_or_are_refused() =>
        FuzzInputs.Random(300).Sample(bytes => _ = Target.Run(bytes), iter: 3000);

    [Fact]
    public void Mutated_paths_parse_or_are_refused() =>
        FuzzInputs.Mutated(Target.Name).Sample(bytes => _ = Target.Run(bytes), iter: 3000);

    [Fact]
    public void A_canonical_path_parses_back_to_itself() =>
        PathLike.Sample(text =>
        {
            if (RemotePath.TryParse(text, out var path, out _))
            {
                Assert.Equal(path.Value, RemotePath.Parse(path.Value).Value);
                Assert.Equal(path.Value, RemotePath.Parse(path.ToString()).Value);
            }
        }, iter: 5000);

    [Fact]
    public void Segments_joined_into_a_path_parse_to_the_same_segments() =>
        Gen.String[Gen.Char["abcxyz019-_é"], 1, 12].Array[1, 8].Sample(segments =>
        {
            var path = RemotePath.Parse("/" + string.Join('/', segments));
            Assert.Equal("/" + string.Join('/', segments), path.Value);
        }, iter: 3000);
}
