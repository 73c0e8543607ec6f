using System.IO.Pipelines;
using TurboMft.Host.Http;

namespace TurboMft.Fuzz.Targets;

/// <summary>
/// Batch upload framing (<c>POST /v1/batch</c>, docs/protocol.md "Batch upload"): the whole body through
/// <see cref="BatchBodyReader"/> as the endpoint reads it, every path admitted. Expected: <see cref="BatchFramingException"/>.
/// </summary>
public sealed class BatchTarget : FuzzTarget
{
    /// <summary>Most entries per batch here (the server's setting BatchMaxFiles).</summary>
    public const int MaxFiles = 1000;

    /// <summary>Largest entry here (one chunk of the smallest size).</summary>
    public const int MaxEntrySize = 1 << 20;

    /// <inheritdoc />
    public override string Name => "batch";

    /// <inheritdoc />
    public override string Description => "POST /v1/batch body: preamble, entry headers, paths, contents, end marker";

    /// <summary>Reads a whole batch body; the entries' paths and contents in order, or the framing error.</summary>
    public static IReadOnlyList<(string Path, byte[] Content)> ReadAll(ReadOnlySpan<byte> body)
    {
        var pipe = PipeReader.Create(new MemoryStream(body.ToArray()), new StreamPipeReaderOptions(bufferSize: 4096));
        var reader = new BatchBodyReader(pipe, MaxFiles, MaxEntrySize);
        var buffer = new byte[MaxEntrySize];
        var entries = new List<(string, byte[])>();
        while (reader.ReadHeaderAsync().AsTask().GetAwaiter().GetResult() is { } entry)
        {
            reader.Admit(entry);
            _ = reader.ReadContentAsync(entry, buffer).AsTask().GetAwaiter().GetResult();
            entries.Add((entry.Path.Value, buffer.AsSpan(0, (int)entry.Size).ToArray()));
        }

        return entries;
    }

    /// <inheritdoc />
    public override FuzzOutcome Run(ReadOnlySpan<byte> input)
    {
        try
        {
            var entries = ReadAll(input);
            FuzzInvariantException.Check(entries.Count <= MaxFiles, "more entries than a batch may hold");
            FuzzInvariantException.Check(entries.Select(e => e.Path).Distinct(StringComparer.Ordinal).Count() == entries.Count, "a path twice in one batch");
            return FuzzOutcome.Accept;
        }
        catch (BatchFramingException e)
        {
            return FuzzOutcome.Refuse(e.Message);
        }
    }
}
