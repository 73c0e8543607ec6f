using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Cluster;

/// <summary>
/// The registry in the shared PostgreSQL database: table <c>cluster_nodes</c>, schema version <c>cluster_schema_version</c>.
/// Joining is one <c>INSERT … ON CONFLICT DO UPDATE … WHERE</c> the holder's heartbeat is stale, so of two nodes claiming one
/// name at once exactly one gets it, and a live node's name is never taken. Times are each node's clock in Unix
/// milliseconds, so node clocks must agree to well within <see cref="ClusterNode.Timeout"/>.
/// </summary>
public sealed class PostgresNodeRegistry : INodeRegistry
{
    private const string Columns = "name, site, version, started_at, heartbeat_at";

    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE cluster_nodes (
            name         text   COLLATE "C" NOT NULL PRIMARY KEY,
            site         text   NOT NULL,
            version      text   NOT NULL,
            started_at   bigint NOT NULL,
            heartbeat_at bigint NOT NULL
        )
        """,
    ];

    private readonly PostgresDatabase _database;

    private PostgresNodeRegistry(PostgresDatabase database) => _database = database;

    /// <inheritdoc />
    public ClusterNode? Self { get; private set; }

    /// <summary>Opens the registry in <paramref name="database"/>, migrating its table; a newer schema is refused.</summary>
    public static async Task<PostgresNodeRegistry> OpenAsync(PostgresDatabase database, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(database);
        await database.MigrateAsync(
            "cluster_schema_version",
            Migrations,
            found => new IOException($"The cluster tables in {database.Description} are at schema version {found}, newer than this build's {Migrations.Length}; run the newer TurboMft."),
            cancellationToken).ConfigureAwait(false);
        return new PostgresNodeRegistry(database);
    }

    /// <inheritdoc />
    public async Task JoinAsync(ClusterNode node, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(node);
        var stale = (node.StartedAt - ClusterNode.Timeout).ToUnixTimeMilliseconds();
        var joined = await _database.ExecuteStatementAsync(
            $"""
            INSERT INTO cluster_nodes ({Columns}) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (name) DO UPDATE SET site = excluded.site, version = excluded.version, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at
            WHERE cluster_nodes.heartbeat_at < $6
            """,
            cancellationToken,
            PostgresParameter.Text(node.Name),
            PostgresParameter.Text(node.Site),
            PostgresParameter.Text(node.Version),
            PostgresParameter.Time(node.StartedAt),
            PostgresParameter.Time(node.HeartbeatAt),
            PostgresParameter.Bigint(stale)).ConfigureAwait(false);
        if (joined == 0)
        {
            var holder = (await ListAsync(cancellationToken).ConfigureAwait(false)).FirstOrDefault(n => n.Name == node.Name);
            var ago = holder is null ? "just now" : $"{Math.Max(0, (node.StartedAt - holder.HeartbeatAt).TotalSeconds):0} s ago";
            throw new NodeNameTakenException(
                $"The node name '{node.Name}' is held by a live node of {_database.Description} (last heartbeat {ago}); give this node another name (--node) " +
                $"or wait until the other has been silent for {ClusterNode.Timeout.TotalSeconds:0} s.");
        }

        Self = node;
    }

    /// <inheritdoc />
    public async Task<bool> HeartbeatAsync(string name, DateTimeOffset at, CancellationToken cancellationToken = default) =>
        await _database.ExecuteStatementAsync(
            "UPDATE cluster_nodes SET heartbeat_at = $2 WHERE name = $1 AND heartbeat_at <= $2",
            cancellationToken,
            PostgresParameter.Text(name),
            PostgresParameter.Time(at)).ConfigureAwait(false) == 1;

    /// <inheritdoc />
    public Task LeaveAsync(string name, CancellationToken cancellationToken = default) =>
        _database.ExecuteStatementAsync("DELETE FROM cluster_nodes WHERE name = $1", cancellationToken, PostgresParameter.Text(name));

    /// <inheritdoc />
    public Task<IReadOnlyList<ClusterNode>> ListAsync(CancellationToken cancellationToken = default) =>
        _database.ListAsync(
            $"SELECT {Columns} FROM cluster_nodes ORDER BY name",
            reader => new ClusterNode(
                reader.GetString(0),
                reader.GetString(1),
                reader.GetString(2),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4))),
            cancellationToken);

    /// <inheritdoc />
    public Task CheckReachableAsync(CancellationToken cancellationToken = default) =>
        _database.ExecuteStatementAsync("SELECT 1", cancellationToken);
}
