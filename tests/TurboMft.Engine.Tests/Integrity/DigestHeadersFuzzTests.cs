using System.Security.Cryptography;
using CsCheck;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Protocol;
using TurboMft.Fuzz;

namespace TurboMft.Engine.Tests.Integrity;

/// <summary>The digest header fuzz target (tests/TurboMft.Fuzz/Targets/DigestHeadersTarget.cs) on its kept corpus, generated inputs and round trips.</summary>
public class DigestHeadersFuzzTests
{
    private static readonly FuzzTarget Target = FuzzTargets.Find("digest-headers")!;

    [Fact]
    public void Every_kept_digest_header_parses_or_is_refused()
    {
        var results = FuzzInputs.RunCorpus(Target);

        Assert.Equal(4, results.Count(r => r.Outcome.Accepted));
        Assert.Contains(results, r => !r.Outcome.Accepted && r.File.EndsWith("seed-bad-base64", StringComparison.Ordinal));
    }

    [Fact]
    public void Random_header_values_parse_or_are_refused() =>
        FuzzInputs.Random(200).Sample(bytes => _ = Target.Run(bytes), iter: 4000);

    [Fact]
    public void Mutated_header_values_parse_or_are_refused() =>
        FuzzInputs.Mutated(Target.Name).Sample(bytes => _ = Target.Run(bytes), iter: 4000);

    [Fact]
    public void A_sha256_digest_field_round_trips_among_other_members() =>
        Gen.Select(Gen.Byte.Array[SHA256.HashSizeInBytes], Gen.Int[0, 3], Gen.Bool).Sample((sha, others, last) =>
        {
            var members = Enumerable.Range(0, others).Select(i => $"sha-512=:{Convert.ToBase64String(new byte[i + 1])}:").ToList();
            members.Insert(last ? members.Count : 0, DigestFields.FormatSha256(sha));
            var parsed = new byte[SHA256.HashSizeInBytes];
            Assert.True(DigestFields.TryGetSha256(string.Join(", ", members), parsed));
            Assert.Equal(sha, parsed);
        }, iter: 3000);

    [Fact]
    public void A_chunk_crc_round_trips_through_its_header_form() =>
        Gen.ULong.Sample(crc =>
        {
            Assert.True(ChunkCrc.TryParse(ChunkCrc.Format(crc), out var parsed));
            Assert.Equal(crc, parsed);
        }, iter: 3000);

    [Fact]
    public void A_file_digest_round_trips_through_its_text_form() =>
        Gen.Byte.Array[SHA256.HashSizeInBytes].Sample(bytes =>
        {
            var digest = new FileDigest(bytes);
            Assert.Equal(digest, FileDigest.Parse(digest.ToString()));
        }, iter: 3000);
}
