using System.Collections.ObjectModel;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace TurboMft.Engine.Storage;

/// <summary>
/// A validated path in TurboMft's remote namespace, in canonical form: "/" followed by segments joined by "/", no trailing
/// slash. Every path a client sends or the server stores passes through this type; see docs/protocol.md, "Paths".
/// </summary>
/// <remarks>
/// <para>
/// A remote path is a name, not a local file name: "/etc/passwd" is a valid remote path and never touches the server's
/// /etc. The store keeps file contents under generated object keys (<see cref="IObjectStore"/>) and never maps a
/// remote path to a local file name. The rules still reject anything that would be dangerous if some tool did so
/// (traversal, separators, device names, control characters), so a path is safe to show, log and export.
/// </para>
/// <para>
/// Callers decode transport escapes exactly once before parsing (URL path, query or form decoding): any remaining
/// "%XX" escape is rejected, so a double-encoded "..%2f" or "%2e%2e" cannot become a traversal after a second decode.
/// A trailing "/" is accepted and dropped; a caller that needs the "folder" intent checks <c>text.EndsWith('/')</c> itself.
/// </para>
/// <para>
/// The text is normalised to Unicode NFC, so "café" typed on macOS (NFD) and on Windows (NFC) name the same file. That
/// needs ICU: under <c>InvariantGlobalization</c> .NET does not normalise, and <see cref="NormalizesUnicode"/> is false.
/// </para>
/// </remarks>
public sealed class RemotePath : IEquatable<RemotePath>
{
    /// <summary>Longest segment, in UTF-8 bytes (the common file-system name limit).</summary>
    public const int MaxSegmentBytes = 255;

    /// <summary>Longest canonical path, in UTF-8 bytes, including the separators.</summary>
    public const int MaxPathBytes = 4096;

    // NFC composes at most four UTF-16 units into one character of three UTF-8 bytes, so a longer text cannot fit
    // MaxPathBytes after normalising; rejecting it first bounds the work an oversized request can cause.
    private const int MaxInputChars = MaxPathBytes * 4;
    private const int MaxQuotedChars = 120;
    private const string ForbiddenCharacters = ":*?\"<>|";

    private readonly string[] _segments;
    private readonly ReadOnlyCollection<string> _readOnlySegments;

    private RemotePath(string value, string[] segments)
    {
        Value = value;
        _segments = segments;
        _readOnlySegments = Array.AsReadOnly(segments);
    }

    /// <summary>The root "/": valid only as a listing prefix (<c>TryParse(..., allowRoot: true)</c>), never as a file path.</summary>
    public static RemotePath Root { get; } = new("/", []);

    /// <summary>
    /// True when this runtime normalises Unicode to NFC. False under <c>InvariantGlobalization</c>, where equivalent
    /// spellings of a non-ASCII name ("e" + U+0301 and "é") stay distinct paths.
    /// </summary>
    public static bool NormalizesUnicode { get; } = "e\u0301".Normalize(NormalizationForm.FormC) == "\u00e9";

    /// <summary>The canonical text: "/" followed by the segments joined by "/"; "/" for <see cref="Root"/>.</summary>
    public string Value { get; }

    /// <summary>The segments, first to last; empty for <see cref="Root"/>.</summary>
    public IReadOnlyList<string> Segments => _readOnlySegments;

    /// <summary>The last segment (the file or folder name); empty for <see cref="Root"/>.</summary>
    public string Name => _segments.Length == 0 ? string.Empty : _segments[^1];

    /// <summary>True for <see cref="Root"/>.</summary>
    public bool IsRoot => _segments.Length == 0;

    /// <summary>The path without its last segment: <see cref="Root"/> for a one-segment path, null for <see cref="Root"/>.</summary>
    public RemotePath? Parent
    {
        get
        {
            return _segments.Length switch
            {
                0 => null,
                1 => Root,
                _ => new RemotePath(Value[..Value.LastIndexOf('/')], _segments[..^1]),
            };
        }
    }

