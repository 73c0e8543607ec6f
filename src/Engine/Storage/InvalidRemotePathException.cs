namespace TurboMft.Engine.Storage;

/// <summary>Why a text is not a valid <see cref="RemotePath"/>; stable names that callers map to responses and audit records.</summary>
public enum RemotePathError
{
    /// <summary>The text is null or empty.</summary>
    Empty,

    /// <summary>The text is the root "/" where a file path is required.</summary>
    RootNotAllowed,

    /// <summary>A path given to <see cref="RemotePath.Combine"/> starts with "/" instead of being relative.</summary>
    NotRelative,

    /// <summary>Two separators in a row ("a//b").</summary>
    EmptySegment,

    /// <summary>A "." or ".." segment.</summary>
    DotSegment,

    /// <summary>A backslash, which some systems read as a separator.</summary>
    Backslash,

    /// <summary>A C0 or C1 control character (U+0000–U+001F, U+007F–U+009F).</summary>
    ControlCharacter,

    /// <summary>A bidirectional embedding, override or isolate character, which can disguise a file name's extension.</summary>
    BidiControl,

    /// <summary>One of <c>: * ? " &lt; &gt; |</c>.</summary>
    ForbiddenCharacter,

    /// <summary>A percent-escape ("%2f"): the text was not decoded, or was encoded twice.</summary>
    PercentEncoded,

    /// <summary>An unpaired UTF-16 surrogate.</summary>
    InvalidUtf16,

    /// <summary>A segment ending in "." or " ", which Windows strips silently.</summary>
    TrailingDotOrSpace,

    /// <summary>A Windows device name (CON, NUL, COM1, LPT1…) as a segment or as a segment's stem ("nul.txt").</summary>
    ReservedName,

    /// <summary>A segment longer than <see cref="RemotePath.MaxSegmentBytes"/> bytes in UTF-8.</summary>
    SegmentTooLong,

    /// <summary>A path longer than <see cref="RemotePath.MaxPathBytes"/> bytes in UTF-8.</summary>
    PathTooLong,
}

/// <summary>A text that is not a valid remote path; the message says what is wrong and in which segment.</summary>
public sealed class InvalidRemotePathException : ArgumentException
{
    /// <summary>Creates the exception; <paramref name="message"/> is shown to the user as is.</summary>
    public InvalidRemotePathException(RemotePathError error, int? segmentNumber, string? segment, string message)
        : base(message)
    {
        Error = error;
        SegmentNumber = segmentNumber;
        Segment = segment;
    }

    /// <summary>What is wrong.</summary>
    public RemotePathError Error { get; }

    /// <summary>The 1-based number of the offending segment, when one segment is at fault.</summary>
    public int? SegmentNumber { get; }

    /// <summary>The offending segment as given (unescaped; escape it before logging), when one segment is at fault.</summary>
    public string? Segment { get; }
}
