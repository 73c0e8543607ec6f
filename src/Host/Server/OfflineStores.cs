using TurboMft.Engine.Storage;
using TurboMft.Host.Access;
using TurboMft.Host.Audit;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Metadata;

namespace TurboMft.Host.Server;

/// <summary>
/// The stores of a stopped server's data directory for the command line's offline commands (<c>turbomft … --data DIR</c>):
/// the composition's choice of providers, as <see cref="TurboMftServer"/> makes it for a running server, handed out as
/// ports.
/// </summary>
public static class OfflineStores
{
    /// <summary>
    /// Opens the embedded access store of <paramref name="data"/> (<c>access.db</c>, created and seeded as <c>serve</c> would),
    /// with the default settings. The caller disposes it.
    /// </summary>
    public static async Task<IAccessStore> OpenAccessAsync(DataDirectory data, CancellationToken cancellationToken = default) =>
        await SqliteAccessStore.OpenAsync(data, cancellationToken: cancellationToken).ConfigureAwait(false);

    /// <summary>Opens the data directory's metadata store, migrated as a server would; the caller disposes it.</summary>
    public static async Task<IMetadataStore> OpenMetadataAsync(DataDirectory data, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(data);
        return await SqliteMetadataStore.OpenAsync(data.Root, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The read side of the data directory's audit store: it takes no lock, so it reads beside a running server (verify,
    /// export).
    /// </summary>
    public static IAuditReader AuditReader(DataDirectory data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return new AuditFileReader(data.AuditPath);
    }

    /// <summary>The data directory's object store (the committed containers).</summary>
    public static IObjectStore Objects(DataDirectory data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return new LocalObjectStore(data.StorePath);
    }
}
