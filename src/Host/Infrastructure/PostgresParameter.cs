using Npgsql;
using NpgsqlTypes;

namespace TurboMft.Host.Infrastructure;

/// <summary>
/// Positional parameters (<c>$1</c>, <c>$2</c> …) for the PostgreSQL providers: a value is always a parameter, never SQL
/// text, and a null goes as a typed NULL so that PostgreSQL needs no cast to know its type.
/// </summary>
internal static class PostgresParameter
{
    /// <summary>A parameter holding <paramref name="value"/>.</summary>
    public static NpgsqlParameter<T> Of<T>(T value) => new() { TypedValue = value };

    /// <summary>A <c>text</c> parameter, NULL when <paramref name="value"/> is null.</summary>
    public static NpgsqlParameter Text(string? value) =>
        value is null ? new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = DBNull.Value } : Of(value);

    /// <summary>A <c>bigint</c> parameter, NULL when <paramref name="value"/> is null.</summary>
    public static NpgsqlParameter Bigint(long? value) =>
        value is { } v ? Of(v) : new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = DBNull.Value };

    /// <summary>Unix milliseconds of <paramref name="value"/> as a <c>bigint</c> parameter, NULL when it is null.</summary>
    public static NpgsqlParameter Time(DateTimeOffset? value) => Bigint(value?.ToUnixTimeMilliseconds());

    /// <summary>A command of <paramref name="sql"/> with <paramref name="parameters"/> as $1, $2 … for a batch.</summary>
    public static NpgsqlBatchCommand Command(string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddRange(parameters);
        return command;
    }
}
