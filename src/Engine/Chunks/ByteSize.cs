using System.Globalization;

namespace TurboMft.Engine.Chunks;

/// <summary>Parses and formats byte sizes such as <c>4MiB</c>, <c>64k</c> or <c>1048576</c> (binary units).</summary>
public static class ByteSize
{
    /// <summary>Parses a size; suffixes K/KiB, M/MiB, G/GiB, T/TiB are powers of 1024, case-insensitive.</summary>
    public static bool TryParse(string? text, out long bytes)
    {
        bytes = 0;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var span = text.AsSpan().Trim();
        var split = span.Length;
        while (split > 0 && char.IsLetter(span[split - 1]))
        {
            split--;
        }

        var shift = span[split..].ToString().ToUpperInvariant() switch
        {
            "" or "B" => 0,
            "K" or "KB" or "KIB" => 10,
            "M" or "MB" or "MIB" => 20,
            "G" or "GB" or "GIB" => 30,
            "T" or "TB" or "TIB" => 40,
            _ => -1,
        };
        if (shift < 0 || !long.TryParse(span[..split], NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        if (number > (long.MaxValue >> shift))
        {
            return false;
        }

        bytes = number << shift;
        return true;
    }

    /// <summary>Parses a size or throws a <see cref="FormatException"/> that quotes the input.</summary>
    public static long Parse(string text) =>
        TryParse(text, out var bytes) ? bytes : throw new FormatException($"'{text}' is not a size; write e.g. 4MiB, 512KiB or 1048576.");

    /// <summary>Formats a byte count with the largest binary unit that keeps it readable, e.g. <c>1.5 GiB</c>.</summary>
    public static string Format(double bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        var unit = 0;
        while (Math.Abs(bytes) >= 1024 && unit < units.Length - 1)
        {
            bytes /= 1024;
            unit++;
        }

        return unit == 0 ? $"{bytes:0} B" : string.Create(CultureInfo.InvariantCulture, $"{bytes:0.##} {units[unit]}");
    }
}
