using System.Globalization;
using System.Text;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Notifications;

/// <summary>
/// Builds one RFC 5424 syslog line: <c>&lt;PRI&gt;1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD-ELEMENT…] MSG</c>. Shared by the
/// audit export (docs/audit.md, "Export") and incident notifications (docs/content-security.md, "Incident notifications").
/// Header fields are printable US-ASCII; SD-PARAM values escape <c>"</c>, <c>\</c> and <c>]</c> (RFC 5424 6.3.3) and turn
/// control characters into <c>?</c>, so a line never spans two.
/// </summary>
internal sealed class SyslogLine
{
    /// <summary>The APP-NAME of every line TurboMft sends.</summary>
    public const string AppName = "turbomft";

    private readonly StringBuilder _line = new(512);
    private bool _inElement;
    private bool _hasElement;

    /// <summary>Starts a line with its header.</summary>
    public SyslogLine(int facility, int severity, DateTimeOffset time, string? hostName, string appName, string? procId, string? msgId)
    {
        _line.Append(CultureInfo.InvariantCulture, $"<{(facility * 8) + severity}>1 {UtcTimestamp.Text(time)} {HeaderField(hostName, 255)} {HeaderField(appName, 48)} {HeaderField(procId, 128)} {HeaderField(msgId, 32)} ");
    }

    /// <summary>Opens an SD-ELEMENT (closing the previous one).</summary>
    public SyslogLine Element(string id)
    {
        CloseElement();
        _line.Append('[').Append(ParamName(id));
        _inElement = true;
        _hasElement = true;
        return this;
    }

    /// <summary>Adds an SD-PARAM to the open element; a null value is left out.</summary>
    public SyslogLine Param(string name, string? value)
    {
        if (value is null)
        {
            return this;
        }

        _line.Append(' ').Append(ParamName(name)).Append("=\"");
        foreach (var c in value)
        {
            if (c is '"' or '\\' or ']')
            {
                _line.Append('\\');
            }

            _line.Append(char.IsControl(c) ? '?' : c);
        }

        _line.Append('"');
        return this;
    }

    /// <summary>Closes the structured data and appends MSG (without a BOM; control characters become <c>?</c>).</summary>
    public string Message(string? message)
    {
        CloseElement();
        if (!_hasElement)
        {
            _line.Append('-');
        }

        if (!string.IsNullOrEmpty(message))
        {
            _line.Append(' ').Append(WithoutControls(message));
        }

        return _line.ToString();
    }

    /// <summary>A header field: printable US-ASCII only (others become <c>_</c>), at most <paramref name="max"/> characters, <c>-</c> when empty.</summary>
    public static string HeaderField(string? value, int max)
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

    /// <summary>An SD-ID or PARAM-NAME: printable US-ASCII except <c>=</c>, space, <c>]</c> and <c>"</c> (others become <c>_</c>), at most 32 characters.</summary>
    public static string ParamName(string name)
    {
        var field = HeaderField(name, 32);
        return field.IndexOfAny(['=', ']', '"']) < 0 ? field : string.Concat(field.Select(c => c is '=' or ']' or '"' ? '_' : c));
    }

    /// <summary>The text with control characters turned into <c>?</c>.</summary>
    public static string WithoutControls(string value) =>
        value.Any(char.IsControl) ? string.Concat(value.Select(c => char.IsControl(c) ? '?' : c)) : value;

    private void CloseElement()
    {
        if (_inElement)
        {
            _line.Append(']');
            _inElement = false;
        }
    }
}
