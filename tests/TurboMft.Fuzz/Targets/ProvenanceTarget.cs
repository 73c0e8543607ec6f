using System.Text;
using TurboMft.Engine.Protocol;
using TurboMft.Engine.Storage;

namespace TurboMft.Fuzz.Targets;

/// <summary>
/// Replication's provenance headers (docs/protocol.md "Provenance headers", <see cref="Provenance.TryRead"/> as
/// src/Host/Server/ProvenanceHeaders.cs calls it). Input: header lines <c>Name: value</c>. Expected: false with a reason.
/// What is read must write out as headers that read back to the same provenance.
/// </summary>
public sealed class ProvenanceTarget : FuzzTarget
{
    /// <inheritdoc />
    public override string Name => "provenance";

    /// <inheritdoc />
    public override string Description => "replication provenance headers (TMF-Origin-*, TMF-Correlation-Id)";

    /// <summary>The input carrying <paramref name="headers"/>, one <c>Name: value</c> line each.</summary>
    public static byte[] Frame(IEnumerable<KeyValuePair<string, string>> headers) =>
        Encoding.UTF8.GetBytes(string.Concat(headers.Select(h => $"{h.Key}: {h.Value}\n")));

    /// <summary>Reads provenance from header lines as the server does (a header given twice reads as empty).</summary>
    public static bool TryRead(IReadOnlyList<KeyValuePair<string, string>> headers, out Provenance? provenance, out string? error)
    {
        string? Get(string name)
        {
            var values = headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).ToList();
            return values.Count switch { 0 => null, 1 => values[0], _ => string.Empty };
        }

        return Provenance.TryRead(Get, text => RemotePath.TryParse(text, out var path, out _) ? path.Value : null, out provenance, out error);
    }

    /// <summary>The header lines of <paramref name="input"/>; lines without a colon are dropped, as an HTTP parser would refuse them.</summary>
    public static List<KeyValuePair<string, string>> Lines(ReadOnlySpan<byte> input) =>
        [.. Encoding.UTF8.GetString(input).Split('\n')
            .Select(line => line.TrimEnd('\r'))
            .Where(line => line.IndexOf(':', StringComparison.Ordinal) > 0)
            .Select(line => new KeyValuePair<string, string>(line[..line.IndexOf(':', StringComparison.Ordinal)].Trim(), line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim()))];

    /// <inheritdoc />
    public override FuzzOutcome Run(ReadOnlySpan<byte> input)
    {
        if (!TryRead(Lines(input), out var provenance, out var error))
        {
            return FuzzOutcome.Refuse(error ?? "no reason");
        }

        if (provenance is not null)
        {
            FuzzInvariantException.Check(TryRead([.. provenance.ToHeaders()], out var again, out _) && again == provenance, "provenance does not round-trip through its headers");
        }

        return FuzzOutcome.Accept;
    }
}
