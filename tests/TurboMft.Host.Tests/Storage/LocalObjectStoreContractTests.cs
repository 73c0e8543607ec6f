using TurboMft.Engine.Storage;

namespace TurboMft.Host.Tests.Storage;

/// <summary>The object store contract for the store on local disk.</summary>
public sealed class LocalObjectStoreContractTests : ObjectStoreContract
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("turbomft-store-");

    /// <inheritdoc />
    protected override IObjectStore Open() => new LocalObjectStore(Path.Combine(_root.FullName, "store"));

    /// <inheritdoc />
    public override void Dispose()
    {
        _root.Delete(recursive: true);
        base.Dispose();
    }
}
