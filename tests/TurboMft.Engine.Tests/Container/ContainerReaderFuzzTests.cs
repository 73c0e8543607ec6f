using CsCheck;
using TurboMft.Fuzz;

namespace TurboMft.Engine.Tests.Container;

/// <summary>The container fuzz target (tests/TurboMft.Fuzz/Targets/ContainerTarget.cs) on its kept corpus and on generated inputs.</summary>
public class ContainerReaderFuzzTests
{
    private static readonly FuzzTarget Target = FuzzTargets.Find("container")!;

    [Fact]
    public void Every_kept_container_input_is_read_or_refused_with_a_ContainerException()
    {
        var results = FuzzInputs.RunCorpus(Target);

        Assert.True(results.Count >= 5);
        Assert.Contains(results, r => r.Outcome.Accepted && r.File.EndsWith("seed-text.tmf", StringComparison.Ordinal));
        Assert.Contains(results, r => !r.Outcome.Accepted && r.Outcome.Refusal!.Contains("TrailerMissing", StringComparison.Ordinal));
    }

    [Fact]
    public void Random_bytes_are_refused_with_a_ContainerException() =>
        FuzzInputs.Random().Sample(bytes => Assert.False(Target.Run(bytes).Accepted), iter: 1000);

    [Fact]
    public void Mutated_containers_are_read_or_refused_with_a_ContainerException() =>
        FuzzInputs.Mutated(Target.Name).Sample(bytes => _ = Target.Run(bytes), iter: 1500);
}
