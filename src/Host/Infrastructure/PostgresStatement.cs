using Npgsql;

namespace TurboMft.Host.Infrastructure;

/// <summary>
/// One statement of a PostgreSQL provider on a pooled connection of its own, outside a transaction (it commits by itself):
/// one round trip, and a database that is away raised as <see cref="StoreUnavailableException"/> (see <see cref="PostgresDatabase.WithConnectionAsync{T}"/>).
/// </summary>
internal static class PostgresStatement
{
    /// <summary>Runs <paramref name="sql"/> and reads its rows with <paramref name="read"/>.</summary>
    public static Task<T> QueryAsync<T>(
        this PostgresDatabase database, string sql, Func<NpgsqlDataReader, CancellationToken, Task<T>> read, CancellationToken cancellationToken, params NpgsqlParameter[] parameters) =>
        database.WithConnectionAsync(
            async (connection, token) =>
            {
                await using var command = Command(sql, connection, parameters);
                await using var reader = await command.ExecuteReaderAsync(token).ConfigureAwait(false);
                return await read(reader, token).ConfigureAwait(false);
            },
            cancellationToken);

    /// <summary>Runs <paramref name="sql"/> and makes a list of its rows, one <paramref name="row"/> each.</summary>
    public static Task<IReadOnlyList<T>> ListAsync<T>(
        this PostgresDatabase database, string sql, Func<NpgsqlDataReader, T> row, CancellationToken cancellationToken, params NpgsqlParameter[] parameters) =>
        database.QueryAsync<IReadOnlyList<T>>(
            sql,
            async (reader, token) =>
            {
                var rows = new List<T>();
                while (await reader.ReadAsync(token).ConfigureAwait(false))
                {
                    rows.Add(row(reader));
                }

                return rows;
            },
            cancellationToken,
            parameters);

    /// <summary>Runs <paramref name="sql"/>, which returns no rows; returns how many rows it changed.</summary>
    public static Task<int> ExecuteStatementAsync(this PostgresDatabase database, string sql, CancellationToken cancellationToken, params NpgsqlParameter[] parameters) =>
        database.WithConnectionAsync(
            async (connection, token) =>
            {
                await using var command = Command(sql, connection, parameters);
                return await command.ExecuteNonQueryAsync(token).ConfigureAwait(false);
            },
            cancellationToken);

    private static NpgsqlCommand Command(string sql, NpgsqlConnection connection, NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection);

        // Copies: a run again after a deadlock needs parameters that no earlier command holds.
        command.Parameters.AddRange(parameters.Select(p => p.Clone()).ToArray());
        return command;
    }
}
