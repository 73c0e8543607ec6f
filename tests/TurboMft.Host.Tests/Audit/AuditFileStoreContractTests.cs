using TurboMft.Host.Audit;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Tests.Audit;

/// <summary>The audit store contract for the local files (<see cref="AuditFileStore"/>) in a temporary directory.</summary>
public sealed class AuditFileStoreContractTests : AuditStoreContract
{
    private readonly string _directory = Directory.CreateTempSubdirectory("tmf-audit-contract-").FullName;

    public override void Dispose()
    {
        Directory.Delete(_directory, recursive: true);
        base.Dispose();
    }

    protected override IAuditStore Open(AuditKey key) => AuditFileStore.Open(_directory, key);

    protected override IAuditReader OpenReader() => new AuditFileReader(_directory);

    protected override void TearAfterLastRecord(byte[] line)
    {
        using var file = new FileStream(Path.Combine(_directory, "audit-000001.jsonl"), FileMode.Append, FileAccess.Write);
        file.Write(line);
    }
}
