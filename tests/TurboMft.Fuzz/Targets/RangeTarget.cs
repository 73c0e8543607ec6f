using System.Globalization;
using System.Text;
using TurboMft.Host.Delivery;

namespace TurboMft.Fuzz.Targets;

/// <summary>
/// The <c>Range</c> header of a download (src/Host/Delivery/FileDelivery.cs, <c>TryParseRange</c>). Input: the file size in
/// decimal, a newline, then the header value. Expected: false. Accepted ranges must lie inside the file.
/// </summary>
public sealed class RangeTarget : FuzzTarget
{
    /// <inheritdoc />
    public override string Name => "range";

    /// <inheritdoc />
    public override string Description => "Range header (bytes=a-b, bytes=a-, bytes=-n) against a file size";

    /// <summary>The input for a file of <paramref name="size"/> bytes and a header.</summary>
    public static byte[] Frame(long size, string header) => Encoding.UTF8.GetBytes(size.ToString(CultureInfo.InvariantCulture) + "\n" + header);

    /// <inheritdoc />
    public override FuzzOutcome Run(ReadOnlySpan<byte> input)
    {
        var text = Encoding.UTF8.GetString(input);
        var newline = text.IndexOf('\n', StringComparison.Ordinal);
        if (newline < 0 || !long.TryParse(text.AsSpan(0, newline), NumberStyles.None, CultureInfo.InvariantCulture, out var size))
        {
            return FuzzOutcome.Refuse("no file size line");
        }

        var header = text[(newline + 1)..];
        if (!FileDelivery.TryParseRange(header, size, out var start, out var end))
        {
            return FuzzOutcome.Refuse("not a satisfiable single range");
        }

        FuzzInvariantException.Check(start >= 0 && start <= end && end < size, $"range {start}-{end} is outside a file of {size} bytes");
        return FuzzOutcome.Accept;
    }
}
