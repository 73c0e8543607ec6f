using System.Globalization;

namespace TurboMft.Host.Infrastructure;

/// <summary>The one timestamp text of the product's records and messages: RFC 3339 UTC with milliseconds (docs/audit.md).</summary>
public static class UtcTimestamp
{
    /// <summary>The format, e.g. <c>2026-11-26T12:00:00.123Z</c>.</summary>
    public const string Format = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    /// <summary><paramref name="time"/> in <see cref="Format"/>.</summary>
    public static string Text(DateTimeOffset time) => time.UtcDateTime.ToString(Format, CultureInfo.InvariantCulture);
}
