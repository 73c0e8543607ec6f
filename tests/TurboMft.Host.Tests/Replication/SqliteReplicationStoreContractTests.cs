using TurboMft.Host.Metadata;
using TurboMft.Host.Replication;

namespace TurboMft.Host.Tests.Replication;

/// <summary>The replication store contract on SQLite: both stores in one <c>metadata.db</c>, as a server opens them.</summary>
public sealed class SqliteReplicationStoreContractTests : ReplicationStoreContract
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tmf-repl-store-").FullName;

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    protected override async Task<IMetadataStore> OpenMetadataAsync() => await SqliteMetadataStore.OpenAsync(_dir);

    protected override async Task<IReplicationStore> OpenAsync(TimeProvider time) =>
        await SqliteReplicationStore.OpenAsync(Path.Combine(_dir, SqliteMetadataStore.FileName), time);
}
