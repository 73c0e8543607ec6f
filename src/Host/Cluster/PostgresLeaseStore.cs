using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Cluster;

/// <summary>
/// The leases in the shared PostgreSQL database: table <c>cluster_leases</c>, schema version <c>cluster_lease_schema_version</c>.
/// A claim is one <c>INSERT … ON CONFLICT DO UPDATE … WHERE</c> the holding has lapsed or is the claimer's own, returning
/// the token: of nodes claiming one name at once exactly one wins, as PostgreSQL re-checks the condition on the row
/// another claim just wrote. Times are the database's clock (<c>clock_timestamp()</c>, Unix milliseconds), one clock for
/// every node, so the nodes' clocks need not agree for leases.
/// </summary>
/// <remarks>
/// A row, not an advisory lock: an advisory lock lives with one session, so a node would have to keep a connection per
/// lease out of the pool, a lock carries no token a write can check, and it cannot be listed with its holder and expiry.
/// </remarks>
public sealed class PostgresLeaseStore : ILeaseStore
{
    private const string Columns = "name, holder, token, acquired_at, expires_at";


    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE cluster_leases (
            name        text   COLLATE "C" NOT NULL PRIMARY KEY,
            holder      text   NOT NULL,
            instance    uuid,
            token       bigint NOT NULL,
            acquired_at bigint NOT NULL,
            expires_at  bigint NOT NULL
        )
        """,
    ];

    private readonly PostgresDatabase _database;
    private readonly TimeProvider? _clock;

    private PostgresLeaseStore(PostgresDatabase database, TimeProvider? clock)
    {
        _database = database;
        _clock = clock;
    }

    /// <summary>
    /// Opens the leases in <paramref name="database"/>, migrating the table; a newer schema is refused. Expiry is by the
    /// database's clock unless <paramref name="clock"/> is given (tests drive it with a fake clock).
    /// </summary>
    public static async Task<PostgresLeaseStore> OpenAsync(PostgresDatabase database, TimeProvider? clock = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(database);
        await database.MigrateAsync(
            "cluster_lease_schema_version",
            Migrations,
            found => new IOException($"The lease table in {database.Description} is at schema version {found}, newer than this build's {Migrations.Length}; run the newer TurboMft."),
            cancellationToken).ConfigureAwait(false);
        return new PostgresLeaseStore(database, clock);
    }

    /// <inheritdoc />
    public async Task<ClusterLease?> ClaimAsync(string name, string holder, Guid instance, TimeSpan term, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(holder);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(term, TimeSpan.Zero);

        // SET reads the old row: the claimer's own holding keeps its token and start, any other lapsed one gets token + 1.
        var claimed = await _database.ListAsync(
            $"""
            INSERT INTO cluster_leases AS l (name, holder, instance, token, acquired_at, expires_at)
            SELECT $1, $2, $3, 1, t.now, t.now + $4 FROM (SELECT {Now(5)} AS now) AS t
            ON CONFLICT (name) DO UPDATE SET
                holder = excluded.holder,
                instance = excluded.instance,
                token = CASE WHEN l.instance = excluded.instance THEN l.token ELSE l.token + 1 END,
                acquired_at = CASE WHEN l.instance = excluded.instance THEN l.acquired_at ELSE excluded.acquired_at END,
                expires_at = excluded.expires_at
            WHERE l.instance = excluded.instance OR l.expires_at <= excluded.acquired_at
            RETURNING {Columns}
            """,
            Read,
            cancellationToken,
            [
                PostgresParameter.Text(name), PostgresParameter.Text(holder), PostgresParameter.Of(instance), PostgresParameter.Of((long)term.TotalMilliseconds),
                Clock(),
            ]).ConfigureAwait(false);
        return claimed.Count == 0 ? null : claimed[0];
    }

    /// <inheritdoc />
    public async Task<bool> IsCurrentAsync(string name, long token, CancellationToken cancellationToken = default) =>
        (await _database.ListAsync(
            $"SELECT 1 FROM cluster_leases WHERE name = $1 AND token = $2 AND instance IS NOT NULL AND expires_at > {Now(3)}",
            _ => true,
            cancellationToken,
            [PostgresParameter.Text(name), PostgresParameter.Of(token), Clock()]).ConfigureAwait(false)).Count == 1;

    /// <inheritdoc />
    public async Task<bool> ReleaseAsync(string name, long token, CancellationToken cancellationToken = default) =>
        await _database.ExecuteStatementAsync(
            $"""
            UPDATE cluster_leases SET instance = NULL, expires_at = t.now
            FROM (SELECT {Now(3)} AS now) AS t
            WHERE name = $1 AND token = $2 AND instance IS NOT NULL AND expires_at > t.now
            """,
            cancellationToken,
            [PostgresParameter.Text(name), PostgresParameter.Of(token), Clock()]).ConfigureAwait(false) == 1;

    /// <inheritdoc />
    public Task<IReadOnlyList<ClusterLease>> ListAsync(CancellationToken cancellationToken = default) =>
        _database.ListAsync(
            $"SELECT {Columns} FROM cluster_leases WHERE instance IS NOT NULL AND expires_at > {Now(1)} ORDER BY name",
            Read,
            cancellationToken,
            Clock());

    private static ClusterLease Read(Npgsql.NpgsqlDataReader reader) => new(
        reader.GetString(0),
        reader.GetString(1),
        reader.GetInt64(2),
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)));

    // The clock of a statement as parameter $n: the test clock's time when one is given, else NULL and the database's clock.
    private static string Now(int parameter) => $"coalesce(${parameter}::bigint, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)";

    private Npgsql.NpgsqlParameter Clock() => PostgresParameter.Time(_clock?.GetUtcNow());
}
