using TurboMft.Host.Access;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Server;

/// <summary>
/// The stores of a data directory for commands that act on it without a running server (<c>turbomft … --data DIR</c>):
/// the composition's choice of provider, so that the commands see only the ports.
/// </summary>
public static class OfflineStores
{
    /// <summary>
    /// Opens the embedded access store of <paramref name="data"/> (<c>access.db</c>, created and seeded as <c>serve</c> would),
    /// with the default settings. The caller disposes it.
    /// </summary>
    public static async Task<IAccessStore> OpenAccessAsync(DataDirectory data, CancellationToken cancellationToken = default) =>
        await SqliteAccessStore.OpenAsync(data, cancellationToken: cancellationToken).ConfigureAwait(false);
}
