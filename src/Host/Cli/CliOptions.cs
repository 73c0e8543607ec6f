using System.CommandLine;
using System.CommandLine.Parsing;
using TurboMft.Engine.Chunks;

namespace TurboMft.Host.Cli;

/// <summary>Options shared by several commands.</summary>
internal static class CliOptions
{
    public static Option<bool> Json() => new("--json") { Description = "Print one JSON summary instead of text." };

    public static Option<int> ChunkSize() => new("--chunk-size")
    {
        Description = "Chunk size: a power of two from 1MiB to 64MiB (e.g. 4MiB).",
        DefaultValueFactory = _ => ChunkGeometry.DefaultChunkSize,
        CustomParser = ParseChunkSize,
        HelpName = "SIZE",
    };

    public static Option<int> Workers() => new("--workers")
    {
        Description = "Worker threads (default: one per core).",
        DefaultValueFactory = _ => Environment.ProcessorCount,
        Validators = { r => Positive(r) },
    };

    private static int ParseChunkSize(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (!ByteSize.TryParse(text, out var bytes))
        {
            result.AddError($"'{text}' is not a size; write e.g. 4MiB, 8MiB or 4194304.");
            return 0;
        }

        if (!ChunkGeometry.IsValid(bytes))
        {
            result.AddError($"Chunk size {text} is not allowed: use a power of two from 1MiB to 64MiB (for example 4MiB).");
            return 0;
        }

        return (int)bytes;
    }

    private static void Positive(OptionResult result)
    {
        if (result.Tokens.Count > 0 && (!int.TryParse(result.Tokens[0].Value, out var n) || n < 1 || n > 1024))
        {
            result.AddError($"--workers must be a whole number from 1 to 1024, not '{result.Tokens[0].Value}'.");
        }
    }
}
