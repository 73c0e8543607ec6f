using CsCheck;
using TurboMft.Fuzz;
using TurboMft.Fuzz.Targets;
using TurboMft.Host.Http;

namespace TurboMft.Host.Tests.Server;

/// <summary>The batch body fuzz target (tests/TurboMft.Fuzz/Targets/BatchTarget.cs) on its kept corpus, generated bodies and write-then-read round trips.</summary>
public class BatchFramingFuzzTests
{
    private static readonly FuzzTarget Target = FuzzTargets.Find("batch")!;

    [Fact]
    public void Every_kept_batch_body_is_read_or_refused_with_a_BatchFramingException()
    {
        var results = FuzzInputs.RunCorpus(Target);

        Assert.Contains(results, r => r.Outcome.Accepted && r.File.EndsWith("seed-two-files", StringComparison.Ordinal));
        Assert.Contains(results, r => !r.Outcome.Accepted && r.Outcome.Refusal!.Contains("CRC-64/NVME", StringComparison.Ordinal));
        Assert.Contains(results, r => !r.Outcome.Accepted && r.Outcome.Refusal!.Contains("already in this batch", StringComparison.Ordinal));
    }

    [Fact]
    public void Random_bodies_are_refused_with_a_BatchFramingException() =>
        FuzzInputs.Random().Sample(bytes => Assert.False(Target.Run(bytes).Accepted), iter: 3000);

    [Fact]
    public void Mutated_bodies_are_read_or_refused_with_a_BatchFramingException() =>
        FuzzInputs.Mutated(Target.Name).Sample(bytes => _ = Target.Run(bytes), iter: 3000);

    [Fact]
    public void A_batch_written_by_BatchFormat_reads_back_as_the_same_files()
    {
        var entry = Gen.Select(Gen.String[Gen.Char["abcxyz09-_é"], 1, 10], Gen.Byte.Array[0, 600], Gen.Bool);
        entry.Array[0, 8].Sample(entries =>
        {
            var files = entries.Select((e, i) => ($"/batch/{i}/{e.Item1}", e.Item2, e.Item3)).ToList();

            var read = BatchTarget.ReadAll(SeedCorpus.Batch(files));

            Assert.Equal(files.Select(f => f.Item1), read.Select(r => r.Path));
            Assert.Equal(files.Select(f => f.Item2), read.Select(r => r.Content));
        }, iter: 1500);
    }

    [Fact]
    public void A_batch_cut_anywhere_is_refused_as_truncated() =>
        Gen.Select(Gen.Byte.Array[1, 300], Gen.Int[0, int.MaxValue]).Sample((content, cut) =>
        {
            var body = SeedCorpus.Batch([("/cut/file", content, true)]);
            var error = Assert.Throws<BatchFramingException>(() => BatchTarget.ReadAll(body.AsSpan(0, cut % body.Length)));
            Assert.Equal(BatchFramingError.Truncated, error.Error);
        }, iter: 1500);
}
