using System.Text.Json;
using System.Text.Json.Serialization;

namespace TurboMft.Host.Cli;

/// <summary>The one JSON style of every <c>--json</c> summary: camelCase, nulls omitted, one line.</summary>
internal static class CliJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = false,
    };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);
}
