using System.Security.Cryptography;
using CsCheck;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Protocol;
using TurboMft.Engine.Storage;
using TurboMft.Fuzz;
using TurboMft.Fuzz.Targets;

namespace TurboMft.Host.Tests.Replication;

/// <summary>The provenance header fuzz target (tests/TurboMft.Fuzz/Targets/ProvenanceTarget.cs) on its kept corpus, generated headers and round trips.</summary>
public class ProvenanceFuzzTests
{
    private static readonly FuzzTarget Target = FuzzTargets.Find("provenance")!;

    [Fact]
    public void Every_kept_provenance_is_read_or_refused_with_its_reason()
    {
        var results = FuzzInputs.RunCorpus(Target);

        Assert.Contains(results, r => r.Outcome.Accepted && r.File.EndsWith("seed-full", StringComparison.Ordinal));
        Assert.Contains(results, r => !r.Outcome.Accepted && r.Outcome.Refusal!.Contains("needs all of", StringComparison.Ordinal));
    }

    [Fact]
    public void Random_header_blocks_are_read_or_refused() =>
        FuzzInputs.Random().Sample(bytes => _ = Target.Run(bytes), iter: 3000);

    [Fact]
    public void Mutated_provenance_headers_are_read_or_refused() =>
        FuzzInputs.Mutated(Target.Name).Sample(bytes => _ = Target.Run(bytes), iter: 3000);

    [Fact]
    public void Provenance_written_as_headers_reads_back_the_same() =>
        Gen.Select(
            Gen.String[Gen.Char["abz09.-_"], 1, 64],
            Gen.String[Gen.Char["abz09 é%+#?-_"], 1, 12].Array[1, 5].Select(segments => "/" + string.Join('/', segments)).Where(p => RemotePath.TryParse(p, out var canonical, out _) && canonical.Value == p),
            Gen.Long[0, 253402300799999],
            Gen.Byte.Array[SHA256.HashSizeInBytes],
            Gen.Frequency((1, Gen.Const((string?)null)), (2, Gen.String[Gen.Char["abz09.-_"], 1, 64].Select(s => (string?)s))))
        .Sample((site, path, ms, digest, correlation) =>
        {
            var origin = new Provenance(site, path, DateTimeOffset.FromUnixTimeMilliseconds(ms), new FileDigest(digest).ToString(), correlation);

            Assert.True(ProvenanceTarget.TryRead([.. origin.ToHeaders()], out var read, out var error), error);
            Assert.Equal(origin, read);
            Assert.True(Target.Run(ProvenanceTarget.Frame(origin.ToHeaders())).Accepted);
        }, iter: 2000);
}
