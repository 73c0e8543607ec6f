using TurboMft.Host.Audit;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Fuzz.Targets;

/// <summary>
/// Audit log files (src/Host/Audit): the input is one log file, <c>audit-000001.jsonl</c>, read by
/// <see cref="AuditVerifier.Verify"/> and <see cref="AuditFileReader.Read"/>, and each of its lines by
/// <see cref="AuditRecord.TryParse"/>. Expected: a break reported by the verifier, null with an error from the record parser.
/// </summary>
public sealed class AuditLogTarget : FuzzTarget
{
    /// <inheritdoc />
    public override string Name => "audit-log";

    /// <inheritdoc />
    public override string Description => "audit log file: JSON lines, each an HMAC-chained audit record";

    /// <summary>The HMAC key of the kept corpus's records, so that inputs made from them verify.</summary>
    public static AuditKey CorpusKey { get; } = AuditKey.FromBytes("TurboMft fuzz corpus audit key 1"u8);

    /// <inheritdoc />
    public override FuzzOutcome Run(ReadOnlySpan<byte> input)
    {
        var directory = Path.Combine(Path.GetTempPath(), $"turbomft-fuzz-audit-{Environment.ProcessId}-{Environment.CurrentManagedThreadId}");
        Directory.CreateDirectory(directory);
        try
        {
            var file = Path.Combine(directory, AuditFiles.Name(1));
            File.WriteAllBytes(file, input);
            var verification = AuditVerifier.Verify(new AuditFileReader(directory), CorpusKey);
            var queried = new AuditFileReader(directory).Read().Count();
            var refusals = 0;
            foreach (var line in AuditFiles.ReadLines(file))
            {
                var record = AuditRecord.TryParse(line.Bytes, out var error);
                FuzzInvariantException.Check((record is null) == (error is not null), "a record parse with both or neither of a record and an error");
                refusals += record is null ? 1 : 0;
            }

            FuzzInvariantException.Check(!verification.Ok || verification.Records <= queried, "the verifier passed more records than the query reads");
            return verification.Ok && refusals == 0 ? FuzzOutcome.Accept : FuzzOutcome.Refuse(verification.Break?.Message ?? $"{refusals} lines are not records");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