    /// <summary>Parses <paramref name="text"/> into a canonical file path (not the root).</summary>
    /// <exception cref="InvalidRemotePathException">The text breaks a rule; the message says which and in which segment.</exception>
    public static RemotePath Parse(string text) => Parse(text, allowRoot: false);

    /// <summary>Parses <paramref name="text"/>; "/" gives <see cref="Root"/> when <paramref name="allowRoot"/> is true (listing prefixes).</summary>
    /// <exception cref="InvalidRemotePathException">The text breaks a rule; the message says which and in which segment.</exception>
    public static RemotePath Parse(string text, bool allowRoot)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryValidate(text, allowRoot, relative: false, out var path, out var failure) ? path : throw failure.ToException();
    }

    /// <summary>
    /// Parses <paramref name="text"/> without throwing. On failure <paramref name="path"/> is null and
    /// <paramref name="error"/> says what is wrong and in which segment.
    /// </summary>
    public static bool TryParse(
        string? text,
        [NotNullWhen(true)] out RemotePath? path,
        [NotNullWhen(false)] out string? error,
        bool allowRoot = false)
    {
        if (TryValidate(text, allowRoot, relative: false, out path, out var failure))
        {
            error = null;
            return true;
        }

        error = failure.Message;
        return false;
    }

    /// <summary>
    /// This path followed by <paramref name="relative"/>, which is parsed by the same rules (so it cannot climb out with
    /// "..") and must not start with "/".
    /// </summary>
    /// <exception cref="InvalidRemotePathException">The relative text breaks a rule, or the result is too long.</exception>
    public RemotePath Combine(string relative)
    {
        ArgumentNullException.ThrowIfNull(relative);
        if (!TryValidate(relative, allowRoot: false, relative: true, out var tail, out var failure))
        {
            throw failure.ToException();
        }

        if (IsRoot)
        {
            return tail;
        }

        var value = Value + tail.Value;
        var bytes = Encoding.UTF8.GetByteCount(value);
        if (bytes > MaxPathBytes)
        {
            throw new Failure(RemotePathError.PathTooLong, value, null, null, $"is {bytes} bytes in UTF-8; the limit is {MaxPathBytes}").ToException();
        }

        return new RemotePath(value, [.. _segments, .. tail._segments]);
    }

    /// <summary>
    /// True when this path is <paramref name="prefix"/> or lies below it, compared segment by segment: "/a/b/c" is under
    /// "/a/b", "/a/bc" is not; every path is under <see cref="Root"/>.
    /// </summary>
    public bool IsUnder(RemotePath prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (prefix.IsRoot)
        {
            return true;
        }

        return Value.Length == prefix.Value.Length
            ? string.Equals(Value, prefix.Value, StringComparison.Ordinal)
            : Value.Length > prefix.Value.Length
                && Value[prefix.Value.Length] == '/'
                && Value.StartsWith(prefix.Value, StringComparison.Ordinal);
    }

    /// <summary>The canonical text, <see cref="Value"/>.</summary>
    public override string ToString() => Value;

    /// <summary>Ordinal comparison of the canonical texts.</summary>
    public bool Equals(RemotePath? other) => other is not null && string.Equals(Value, other.Value, StringComparison.Ordinal);

    /// <summary>Ordinal comparison of the canonical texts.</summary>
    public override bool Equals(object? obj) => Equals(obj as RemotePath);

    /// <summary>Ordinal hash of the canonical text.</summary>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Value);

    /// <summary>Ordinal comparison of the canonical texts.</summary>
    public static bool operator ==(RemotePath? left, RemotePath? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Ordinal comparison of the canonical texts.</summary>
    public static bool operator !=(RemotePath? left, RemotePath? right) => !(left == right);

    private static bool TryValidate(string? text, bool allowRoot, bool relative, [NotNullWhen(true)] out RemotePath? path, out Failure failure)
    {
        path = null;
        failure = default;
        if (string.IsNullOrEmpty(text))
        {
            failure = new Failure(RemotePathError.Empty, text ?? string.Empty, null, null, "is empty");
            return false;
        }

        if (text.Length > MaxInputChars)
        {
            failure = new Failure(RemotePathError.PathTooLong, text, null, null, $"is {text.Length} characters long; the limit is {MaxPathBytes} UTF-8 bytes");
            return false;
        }

        if (relative && text[0] == '/')
        {
            failure = new Failure(RemotePathError.NotRelative, text, null, null, "starts with \"/\"; combine takes a relative path");
            return false;
        }

        if (text == "/")
        {
            if (allowRoot)
            {
                path = Root;
                return true;
            }

            failure = new Failure(RemotePathError.RootNotAllowed, text, null, null, "is the root \"/\"; a file path needs at least one segment");
            return false;
        }

        // Unpaired surrogates first: normalisation throws on them, and they have no UTF-8 form to measure. It throws on the
        // noncharacters U+FFFE and U+FFFF too, which are no part of a name.
        if (FindUnpairedSurrogate(text) is { } surrogateAt)
        {
            var (number, segment) = SegmentAt(text, surrogateAt);
            failure = new Failure(RemotePathError.InvalidUtf16, text, number, segment,
                $"contains the unpaired surrogate U+{(int)text[surrogateAt]:X4} (invalid UTF-16)");
            return false;
        }

        if (text.AsSpan().IndexOfAny('\uFFFE', '\uFFFF') is var nonCharacterAt and >= 0)
        {
            var (number, segment) = SegmentAt(text, nonCharacterAt);
            failure = new Failure(RemotePathError.InvalidUtf16, text, number, segment,
                $"contains the noncharacter U+{(int)text[nonCharacterAt]:X4} (not a character of any name)");
            return false;
        }

        var normalized = text.Normalize(NormalizationForm.FormC);
        var body = normalized.AsSpan();
        if (body[0] == '/')
        {
            body = body[1..];
        }

        if (body.Length > 0 && body[^1] == '/')
        {
            body = body[..^1];
        }

        var segments = body.ToString().Split('/');
        for (var i = 0; i < segments.Length; i++)
        {
            if (CheckSegment(segments[i]) is { } reason)
            {
                failure = new Failure(reason.Error, text, i + 1, segments[i], reason.Text);
                return false;
            }
        }

        var value = "/" + string.Join('/', segments);
        var pathBytes = Encoding.UTF8.GetByteCount(value);
        if (pathBytes > MaxPathBytes)
        {
            failure = new Failure(RemotePathError.PathTooLong, text, null, null, $"is {pathBytes} bytes in UTF-8; the limit is {MaxPathBytes}");
            return false;
        }

        path = new RemotePath(value, segments);
        return true;
    }

    private static (RemotePathError Error, string Text)? CheckSegment(string segment)
    {
        if (segment.Length == 0)
        {
            return (RemotePathError.EmptySegment, "is empty (two \"/\" in a row)");
        }

        if (segment is "." or "..")
        {
            return (RemotePathError.DotSegment, "is a relative reference; \".\" and \"..\" are not allowed");
        }

        for (var i = 0; i < segment.Length; i++)
        {
            var c = segment[i];
            if (c == '\\')
            {
                return (RemotePathError.Backslash, "contains a backslash; the separator is \"/\"");
            }

            if (c < 0x20 || c is >= '\u007f' and <= '\u009f')
            {
                return (RemotePathError.ControlCharacter, $"contains the control character U+{(int)c:X4}");
            }

            if (c is >= '\u202a' and <= '\u202e' or >= '\u2066' and <= '\u2069')
            {
                return (RemotePathError.BidiControl, $"contains the bidirectional control U+{(int)c:X4}, which can disguise a file name");
            }

            if (ForbiddenCharacters.Contains(c, StringComparison.Ordinal))
            {
                return (RemotePathError.ForbiddenCharacter, $"contains '{c}'; the characters : * ? \" < > | are not allowed");
            }

            if (c == '%' && i + 2 < segment.Length && char.IsAsciiHexDigit(segment[i + 1]) && char.IsAsciiHexDigit(segment[i + 2]))
            {
                return (RemotePathError.PercentEncoded,
                    $"contains the escape \"{segment.AsSpan(i, 3)}\"; decode the path exactly once before sending it");
            }
        }

        if (segment[^1] is '.' or ' ')
        {
            return (RemotePathError.TrailingDotOrSpace, "ends with '.' or ' ', which Windows strips silently");
        }

        if (ReservedStem(segment) is { } device)
        {
            return (RemotePathError.ReservedName, $"is or starts with the Windows device name \"{device}\"");
        }

        var bytes = Encoding.UTF8.GetByteCount(segment);
        if (bytes > MaxSegmentBytes)
        {
            return (RemotePathError.SegmentTooLong, $"is {bytes} bytes in UTF-8; the limit is {MaxSegmentBytes}");
        }

        return null;
    }

    // Windows resolves a device name before the first '.', ignoring trailing spaces: "nul", "NUL.txt", "nul .tar.gz".
    // COM0/LPT0 and the superscript digits ¹ ² ³ are reserved too, and CONIN$/CONOUT$ open the console.
    private static string? ReservedStem(string segment)
    {
        var dot = segment.IndexOf('.');
        var stem = (dot < 0 ? segment : segment[..dot]).TrimEnd(' ');
        switch (stem.Length)
        {
            case 3 when stem.Equals("CON", StringComparison.OrdinalIgnoreCase)
                || stem.Equals("PRN", StringComparison.OrdinalIgnoreCase)
                || stem.Equals("AUX", StringComparison.OrdinalIgnoreCase)
                || stem.Equals("NUL", StringComparison.OrdinalIgnoreCase):
                return stem;
            case 4 when (stem.StartsWith("COM", StringComparison.OrdinalIgnoreCase) || stem.StartsWith("LPT", StringComparison.OrdinalIgnoreCase))
                && (char.IsAsciiDigit(stem[3]) || stem[3] is '\u00b9' or '\u00b2' or '\u00b3'):
                return stem;
            case 6 or 7 when stem.Equals("CONIN$", StringComparison.OrdinalIgnoreCase)
                || stem.Equals("CONOUT$", StringComparison.OrdinalIgnoreCase):
                return stem;
            default:
                return null;
        }
    }

    private static int? FindUnpairedSurrogate(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return i;
            }
        }

        return null;
    }

    private static (int Number, string Segment) SegmentAt(string text, int index)
    {
        var start = text.LastIndexOf('/', index) + 1;
        var end = text.IndexOf('/', index);
        var number = text.AsSpan(0, start).Count('/') + (text[0] == '/' ? 0 : 1);
        return (number, text[start..(end < 0 ? text.Length : end)]);
    }

    // Escapes what must not reach a log or terminal raw (controls, bidi, lone surrogates) and shortens long input.
    private static string Quote(string text)
    {
        var builder = new StringBuilder(Math.Min(text.Length, MaxQuotedChars) + 8);
        builder.Append('"');
        for (var i = 0; i < text.Length && i < MaxQuotedChars; i++)
        {
            var c = text[i];
            var pair = char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]);
            if (pair)
            {
                builder.Append(c).Append(text[++i]);
            }
            else if (c < 0x20 || c is >= '\u007f' and <= '\u009f' or >= '\u202a' and <= '\u202e' or >= '\u2066' and <= '\u2069' || char.IsSurrogate(c))
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}");
            }
            else
            {
                builder.Append(c);
            }
        }

        if (text.Length > MaxQuotedChars)
        {
            builder.Append('…');
        }

        return builder.Append('"').ToString();
    }

    private readonly record struct Failure(RemotePathError Error, string Text, int? SegmentNumber, string? Segment, string Reason)
    {
        public string Message => SegmentNumber is { } number
            ? $"Invalid remote path {Quote(Text)}: segment {number} {Quote(Segment!)} {Reason}."
            : $"Invalid remote path {Quote(Text)}: it {Reason}.";

        public InvalidRemotePathException ToException() => new(Error, SegmentNumber, Segment, Message);
    }
}
