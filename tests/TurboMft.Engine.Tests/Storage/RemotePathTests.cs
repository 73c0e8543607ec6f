using TurboMft.Engine.Storage;

namespace TurboMft.Engine.Tests.Storage;

public sealed class RemotePathTests
{
    [Theory]
    [InlineData("a", "/a")]
    [InlineData("/a", "/a")]
    [InlineData("/a/", "/a")]
    [InlineData("a/b/c.txt", "/a/b/c.txt")]
    [InlineData("/a/b/c.txt/", "/a/b/c.txt")]
    [InlineData("/etc/passwd", "/etc/passwd")]
    [InlineData("/reports/2024 Q1/summary.pdf", "/reports/2024 Q1/summary.pdf")]
    [InlineData("/a/.hidden", "/a/.hidden")]
    [InlineData("/a/..b", "/a/..b")]
    [InlineData("/a/b..c", "/a/b..c")]
    [InlineData("/a/ leading space", "/a/ leading space")]
    [InlineData("/100%", "/100%")]
    [InlineData("/50%off", "/50%off")]
    [InlineData("/%zz/%4", "/%zz/%4")]
    [InlineData("/under_score/100%_done", "/under_score/100%_done")]
    [InlineData("/CONSOLE.txt", "/CONSOLE.txt")]
    [InlineData("/COM10", "/COM10")]
    [InlineData("/LPT", "/LPT")]
    [InlineData("/auxiliary.txt", "/auxiliary.txt")]
    [InlineData("/nul_file", "/nul_file")]
    [InlineData("/x.nul", "/x.nul")]
    [InlineData("/日本語/ファイル.txt", "/日本語/ファイル.txt")]
    [InlineData("/emoji/\U0001F600.png", "/emoji/\U0001F600.png")]
    [InlineData("/a;b,c=d+e&f#g", "/a;b,c=d+e&f#g")]
    public void Valid_paths_parse_to_the_canonical_form(string text, string canonical)
    {
        var path = RemotePath.Parse(text);

        Assert.Equal(canonical, path.Value);
        Assert.Equal(canonical, path.ToString());
        Assert.True(RemotePath.TryParse(text, out var parsed, out var error));
        Assert.Null(error);
        Assert.Equal(path, parsed);
    }

