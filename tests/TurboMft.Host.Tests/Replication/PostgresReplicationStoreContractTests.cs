using TurboMft.Host.Infrastructure;
using TurboMft.Host.Metadata;
using TurboMft.Host.Replication;
using TurboMft.Host.Tests.Postgres;

namespace TurboMft.Host.Tests.Replication;

/// <summary>
/// The replication store contract on PostgreSQL: an empty database of its own per test, the metadata store on it and two
/// replication stores as two nodes would open them, each on a pool of its own.
/// </summary>
public sealed class PostgresReplicationStoreContractTests(PostgresServer server) : ReplicationStoreContract
{
    private readonly List<PostgresDatabase> _databases = [];
    private string? _connectionString;

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        foreach (var database in _databases)
        {
            await database.DisposeAsync();
        }
    }

    protected override async Task<IMetadataStore> OpenMetadataAsync() => await PostgresMetadataStore.OpenAsync(await OpenDatabaseAsync());

    protected override async Task<IReplicationStore> OpenAsync(TimeProvider time) => await PostgresReplicationStore.OpenAsync(await OpenDatabaseAsync(), time);

    private async Task<PostgresDatabase> OpenDatabaseAsync()
    {
        _connectionString ??= await server.CreateDatabaseAsync("replcontract");
        var database = PostgresDatabase.Create(_connectionString, "turbomft-test");
        _databases.Add(database);
        return database;
    }
}
