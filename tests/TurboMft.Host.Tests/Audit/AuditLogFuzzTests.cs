using CsCheck;
using TurboMft.Fuzz;
using TurboMft.Fuzz.Targets;
using TurboMft.Host.Audit;

namespace TurboMft.Host.Tests.Audit;

/// <summary>The audit log fuzz target (tests/TurboMft.Fuzz/Targets/AuditLogTarget.cs) on its kept corpus, generated logs and record round trips.</summary>
public class AuditLogFuzzTests
{
    private static readonly FuzzTarget Target = FuzzTargets.Find("audit-log")!;

    private static readonly Gen<string> Text = Gen.String[Gen.Char["ab/é\"\\\n\t{}:,\u2028 "], 0, 24];

    private static readonly Gen<string?> OptionalText = Gen.Frequency((1, Gen.Const((string?)null)), (3, Text.Select(t => (string?)t)));

    [Fact]
    public void Every_kept_audit_log_is_read_or_refused_with_a_reason()
    {
        var results = FuzzInputs.RunCorpus(Target);

        Assert.Contains(results, r => r.Outcome.Refusal is { } why && r.File.EndsWith("seed-three.jsonl", StringComparison.Ordinal) && why.Contains("ends at seq 3", StringComparison.Ordinal));
        Assert.Contains(results, r => r.Outcome.Refusal is { } why && why.Contains("not an audit record", StringComparison.Ordinal));
    }

    [Fact]
    public void Random_log_files_are_read_or_refused() =>
        FuzzInputs.Random().Sample(bytes => _ = Target.Run(bytes), iter: 1500);

    [Fact]
    public void Mutated_log_files_are_read_or_refused() =>
        FuzzInputs.Mutated(Target.Name).Sample(bytes => _ = Target.Run(bytes), iter: 1500);

    [Fact]
    public void An_encoded_audit_record_parses_back_to_its_fields()
    {
        var actor = Gen.Select(OptionalText, OptionalText, OptionalText, OptionalText, (u, t, p, a) => new AuditActor(u, t, p, a));
        var events = Gen.Select(Text.Where(t => t.Length > 0), actor, Gen.Select(OptionalText, Gen.Long.Select(l => (long?)l), OptionalText, OptionalText), Gen.Long[1, long.MaxValue])
            .Select((action, who, more, seq) => (Seq: seq, Event: new AuditEvent { Action = action, Actor = who, Outcome = AuditOutcome.Success, Path = more.Item1, Size = more.Item2, CorrelationId = more.Item3, Detail = more.Item4 }));
        events.Sample(e =>
        {
            var line = AuditChain.Encode(e.Seq, SeedCorpus.SeedTime, e.Event, AuditChain.GenesisPrev, AuditLogTarget.CorpusKey);

            var record = AuditRecord.TryParse(line, out var error);

            Assert.Null(error);
            Assert.NotNull(record);
            Assert.True(AuditChain.HasValidHmac(line, AuditLogTarget.CorpusKey));
            Assert.Equal((e.Seq, SeedCorpus.SeedTime, e.Event.Action, e.Event.Outcome, e.Event.Actor), (record.Seq, record.Time, record.Action, record.Outcome, record.Actor));
            Assert.Equal((e.Event.Path, e.Event.Size, e.Event.CorrelationId, e.Event.Detail), (record.Path, record.Size, record.CorrelationId, record.Detail));
        }, iter: 2000);
    }
}
