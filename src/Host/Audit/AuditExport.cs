using System.Globalization;
using System.Text;

namespace TurboMft.Host.Audit;

/// <summary>
/// Audit records for a SIEM (docs/audit.md, "Export"): JSON lines exactly as stored (verifiable elsewhere with the key),
/// or RFC 5424 syslog lines with the record's fields as structured data.
/// </summary>
public static class AuditExport
{
    /// <summary>Syslog facility 13, "log audit".</summary>
    public const int Facility = 13;

    /// <summary>The structured-data id: a private SD-ID under the documentation enterprise number 32473 (RFC 5612).</summary>
    public const string StructuredDataId = "turbomft@32473";

    /// <summary>The APP-NAME of every line.</summary>
    public const string AppName = "turbomft";

    private const int SeverityWarning = 4;
    private const int SeverityInfo = 6;

    /// <summary>The stored line, unchanged (without the newline).</summary>
    public static string ToJsonLine(AuditRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return Encoding.UTF8.GetString(record.Line);
    }

    /// <summary>
    /// One RFC 5424 line: <c>&lt;PRI&gt;1 TIMESTAMP HOSTNAME turbomft - MSGID [turbomft@32473 seq="…" …] action outcome path</c>.
    /// Facility 13; severity info (6) for success, warning (4) for denied and failure; MSGID is the action.
    /// </summary>
    public static string ToSyslog(AuditRecord record, string hostName)
    {
        ArgumentNullException.ThrowIfNull(record);
        var severity = record.Outcome == AuditOutcome.Success ? SeverityInfo : SeverityWarning;
        var line = new StringBuilder(512);
        line.Append(CultureInfo.InvariantCulture, $"<{(Facility * 8) + severity}>1 {AuditChain.FormatTime(record.Time)} {HeaderField(hostName, 255)} {AppName} - {HeaderField(record.Action, 32)} [{StructuredDataId}");
        Param(line, "seq", record.Seq.ToString(CultureInfo.InvariantCulture));
        Param(line, "action", record.Action);
        Param(line, "outcome", record.Outcome);
        Param(line, "user", record.Actor.User);
        Param(line, "token", record.Actor.TokenId);
        Param(line, "peer", record.Actor.Peer);
        Param(line, "address", record.Actor.Address);
        Param(line, "path", record.Path);
        Param(line, "size", record.Size?.ToString(CultureInfo.InvariantCulture));
        Param(line, "digest", record.Digest);
        Param(line, "correlationId", record.CorrelationId);
        Param(line, "detail", record.Detail);
        Param(line, "prev", record.Prev);
        Param(line, "hmac", record.Hmac);
        line.Append("] ").Append(WithoutControls(record.Action)).Append(' ').Append(WithoutControls(record.Outcome));
        if (record.Path is not null)
        {
            line.Append(' ').Append(WithoutControls(record.Path));
        }

        return line.ToString();
    }

    /// <summary>This machine's name as a syslog HOSTNAME.</summary>
    public static string HostName() => HeaderField(Environment.MachineName, 255);

    /// <summary>A header field: printable US-ASCII only (others become <c>_</c>), at most <paramref name="max"/> characters, <c>-</c> when empty.</summary>
    private static string HeaderField(string? value, int max)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "-";
        }

        var text = new StringBuilder(Math.Min(value.Length, max));
        foreach (var c in value)
        {
            if (text.Length == max)
            {
                break;
            }

            text.Append(c is >= '!' and <= '~' ? c : '_');
        }

        return text.ToString();
    }

    /// <summary>An SD-PARAM with <c>"</c>, <c>\</c> and <c>]</c> escaped (RFC 5424 6.3.3); control characters become <c>?</c> so a record stays one line.</summary>
    private static void Param(StringBuilder line, string name, string? value)
    {
        if (value is null)
        {
            return;
        }

        line.Append(' ').Append(name).Append("=\"");
        foreach (var c in value)
        {
            if (c is '"' or '\\' or ']')
            {
                line.Append('\\');
            }

            line.Append(char.IsControl(c) ? '?' : c);
        }

        line.Append('"');
    }

    private static string WithoutControls(string value) =>
        value.Any(char.IsControl) ? string.Concat(value.Select(c => char.IsControl(c) ? '?' : c)) : value;
}
