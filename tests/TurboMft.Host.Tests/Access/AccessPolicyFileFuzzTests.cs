using CsCheck;
using TurboMft.Fuzz;
using TurboMft.Host.Access;

namespace TurboMft.Host.Tests.Access;

/// <summary>The policy file fuzz target (tests/TurboMft.Fuzz/Targets/PolicyTarget.cs) on its kept corpus and on generated files.</summary>
public class AccessPolicyFileFuzzTests
{
    private static readonly FuzzTarget Target = FuzzTargets.Find("policy")!;

    [Fact]
    public void Every_kept_policy_file_parses_or_is_refused_with_a_PolicyFileException()
    {
        var results = FuzzInputs.RunCorpus(Target);

        Assert.Contains(results, r => r.Outcome.Accepted && r.File.EndsWith("seed-valid.json", StringComparison.Ordinal));
        Assert.Contains(results, r => !r.Outcome.Accepted && r.Outcome.Refusal!.Contains("unknown role 'nobody'", StringComparison.Ordinal));
    }

    [Fact]
    public void Random_bytes_are_refused_with_a_PolicyFileException() =>
        FuzzInputs.Random().Sample(bytes => Assert.False(Target.Run(bytes).Accepted), iter: 3000);

    [Fact]
    public void Mutated_policy_files_parse_or_are_refused_with_a_PolicyFileException() =>
        FuzzInputs.Mutated(Target.Name).Sample(bytes => _ = Target.Run(bytes), iter: 3000);

    [Fact]
    public void Invalid_utf8_inside_a_string_is_refused_naming_its_line_and_column()
    {
        // Found by the mutated-corpus property: a bare DecoderFallbackException escaped the parser.
        var file = Path.Combine(FuzzTargets.CorpusDirectory(Target.Name), "regressions", "invalid-utf8-in-string.json");

        var error = Assert.Throws<PolicyFileException>(() => AccessPolicyFile.Parse(File.ReadAllBytes(file), "policy.json"));

        Assert.Equal((1, 27), (error.Line, error.Column));
        Assert.Contains("not valid UTF-8 (byte 0xff)", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("afl-20261207-id000000.json")]
    [InlineData("afl-20261207-id000004.json")]
    [InlineData("afl-20261207-id000010.json")]
    public void Afl_crash_inputs_with_invalid_utf8_are_refused_as_not_utf8(string name)
    {
        // afl-fuzz crashes of 2026-12-07 (docs/fuzzing.md, "Findings"): invalid UTF-8 in names, roles and areas.
        var file = Path.Combine(FuzzTargets.CorpusDirectory(Target.Name), "regressions", name);

        var error = Assert.Throws<PolicyFileException>(() => AccessPolicyFile.Parse(File.ReadAllBytes(file), "policy.json"));

        Assert.Contains("not valid UTF-8", error.Problem, StringComparison.Ordinal);
        Assert.True(error.Line >= 1 && error.Column >= 1);
    }
}
