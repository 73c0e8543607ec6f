using System.Globalization;
using System.Text;
using TurboMft.Host.Notifications;

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
        var message = record.Action + " " + record.Outcome + (record.Path is null ? string.Empty : " " + record.Path);
        return new SyslogLine(Facility, severity, record.Time, hostName, SyslogLine.AppName, null, record.Action)
            .Element(StructuredDataId)
            .Param("seq", record.Seq.ToString(CultureInfo.InvariantCulture))
            .Param("action", record.Action)
            .Param("outcome", record.Outcome)
            .Param("user", record.Actor.User)
            .Param("token", record.Actor.TokenId)
            .Param("peer", record.Actor.Peer)
            .Param("address", record.Actor.Address)
            .Param("path", record.Path)
            .Param("size", record.Size?.ToString(CultureInfo.InvariantCulture))
            .Param("digest", record.Digest)
            .Param("correlationId", record.CorrelationId)
            .Param("detail", record.Detail)
            .Param("prev", record.Prev)
            .Param("hmac", record.Hmac)
            .Message(message);
    }

    /// <summary>This machine's name as a syslog HOSTNAME.</summary>
    public static string HostName() => SyslogLine.HeaderField(Environment.MachineName, 255);
}