    [Theory]
    [InlineData("", RemotePathError.Empty, null)]
    [InlineData("/", RemotePathError.RootNotAllowed, null)]
    [InlineData("//", RemotePathError.EmptySegment, 1)]
    [InlineData("a//b", RemotePathError.EmptySegment, 2)]
    [InlineData("/a//", RemotePathError.EmptySegment, 2)]
    [InlineData("///a", RemotePathError.EmptySegment, 1)]
    [InlineData(".", RemotePathError.DotSegment, 1)]
    [InlineData("..", RemotePathError.DotSegment, 1)]
    [InlineData("a/../b", RemotePathError.DotSegment, 2)]
    [InlineData("/a/./b", RemotePathError.DotSegment, 2)]
    [InlineData("../etc/passwd", RemotePathError.DotSegment, 1)]
    [InlineData("/a/..", RemotePathError.DotSegment, 2)]
    [InlineData("/a/../", RemotePathError.DotSegment, 2)]
    [InlineData("%2e%2e", RemotePathError.PercentEncoded, 1)]
    [InlineData("..%2f", RemotePathError.PercentEncoded, 1)]
    [InlineData("..%2F..%2Fetc", RemotePathError.PercentEncoded, 1)]
    [InlineData("/a/%2e%2e/b", RemotePathError.PercentEncoded, 2)]
    [InlineData("a%5cb", RemotePathError.PercentEncoded, 1)]
    [InlineData("/a/%00", RemotePathError.PercentEncoded, 2)]
    [InlineData("%252e", RemotePathError.PercentEncoded, 1)]
    [InlineData("a\\b", RemotePathError.Backslash, 1)]
    [InlineData("/x/..\\..\\windows", RemotePathError.Backslash, 2)]
    [InlineData("a\0b", RemotePathError.ControlCharacter, 1)]
    [InlineData("/ok/a\nb", RemotePathError.ControlCharacter, 2)]
    [InlineData("a\tb", RemotePathError.ControlCharacter, 1)]
    [InlineData("a\u001fb", RemotePathError.ControlCharacter, 1)]
    [InlineData("a\u007fb", RemotePathError.ControlCharacter, 1)]
    [InlineData("a\u0085b", RemotePathError.ControlCharacter, 1)]
    [InlineData("a\u009fb", RemotePathError.ControlCharacter, 1)]
    [InlineData("invoice\u202Efdp.exe", RemotePathError.BidiControl, 1)]
    [InlineData("a\u2066b", RemotePathError.BidiControl, 1)]
    [InlineData("a:b", RemotePathError.ForbiddenCharacter, 1)]
    [InlineData("/C:/windows", RemotePathError.ForbiddenCharacter, 1)]
    [InlineData("/a/file.txt:stream", RemotePathError.ForbiddenCharacter, 2)]
    [InlineData("a*", RemotePathError.ForbiddenCharacter, 1)]
    [InlineData("a?", RemotePathError.ForbiddenCharacter, 1)]
    [InlineData("a\"b", RemotePathError.ForbiddenCharacter, 1)]
    [InlineData("<a", RemotePathError.ForbiddenCharacter, 1)]
    [InlineData("a>", RemotePathError.ForbiddenCharacter, 1)]
    [InlineData("a|b", RemotePathError.ForbiddenCharacter, 1)]
    [InlineData("a.", RemotePathError.TrailingDotOrSpace, 1)]
    [InlineData("a ", RemotePathError.TrailingDotOrSpace, 1)]
    [InlineData("...", RemotePathError.TrailingDotOrSpace, 1)]
    [InlineData("/a/b /c", RemotePathError.TrailingDotOrSpace, 2)]
    [InlineData("/a/   ", RemotePathError.TrailingDotOrSpace, 2)]
    [InlineData("CON", RemotePathError.ReservedName, 1)]
    [InlineData("con", RemotePathError.ReservedName, 1)]
    [InlineData("PRN", RemotePathError.ReservedName, 1)]
    [InlineData("aux", RemotePathError.ReservedName, 1)]
    [InlineData("/a/NUL", RemotePathError.ReservedName, 2)]
    [InlineData("nul.txt", RemotePathError.ReservedName, 1)]
    [InlineData("NUL.tar.gz", RemotePathError.ReservedName, 1)]
    [InlineData("nul .txt", RemotePathError.ReservedName, 1)]
    [InlineData("com1", RemotePathError.ReservedName, 1)]
    [InlineData("COM9.log", RemotePathError.ReservedName, 1)]
    [InlineData("com0", RemotePathError.ReservedName, 1)]
    [InlineData("LPT1", RemotePathError.ReservedName, 1)]
    [InlineData("lpt9.txt", RemotePathError.ReservedName, 1)]
    [InlineData("COM\u00b9", RemotePathError.ReservedName, 1)]
    [InlineData("conin$", RemotePathError.ReservedName, 1)]
    [InlineData("/ok/Con/x", RemotePathError.ReservedName, 2)]
    public void Invalid_paths_are_rejected_with_the_rule_and_segment(string text, RemotePathError expected, int? segment)
    {
        var ex = Assert.Throws<InvalidRemotePathException>(() => RemotePath.Parse(text));

        Assert.Equal(expected, ex.Error);
        Assert.Equal(segment, ex.SegmentNumber);
        Assert.IsAssignableFrom<ArgumentException>(ex);
        Assert.False(RemotePath.TryParse(text, out var path, out var error));
        Assert.Null(path);
        Assert.Equal(ex.Message, error);
        if (segment is { } number)
        {
            Assert.Contains($"segment {number} ", ex.Message, StringComparison.Ordinal);
        }
    }

