using TurboMft.Host.Server;

namespace TurboMft.Host.Tests.Replication;

/// <summary>Starts one real node per site name before each test (each with its own port and data directory) and removes them after.</summary>
public abstract class ReplicationTestBase(params string[] sites) : IAsyncLifetime
{
    private readonly Dictionary<string, ReplicationNode> _nodes = new(StringComparer.Ordinal);

    /// <summary>A scratch directory for the test's files.</summary>
    internal string Work { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        foreach (var site in sites)
        {
            _nodes[site] = await ReplicationNode.StartAsync(site, settings => Configure(site, settings));
        }

        Work = Directory.CreateTempSubdirectory("tmf-repl-work-").FullName;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes.Values)
        {
            await node.DisposeAsync();
        }

        Directory.Delete(Work, recursive: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>The node of <paramref name="site"/>.</summary>
    internal ReplicationNode Node(string site) => _nodes[site];

    /// <summary>Settings of a node on top of the test defaults.</summary>
    private protected virtual void Configure(string site, ServerSettings settings)
    {
    }
}
