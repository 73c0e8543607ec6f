using System.Text.Json;

namespace TurboMft.Engine.Protocol;

/// <summary>
/// How the client writes and reads the JSON bodies of docs/protocol.md: System.Text.Json's Web defaults (camelCase names,
/// case-insensitive reading, nulls written, strict escaping). The server's <c>Results.Json</c> uses ASP.NET Core's
/// defaults, which differ only in escaping fewer characters (<c>+</c>, <c>&amp;</c>, non-ASCII); each reads the other.
/// </summary>
public static class ProtocolJson
{
    /// <summary>The settings; read-only.</summary>
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
