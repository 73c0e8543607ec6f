using TurboMft.Host.Infrastructure;
using TurboMft.Host.Metadata;
using TurboMft.Host.Tests.Postgres;

namespace TurboMft.Host.Tests.Metadata;

/// <summary>The metadata store contract on PostgreSQL: an empty database of its own per test, on the tests' server.</summary>
public sealed class PostgresMetadataStoreContractTests(PostgresServer server) : MetadataStoreContract
{
    private PostgresDatabase? _database;

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    protected override async Task<IMetadataStore> OpenAsync()
    {
        _database = PostgresDatabase.Create(await server.CreateDatabaseAsync("metacontract"), "turbomft-test");
        return await PostgresMetadataStore.OpenAsync(_database);
    }
}