    // U+FFFE and U+FFFF are valid UTF-8 and UTF-16 but no characters: .NET's normalisation throws on them, so the parser
    // must refuse them itself (found by RemotePathFuzzTests with seed 5TnW1X9SSwK1).
    [Theory]
    [InlineData("/in/a\uFFFEb", 2, "U+FFFE")]
    [InlineData("\uFFFF/x", 1, "U+FFFF")]
    public void Noncharacters_that_normalisation_refuses_are_rejected_with_their_segment(string text, int segment, string named)
    {
        var ex = Assert.Throws<InvalidRemotePathException>(() => RemotePath.Parse(text));

        Assert.Equal(RemotePathError.InvalidUtf16, ex.Error);
        Assert.Equal(segment, ex.SegmentNumber);
        Assert.Contains($"the noncharacter {named}", ex.Message, StringComparison.Ordinal);
        Assert.False(RemotePath.TryParse(text, out _, out _));
    }

    // Lone surrogates cannot go through [InlineData]: attribute strings are stored as UTF-8, which replaces them with U+FFFD.
    [Fact]
    public void Unpaired_surrogates_are_rejected_with_their_segment()
    {
        string[] texts = ["a\ud800", "/a/\udc00b", "/a/b\ud83d", "\udc00\ud83d/x", "/ok/\ud83d\ud83d\ude00"];
        int[] segments = [1, 2, 2, 1, 2];

        for (var i = 0; i < texts.Length; i++)
        {
            var ex = Assert.Throws<InvalidRemotePathException>(() => RemotePath.Parse(texts[i]));
            Assert.Equal(RemotePathError.InvalidUtf16, ex.Error);
            Assert.Equal(segments[i], ex.SegmentNumber);
            Assert.Contains("unpaired surrogate", ex.Message, StringComparison.Ordinal);
            Assert.False(RemotePath.TryParse(texts[i], out _, out _));
        }

        Assert.Equal("/ok/\ud83d\ude00", RemotePath.Parse("/ok/\ud83d\ude00").Value);
    }

    [Fact]
    public void Message_names_the_offending_segment_and_the_rule()
    {
        var ex = Assert.Throws<InvalidRemotePathException>(() => RemotePath.Parse("/inbox/../etc/passwd"));

        Assert.Equal("Invalid remote path \"/inbox/../etc/passwd\": segment 2 \"..\" is a relative reference; \".\" and \"..\" are not allowed.", ex.Message);
        Assert.Equal("..", ex.Segment);
    }

