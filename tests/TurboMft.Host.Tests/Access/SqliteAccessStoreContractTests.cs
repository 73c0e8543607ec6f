using TurboMft.Host.Access;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Tests.Access;

/// <summary>The access store contract for the embedded provider, <c>access.db</c> in a temporary data directory.</summary>
public sealed class SqliteAccessStoreContractTests : AccessStoreContract
{
    protected override async Task<IAccessStore> OpenAsync(DataDirectory data, AccessStoreOptions options) => await SqliteAccessStore.OpenAsync(data, options);
}
