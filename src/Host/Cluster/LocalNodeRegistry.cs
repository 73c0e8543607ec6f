namespace TurboMft.Host.Cluster;

/// <summary>The registry of the embedded server: the one node, in memory; always reachable.</summary>
public sealed class LocalNodeRegistry : INodeRegistry
{
    private readonly Lock _gate = new();
    private ClusterNode? _node;

    /// <inheritdoc />
    public ClusterNode? Self { get; private set; }

    /// <inheritdoc />
    public Task JoinAsync(ClusterNode node, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(node);
        lock (_gate)
        {
            _node = node;
            Self = node;
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<bool> HeartbeatAsync(string name, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_node is null || _node.Name != name)
            {
                return Task.FromResult(false);
            }

            _node = _node with { HeartbeatAt = at };
            return Task.FromResult(true);
        }
    }

    /// <inheritdoc />
    public Task LeaveAsync(string name, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_node?.Name == name)
            {
                _node = null;
            }
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<ClusterNode>> ListAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyList<ClusterNode>>(_node is null ? [] : [_node]);
        }
    }

    /// <inheritdoc />
    public Task CheckReachableAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;
}