    [Theory]
    [InlineData("/inbox/nul.txt", "segment 2 \"nul.txt\"", "Windows device name \"nul\"")]
    [InlineData("/inbox/..%2fetc", "segment 2 \"..%2fetc\"", "\"%2f\"; decode the path exactly once")]
    [InlineData("/a:b", "segment 1 \"a:b\"", "contains ':'")]
    [InlineData("/a/b/c ", "segment 3 \"c \"", "ends with '.' or ' '")]
    public void Message_quotes_the_segment_and_says_what_is_wrong(string text, string segmentPart, string reasonPart)
    {
        var ex = Assert.Throws<InvalidRemotePathException>(() => RemotePath.Parse(text));

        Assert.Contains(segmentPart, ex.Message, StringComparison.Ordinal);
        Assert.Contains(reasonPart, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Message_escapes_control_characters_so_it_is_safe_to_log()
    {
        var ex = Assert.Throws<InvalidRemotePathException>(() => RemotePath.Parse("/a/b\r\nFAKE LOG LINE"));

        Assert.Equal(RemotePathError.ControlCharacter, ex.Error);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.DoesNotContain('\r', ex.Message);
        Assert.Contains("\\u000D\\u000A", ex.Message, StringComparison.Ordinal);
        Assert.Contains("U+000D", ex.Message, StringComparison.Ordinal);
        Assert.Equal("b\r\nFAKE LOG LINE", ex.Segment);
    }

    [Fact]
    public void Message_shortens_very_long_input()
    {
        var text = "/" + new string('a', 300);

        var ex = Assert.Throws<InvalidRemotePathException>(() => RemotePath.Parse(text));

        Assert.Equal(RemotePathError.SegmentTooLong, ex.Error);
        Assert.Contains("is 300 bytes in UTF-8; the limit is 255", ex.Message, StringComparison.Ordinal);
        Assert.True(ex.Message.Length < 400, ex.Message);
    }

    [Fact]
    public void Segment_length_is_measured_in_utf8_bytes()
    {
        Assert.Equal(255, RemotePath.Parse(new string('a', 255)).Name.Length);
        Assert.Equal(RemotePathError.SegmentTooLong, Assert.Throws<InvalidRemotePathException>(() => RemotePath.Parse(new string('a', 256))).Error);

        // 128 characters but 256 bytes: "é" is two bytes in UTF-8.
        var accented = new string('\u00e9', 128);
        var ex = Assert.Throws<InvalidRemotePathException>(() => RemotePath.Parse("/x/" + accented));
        Assert.Equal(RemotePathError.SegmentTooLong, ex.Error);
        Assert.Equal(2, ex.SegmentNumber);
    }

    [Fact]
    public void Total_length_is_limited_to_4096_utf8_bytes()
    {
        // 16 segments of "/" + 255 bytes = 4096 bytes exactly.
        var exact = string.Concat(Enumerable.Repeat("/" + new string('a', 255), 16));
        Assert.Equal(RemotePath.MaxPathBytes, RemotePath.Parse(exact).Value.Length);

        var ex = Assert.Throws<InvalidRemotePathException>(() => RemotePath.Parse(exact + "/b"));
        Assert.Equal(RemotePathError.PathTooLong, ex.Error);
        Assert.Null(ex.SegmentNumber);
        Assert.Contains("4098 bytes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Oversized_input_is_rejected_before_any_other_work()
    {
        var ex = Assert.Throws<InvalidRemotePathException>(() => RemotePath.Parse(new string('/', 100_000)));

        Assert.Equal(RemotePathError.PathTooLong, ex.Error);
    }

    [Fact]
    public void Null_is_empty_for_TryParse_and_an_argument_error_for_Parse()
    {
        Assert.False(RemotePath.TryParse(null, out var path, out var error));
        Assert.Null(path);
        Assert.Equal("Invalid remote path \"\": it is empty.", error);
        Assert.Throws<ArgumentNullException>(() => RemotePath.Parse(null!));
    }

    [Fact]
    public void Root_is_accepted_only_when_allowed()
    {
        Assert.True(RemotePath.TryParse("/", out var root, out _, allowRoot: true));
        Assert.Same(RemotePath.Root, root);
        Assert.Same(RemotePath.Root, RemotePath.Parse("/", allowRoot: true));
        Assert.Equal("/", RemotePath.Root.Value);
        Assert.True(RemotePath.Root.IsRoot);
        Assert.Empty(RemotePath.Root.Segments);
        Assert.Equal(string.Empty, RemotePath.Root.Name);
        Assert.Null(RemotePath.Root.Parent);

        Assert.False(RemotePath.TryParse("/", out _, out var error));
        Assert.Contains("root", error, StringComparison.Ordinal);

        // allowRoot does not relax anything else.
        Assert.False(RemotePath.TryParse("//", out _, out _, allowRoot: true));
        Assert.False(RemotePath.TryParse("", out _, out _, allowRoot: true));
        Assert.Equal("/a", RemotePath.Parse("/a/", allowRoot: true).Value);
    }

    [Fact]
    public void Segments_name_and_parent_describe_the_path()
    {
        var path = RemotePath.Parse("/inbox/2024/report.pdf");

        Assert.Equal(["inbox", "2024", "report.pdf"], path.Segments);
        Assert.Equal("report.pdf", path.Name);
        Assert.False(path.IsRoot);
        Assert.Equal("/inbox/2024", path.Parent!.Value);
        Assert.Equal(["inbox", "2024"], path.Parent.Segments);
        Assert.Equal("/inbox", path.Parent.Parent!.Value);
        Assert.Same(RemotePath.Root, path.Parent.Parent.Parent);
    }

    [Fact]
    public void Segments_cannot_be_modified_through_the_list()
    {
        var path = RemotePath.Parse("/a/b");

        var list = Assert.IsAssignableFrom<IList<string>>(path.Segments);
        Assert.Throws<NotSupportedException>(() => list[0] = "..");
        Assert.Equal("/a/b", path.Value);
    }

    [Fact]
    public void Combine_appends_a_parsed_relative_path()
    {
        var inbox = RemotePath.Parse("/inbox");

        Assert.Equal("/inbox/2024/report.pdf", inbox.Combine("2024/report.pdf").Value);
        Assert.Equal("/inbox/2024", inbox.Combine("2024/").Value);
        Assert.Equal(["inbox", "a", "b"], inbox.Combine("a/b").Segments);
        Assert.Equal("/x", RemotePath.Root.Combine("x").Value);
        Assert.Equal(inbox.Combine("a/b"), RemotePath.Parse("/inbox/a/b"));
    }

    [Theory]
    [InlineData("../etc/passwd", RemotePathError.DotSegment)]
    [InlineData("a/../../b", RemotePathError.DotSegment)]
    [InlineData("%2e%2e/x", RemotePathError.PercentEncoded)]
    [InlineData("..\\x", RemotePathError.Backslash)]
    [InlineData("/etc/passwd", RemotePathError.NotRelative)]
    [InlineData("", RemotePathError.Empty)]
    public void Combine_cannot_escape_its_base(string relative, RemotePathError expected)
    {
        var ex = Assert.Throws<InvalidRemotePathException>(() => RemotePath.Parse("/inbox").Combine(relative));

        Assert.Equal(expected, ex.Error);
    }

    [Fact]
    public void Combine_enforces_the_total_length()
    {
        var longBase = RemotePath.Parse(string.Concat(Enumerable.Repeat("/" + new string('a', 255), 16)));

        var ex = Assert.Throws<InvalidRemotePathException>(() => longBase.Combine("b"));

        Assert.Equal(RemotePathError.PathTooLong, ex.Error);
    }

    [Theory]
    [InlineData("/a/b/c", "/a/b", true)]
    [InlineData("/a/b", "/a/b", true)]
    [InlineData("/a/bc", "/a/b", false)]
    [InlineData("/a/b.txt", "/a/b", false)]
    [InlineData("/a", "/a/b", false)]
    [InlineData("/b/a", "/a", false)]
    [InlineData("/A/b", "/a", false)]
    public void IsUnder_compares_whole_segments(string path, string prefix, bool expected)
    {
        Assert.Equal(expected, RemotePath.Parse(path).IsUnder(RemotePath.Parse(prefix)));
    }

    [Fact]
    public void Everything_is_under_the_root()
    {
        Assert.True(RemotePath.Parse("/a/b").IsUnder(RemotePath.Root));
        Assert.True(RemotePath.Root.IsUnder(RemotePath.Root));
        Assert.False(RemotePath.Root.IsUnder(RemotePath.Parse("/a")));
    }

    [Fact]
    public void Equality_is_ordinal_on_the_canonical_form()
    {
        var a = RemotePath.Parse("a/b/");
        var b = RemotePath.Parse("/a/b");

        Assert.Equal(a, b);
        Assert.True(a == b);
        Assert.False(a != b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(RemotePath.Parse("/A/b"), b);
        Assert.False(b.Equals(null));
        Assert.False(b == null);
        Assert.Single(new HashSet<RemotePath> { a, b });
    }

    [Fact]
    public void Unicode_normalisation_depends_on_globalization_mode()
    {
        // The projects build with InvariantGlobalization, where .NET has no normalisation data; NormalizesUnicode says so.
        var invariant = AppContext.TryGetSwitch("System.Globalization.Invariant", out var on) && on;

        Assert.Equal(!invariant, RemotePath.NormalizesUnicode);
    }

    [Fact]
    public void Decomposed_text_is_normalised_to_nfc()
    {
        Assert.SkipUnless(RemotePath.NormalizesUnicode, "Unicode normalisation needs ICU; this runtime uses InvariantGlobalization.");

        var decomposed = RemotePath.Parse("/cafe\u0301/n\u0303");

        Assert.Equal("/caf\u00e9/\u00f1", decomposed.Value);
        Assert.Equal(RemotePath.Parse("/caf\u00e9/\u00f1"), decomposed);
    }
}
