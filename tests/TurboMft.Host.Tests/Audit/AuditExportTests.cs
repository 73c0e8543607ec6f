using System.Text;
using System.Text.RegularExpressions;
using TurboMft.Host.Audit;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Tests.Audit;

public partial class AuditExportTests
{
    [Fact]
    public void A_syslog_line_follows_rfc_5424_with_every_field_as_structured_data()
    {
        using var key = AuditKey.Generate();
        var record = Record(key, new AuditEvent
        {
            Action = "file.upload",
            Actor = new AuditActor("alice", "tok_1", null, "192.0.2.7"),
            Outcome = AuditOutcome.Success,
            Path = "/ot/plant1/export.csv",
            Size = 1048576,
            Digest = "sha256-tree:00ff",
            CorrelationId = "0HN1:00000001",
        });

        var line = AuditExport.ToSyslog(record, "mft01.example");
        var match = Rfc5424().Match(line);
        Assert.True(match.Success, line);
        Assert.Equal("110", match.Groups["pri"].Value); // facility 13 * 8 + info 6
        Assert.Equal("2026-11-26T12:00:00.123Z", match.Groups["time"].Value);
        Assert.Equal("mft01.example", match.Groups["host"].Value);
        Assert.Equal("turbomft", match.Groups["app"].Value);
        Assert.Equal("-", match.Groups["proc"].Value);
        Assert.Equal("file.upload", match.Groups["msgid"].Value);
        Assert.Equal(" file.upload success /ot/plant1/export.csv", match.Groups["msg"].Value);
        Assert.Equal(
            $"[turbomft@32473 seq=\"1\" action=\"file.upload\" outcome=\"success\" user=\"alice\" token=\"tok_1\" address=\"192.0.2.7\" path=\"/ot/plant1/export.csv\" "
            + $"size=\"1048576\" digest=\"sha256-tree:00ff\" correlationId=\"0HN1:00000001\" prev=\"{AuditChain.GenesisPrev}\" hmac=\"{record.Hmac}\"]",
            match.Groups["sd"].Value);
    }

    [Fact]
    public void Syslog_escapes_quote_backslash_and_bracket_and_keeps_one_line()
    {
        using var key = AuditKey.Generate();
        var record = Record(key, new AuditEvent
        {
            Action = "access.denied",
            Actor = new AuditActor("ev\"il]\\", null, "peer with space", null),
            Outcome = AuditOutcome.Denied,
            Path = "/a]b/c\"d",
            Detail = "line1\nline2",
        });

        var line = AuditExport.ToSyslog(record, "host name\u00e9");
        Assert.DoesNotContain('\n', line);
        var match = Rfc5424().Match(line);
        Assert.True(match.Success, line);
        Assert.Equal("108", match.Groups["pri"].Value); // warning for denied
        Assert.Equal("host_name_", match.Groups["host"].Value);
        Assert.Contains("user=\"ev\\\"il\\]\\\\\"", line, StringComparison.Ordinal);
        Assert.Contains("peer=\"peer with space\"", line, StringComparison.Ordinal);
        Assert.Contains("path=\"/a\\]b/c\\\"d\"", line, StringComparison.Ordinal);
        Assert.Contains("detail=\"line1?line2\"", line, StringComparison.Ordinal);
        Assert.EndsWith("] access.denied denied /a]b/c\"d", line, StringComparison.Ordinal);
    }

    [Fact]
    public void A_long_or_unprintable_action_is_cut_to_a_valid_msgid()
    {
        using var key = AuditKey.Generate();
        var record = Record(key, new AuditEvent { Action = "x.very-long-action-name-beyond-thirty-two", Actor = AuditActor.System, Outcome = AuditOutcome.Failure });
        var match = Rfc5424().Match(AuditExport.ToSyslog(record, "h"));
        Assert.True(match.Success);
        Assert.Equal("x.very-long-action-name-beyond-t", match.Groups["msgid"].Value);
    }

    [Fact]
    public void Json_lines_are_the_stored_bytes()
    {
        using var key = AuditKey.Generate();
        var record = Record(key, new AuditEvent { Action = "server.start", Actor = AuditActor.System, Outcome = AuditOutcome.Success });
        Assert.Equal(record.Line, Encoding.UTF8.GetBytes(AuditExport.ToJsonLine(record)));
    }

    private static AuditRecord Record(AuditKey key, AuditEvent auditEvent) =>
        AuditRecord.TryParse(AuditChain.Encode(1, new DateTimeOffset(2026, 11, 26, 12, 0, 0, 123, TimeSpan.Zero), auditEvent, AuditChain.GenesisPrev, key), out _)!;

    /// <summary>RFC 5424 section 6: HEADER SP STRUCTURED-DATA [SP MSG], with one SD-ELEMENT whose values escape '"', '\' and ']'.</summary>
    [GeneratedRegex(
        """^<(?<pri>\d{1,3})>1 (?<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)) (?<host>[!-~]{1,255}) (?<app>[!-~]{1,48}) (?<proc>[!-~]{1,128}) (?<msgid>[!-~]{1,32}) (?<sd>\[[^ =\]"]{1,32}( [^ =\]"]{1,32}="([^"\\\]]|\\["\\\]])*")*\])(?<msg> .*)?$""")]
    private static partial Regex Rfc5424();
}
