using System.CommandLine.Parsing;
using System.Globalization;
using TurboMft.Engine.Chunks;

namespace TurboMft.Load.Cli;

/// <summary>Parsers for option values: durations (<c>30s</c>, <c>2m</c>, <c>500ms</c>), sizes, client-count lists, KEY=VALUE pairs.</summary>
internal static class OptionParsers
{
    public static TimeSpan Duration(ArgumentResult result)
    {
        var text = Token(result);
        if (TryDuration(text, out var duration) && duration > TimeSpan.Zero)
        {
            return duration;
        }

        result.AddError($"'{text}' is not a duration; write e.g. 30s, 2m, 500ms or 30 (seconds).");
        return TimeSpan.Zero;
    }

    public static Uri? ServerUrl(ArgumentResult result)
    {
        var text = Token(result);
        if (Uri.TryCreate(text, UriKind.Absolute, out var url) && url.Scheme == Uri.UriSchemeHttps && url.AbsolutePath == "/")
        {
            return url;
        }

        result.AddError($"'{text}' is not a server address; write https://host:port.");
        return null;
    }

    public static int Size(ArgumentResult result)
    {
        var text = Token(result);
        if (ByteSize.TryParse(text, out var bytes) && bytes is > 0 and <= 1 << 30)
        {
            return (int)bytes;
        }

        result.AddError($"'{text}' is not a size from 1 B to 1 GiB; write e.g. 1MiB, 64KiB or 1048576.");
        return 0;
    }

    public static int ChunkSize(ArgumentResult result)
    {
        var text = Token(result);
        if (ByteSize.TryParse(text, out var bytes) && ChunkGeometry.IsValid(bytes))
        {
            return (int)bytes;
        }

        result.AddError($"Chunk size '{text}' is not allowed: use a power of two from 1MiB to 64MiB (for example 4MiB).");
        return 0;
    }

    public static int[] ClientCounts(ArgumentResult result)
    {
        var text = string.Join(',', result.Tokens.Select(t => t.Value));
        var counts = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n is < 1 or > 10_000)
            {
                result.AddError($"'{part}' in --clients is not a client count from 1 to 10000; write e.g. 1,8,64,256.");
                return [];
            }

            counts.Add(n);
        }

        if (counts.Count == 0)
        {
            result.AddError("--clients needs at least one count, e.g. 1,8,64,256.");
        }

        return [.. counts];
    }

    public static Dictionary<string, string> Settings(ArgumentResult result)
    {
        var settings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var token in result.Tokens)
        {
            var equals = token.Value.IndexOf('=');
            if (equals <= 0)
            {
                result.AddError($"'{token.Value}' is not KEY=VALUE; write e.g. Content:InlineScanWaitSeconds=0.");
                return settings;
            }

            settings[token.Value[..equals].Trim()] = token.Value[(equals + 1)..].Trim();
        }

        return settings;
    }

    private static string Token(ArgumentResult result) => result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;

    private static bool TryDuration(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        var (number, scale) = text.EndsWith("ms", StringComparison.OrdinalIgnoreCase) ? (text[..^2], 0.001)
            : text.EndsWith('s') ? (text[..^1], 1.0)
            : text.EndsWith('m') ? (text[..^1], 60.0)
            : text.EndsWith('h') ? (text[..^1], 3600.0)
            : (text, 1.0);
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value))
        {
            return false;
        }

        duration = TimeSpan.FromSeconds(value * scale);
        return true;
    }
}
