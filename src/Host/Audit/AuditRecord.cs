using System.Globalization;
using System.Text;
using System.Text.Json;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Audit;

/// <summary>One stored audit record: its fields as parsed, and the exact line it was read from (docs/audit.md, "Record format").</summary>
public sealed class AuditRecord
{
    private AuditRecord(byte[] line, long seq, DateTimeOffset time, string action, string outcome, AuditActor actor, string prev, string hmac)
    {
        Line = line;
        Seq = seq;
        Time = time;
        Action = action;
        Outcome = outcome;
        Actor = actor;
        Prev = prev;
        Hmac = hmac;
    }

    /// <summary>The stored line, without its newline: what the HMAC and the next record's <c>prev</c> cover.</summary>
    public byte[] Line { get; }

    /// <summary>Sequence number, 1-based, continuous across files.</summary>
    public long Seq { get; }

    /// <summary>When the record was written (UTC, millisecond precision).</summary>
    public DateTimeOffset Time { get; }

    /// <summary>The action name, e.g. <c>file.upload</c>.</summary>
    public string Action { get; }

    /// <summary><see cref="AuditOutcome"/>: success, denied or failure.</summary>
    public string Outcome { get; }

    /// <summary>Who.</summary>
    public AuditActor Actor { get; }

    /// <summary>The remote path concerned, if any.</summary>
    public string? Path { get; private init; }

    /// <summary>Bytes concerned, if any.</summary>
    public long? Size { get; private init; }

    /// <summary>The file's digest, if any.</summary>
    public string? Digest { get; private init; }

    /// <summary>The correlation id, if any.</summary>
    public string? CorrelationId { get; private init; }

    /// <summary>Short detail, if any.</summary>
    public string? Detail { get; private init; }

    /// <summary>Hex SHA-256 of the previous record's line (64 zeros for seq 1).</summary>
    public string Prev { get; }

    /// <summary>Hex HMAC-SHA256 of this line up to <c>prev</c>.</summary>
    public string Hmac { get; }

    /// <summary>The stored line as text.</summary>
    public override string ToString() => Encoding.UTF8.GetString(Line);

    /// <summary>
    /// Parses a stored line. Returns null with <paramref name="error"/> when it is not a JSON object with the required
    /// members of the right types (it does not check the HMAC or the chain: <see cref="AuditVerifier"/> does).
    /// </summary>
    public static AuditRecord? TryParse(byte[] line, out string? error)
    {
        ArgumentNullException.ThrowIfNull(line);
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = "not a JSON object";
                return null;
            }

            if (!TryGetSeq(root, out var seq)
                || !TryGetString(root, "time", out var timeText)
                || !TryGetString(root, "action", out var action)
                || !TryGetString(root, "outcome", out var outcome)
                || !TryGetString(root, "prev", out var prev)
                || !TryGetString(root, "hmac", out var hmac)
                || !root.TryGetProperty("actor", out var actor) || actor.ValueKind != JsonValueKind.Object)
            {
                error = "a required member (seq, time, action, outcome, actor, prev, hmac) is missing or of the wrong type";
                return null;
            }

            if (!DateTimeOffset.TryParseExact(timeText, UtcTimestamp.Format, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time))
            {
                error = $"time '{timeText}' is not RFC 3339 UTC with milliseconds";
                return null;
            }

            long? size = null;
            if (root.TryGetProperty("size", out var sizeElement))
            {
                if (!sizeElement.TryGetInt64(out var sizeValue))
                {
                    error = "size is not an integer";
                    return null;
                }

                size = sizeValue;
            }

            error = null;
            return new AuditRecord(
                line,
                seq,
                time,
                action,
                outcome,
                new AuditActor(Optional(actor, "user"), Optional(actor, "token"), Optional(actor, "peer"), Optional(actor, "address")),
                prev,
                hmac)
            {
                Path = Optional(root, "path"),
                Size = size,
                Digest = Optional(root, "digest"),
                CorrelationId = Optional(root, "correlationId"),
                Detail = Optional(root, "detail"),
            };
        }
        catch (JsonException e)
        {
            error = "not JSON: " + e.Message;
            return null;
        }
        catch (InvalidOperationException e)
        {
            error = "a member has the wrong type: " + e.Message;
            return null;
        }
    }

    private static bool TryGetSeq(JsonElement root, out long seq)
    {
        seq = 0;
        return root.TryGetProperty("seq", out var element) && element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out seq) && seq > 0;
    }

    private static bool TryGetString(JsonElement root, string name, out string value)
    {
        value = string.Empty;
        if (!root.TryGetProperty(name, out var element) || element.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        value = element.GetString()!;
        return true;
    }

    private static string? Optional(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) ? value.GetString() : null;
}
