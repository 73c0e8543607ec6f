using TurboMft.Host.Metadata;

namespace TurboMft.Host.Tests.Metadata;

/// <summary>The metadata store contract on SQLite: a fresh <c>metadata.db</c> in a directory of its own per test.</summary>
public sealed class SqliteMetadataStoreContractTests : MetadataStoreContract
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tmf-meta-contract-").FullName;

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    protected override async Task<IMetadataStore> OpenAsync() => await SqliteMetadataStore.OpenAsync(_dir);
}
