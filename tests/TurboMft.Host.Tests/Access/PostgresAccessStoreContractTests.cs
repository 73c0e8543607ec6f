using TurboMft.Host.Access;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Tests.Postgres;

namespace TurboMft.Host.Tests.Access;

/// <summary>
/// The access store contract for the PostgreSQL provider: each data directory the contract opens a store for gets an empty
/// database of its own on the tests' PostgreSQL (the same one again when it reopens), seeded from that directory's admin token.
/// </summary>
public sealed class PostgresAccessStoreContractTests(PostgresServer server) : AccessStoreContract
{
    private readonly Dictionary<string, PostgresDatabase> _databases = new(StringComparer.Ordinal);

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        foreach (var database in _databases.Values)
        {
            await database.DisposeAsync();
        }
    }

    protected override async Task<IAccessStore> OpenAsync(DataDirectory data, AccessStoreOptions options)
    {
        if (!_databases.TryGetValue(data.Root, out var database))
        {
            database = PostgresDatabase.Create(await server.CreateDatabaseAsync("accesscontract"), "turbomft-test");
            _databases[data.Root] = database;
        }

        return await PostgresAccessStore.OpenAsync(database, options with { AdminTokenSha256 = ApiTokens.Hash(data.ReadAdminToken()) });
    }
}
