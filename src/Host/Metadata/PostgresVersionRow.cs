using Npgsql;
using TurboMft.Engine.Protocol;

namespace TurboMft.Host.Metadata;

/// <summary>
/// A row of the PostgreSQL <c>versions</c> table as a <see cref="FileVersion"/>: the columns to select and how to read
/// them, shared by the metadata store and the replication store's sweep, which reads the same table.
/// </summary>
internal static class PostgresVersionRow
{
    private static readonly string[] Names =
    [
        "version_id", "path", "size", "chunk_size", "digest", "sha256", "object_key", "committed_at", "release_state", "uploaded_by",
        "released_at", "approval_expires_at", "decision", "decided_by", "decision_reason", "decided_at", "is_current",
        "origin_site", "origin_path", "origin_time", "origin_digest", "correlation_id",
    ];

    /// <summary>The columns <see cref="Read"/> reads, in order.</summary>
    public static readonly string Columns = string.Join(", ", Names);

    /// <summary>How many columns <see cref="Read"/> takes.</summary>
    public static int Count => Names.Length;

    /// <summary>The columns of the table under <paramref name="alias"/> (<c>v.version_id, v.path, …</c>).</summary>
    public static string ColumnsOf(string alias) => string.Join(", ", Names.Select(name => alias + "." + name));

    /// <summary>A version from <see cref="Columns"/> starting at column <paramref name="first"/>.</summary>
    public static FileVersion Read(NpgsqlDataReader reader, int first = 0) => new(
        reader.GetGuid(first),
        reader.GetString(first + 1),
        reader.GetInt64(first + 2),
        reader.GetInt32(first + 3),
        reader.GetString(first + 4),
        reader.IsDBNull(first + 5) ? null : reader.GetString(first + 5),
        reader.GetString(first + 6),
        Time(reader.GetInt64(first + 7)))
    {
        State = ReleaseStateNames.Parse(reader.GetString(first + 8)),
        UploadedBy = reader.IsDBNull(first + 9) ? null : reader.GetString(first + 9),
        ReleasedAt = reader.IsDBNull(first + 10) ? null : Time(reader.GetInt64(first + 10)),
        ApprovalExpiresAt = reader.IsDBNull(first + 11) ? null : Time(reader.GetInt64(first + 11)),
        Decision = reader.IsDBNull(first + 12) ? null : new ReleaseDecision(
            reader.GetString(first + 12),
            reader.IsDBNull(first + 13) ? null : reader.GetString(first + 13),
            reader.IsDBNull(first + 14) ? null : reader.GetString(first + 14),
            Time(reader.GetInt64(first + 15))),
        IsCurrent = reader.GetBoolean(first + 16),
        Origin = ReadOrigin(reader, first + 17),
    };

    /// <summary>A provenance from five columns (site, path, time, digest, correlation id) at <paramref name="first"/>, or null.</summary>
    public static Provenance? ReadOrigin(NpgsqlDataReader reader, int first) => reader.IsDBNull(first)
        ? null
        : new Provenance(
            reader.GetString(first),
            reader.GetString(first + 1),
            Time(reader.GetInt64(first + 2)),
            reader.GetString(first + 3),
            reader.IsDBNull(first + 4) ? null : reader.GetString(first + 4));

    /// <summary>A stored time (Unix milliseconds, UTC).</summary>
    public static DateTimeOffset Time(long milliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);
}
