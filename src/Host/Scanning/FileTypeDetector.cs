using System.Buffers.Binary;
using System.Collections.Frozen;
using System.Text.Json;
using System.Text.Unicode;

namespace TurboMft.Host.Scanning;

/// <summary>The file types <see cref="FileTypeDetector"/> tells apart, as named in area policies and findings (docs/content-security.md, "File types").</summary>
public static class FileTypes
{
    /// <summary>Windows PE executable or DLL (<c>MZ</c> with a <c>PE\0\0</c> header).</summary>
    public const string Pe = "pe";

    /// <summary>ELF executable, shared object or core.</summary>
    public const string Elf = "elf";

    /// <summary>Mach-O executable (32/64-bit, either byte order, or universal).</summary>
    public const string MachO = "macho";

    /// <summary>A script with a <c>#!</c> interpreter line.</summary>
    public const string Script = "script";

    /// <summary>ZIP archive (also OOXML documents, JAR).</summary>
    public const string Zip = "zip";

    /// <summary>gzip stream.</summary>
    public const string Gzip = "gzip";

    /// <summary>POSIX ustar or GNU tar archive.</summary>
    public const string Tar = "tar";

    /// <summary>7-Zip archive.</summary>
    public const string SevenZip = "7z";

    /// <summary>RAR archive.</summary>
    public const string Rar = "rar";

    /// <summary>PDF document.</summary>
    public const string Pdf = "pdf";

    /// <summary>PNG image.</summary>
    public const string Png = "png";

    /// <summary>JPEG image.</summary>
    public const string Jpeg = "jpeg";

    /// <summary>TIFF image (classic or BigTIFF).</summary>
    public const string Tiff = "tiff";

    /// <summary>DICOM Part 10 file (<c>DICM</c> at offset 128).</summary>
    public const string Dicom = "dicom";

    /// <summary>OLE2 compound file (legacy Office documents, MSI).</summary>
    public const string Ole2 = "ole2";

    /// <summary>XML document (starts with an XML declaration).</summary>
    public const string Xml = "xml";

    /// <summary>JSON document.</summary>
    public const string Json = "json";

    /// <summary>Delimited text whose lines have a consistent number of delimiters.</summary>
    public const string Csv = "csv";

    /// <summary>Other UTF-8 or ASCII text.</summary>
    public const string Text = "text";

    /// <summary>A file of zero bytes.</summary>
    public const string Empty = "empty";

    /// <summary>Anything else.</summary>
    public const string Binary = "binary";

    /// <summary>Every type name, for validating settings.</summary>
    public static FrozenSet<string> All { get; } = new[]
    {
        Pe, Elf, MachO, Script, Zip, Gzip, Tar, SevenZip, Rar, Pdf, Png, Jpeg, Tiff, Dicom, Ole2, Xml, Json, Csv, Text, Empty, Binary,
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Types that run as code: never acceptable under a name that claims data.</summary>
    public static FrozenSet<string> Executables { get; } = new[] { Pe, Elf, MachO, Script }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Archive types the archive scanner walks into.</summary>
    public static FrozenSet<string> Walkable { get; } = new[] { Zip, Gzip, Tar }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>
    /// The data type a file name's extension claims (the lower-case extension, e.g. <c>csv</c>, <c>dcm</c>), or null when the
    /// extension is absent or does not name a data format.
    /// </summary>
    public static string? ClaimedDataExtension(string fileName)
    {
        var dot = fileName.LastIndexOf('.');
        if (dot < 0 || dot == fileName.Length - 1)
        {
            return null;
        }

        var extension = fileName[(dot + 1)..].ToLowerInvariant();
        return DataExtensions.Contains(extension) ? extension : null;
    }

    private static readonly FrozenSet<string> DataExtensions = new[]
    {
        "csv", "tsv", "txt", "log", "json", "xml", "pdf", "png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff", "dcm", "dicom",
        "zip", "gz", "tgz", "tar", "7z", "rar", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "rtf", "dat", "parquet",
        "h5", "hdf5", "mp4", "avi", "wav", "md",
    }.ToFrozenSet(StringComparer.Ordinal);
}

/// <summary>
/// Tells a file's type from its first bytes (magic numbers, then a text analysis), never from its name
/// (docs/content-security.md, "File types"). Executable signatures are checked first, so a polyglot such as a PE whose
/// DOS header also forms a DICOM preamble is reported as <c>pe</c>.
/// </summary>
public static class FileTypeDetector
{
    /// <summary>How many leading bytes detection looks at.</summary>
    public const int HeadLength = 16 * 1024;

    private static ReadOnlySpan<byte> ElfMagic => [0x7F, 0x45, 0x4C, 0x46];

    private static ReadOnlySpan<byte> SevenZipMagic => [0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C];

    private static ReadOnlySpan<byte> PngMagic => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    private static ReadOnlySpan<byte> JpegMagic => [0xFF, 0xD8, 0xFF];

    private static ReadOnlySpan<byte> Ole2Magic => [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

    private static ReadOnlySpan<byte> Utf8Bom => [0xEF, 0xBB, 0xBF];

    /// <summary>Reads up to <see cref="HeadLength"/> bytes from <paramref name="stream"/> and detects the type.</summary>
    public static async Task<string> DetectAsync(Stream stream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var head = new byte[HeadLength];
        var read = await stream.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        var complete = read < head.Length || await stream.ReadAsync(new byte[1], cancellationToken).ConfigureAwait(false) == 0;
        return Detect(head.AsSpan(0, read), complete);
    }

    /// <summary>
    /// Detects the type of a file starting with <paramref name="head"/>; <paramref name="complete"/> says the head is the
    /// whole file (so a multi-byte character cut at its end is not excused).
    /// </summary>
    public static string Detect(ReadOnlySpan<byte> head, bool complete)
    {
        if (head.IsEmpty)
        {
            return complete ? FileTypes.Empty : FileTypes.Binary;
        }

        return DetectMagic(head) ?? DetectText(head, complete);
    }

    private static string? DetectMagic(ReadOnlySpan<byte> head)
    {
        if (IsPe(head))
        {
            return FileTypes.Pe;
        }

        if (head.StartsWith(ElfMagic))
        {
            return FileTypes.Elf;
        }

        if (IsMachO(head))
        {
            return FileTypes.MachO;
        }

        if (head.StartsWith("#!"u8))
        {
            return FileTypes.Script;
        }

        // Before TIFF: a DICOM preamble may itself hold a TIFF header (dual-personality files).
        if (head.Length >= 132 && head.Slice(128, 4).SequenceEqual("DICM"u8))
        {
            return FileTypes.Dicom;
        }

        if (head.StartsWith("PK\x03\x04"u8) || head.StartsWith("PK\x05\x06"u8) || head.StartsWith("PK\x07\x08PK\x03\x04"u8))
        {
            return FileTypes.Zip;
        }

        if (head.Length >= 3 && head[0] == 0x1F && head[1] == 0x8B && head[2] == 0x08)
        {
            return FileTypes.Gzip;
        }

        if (head.Length >= 263 && head.Slice(257, 5).SequenceEqual("ustar"u8) && head[262] is 0 or (byte)' ')
        {
            return FileTypes.Tar;
        }

        if (head.StartsWith(SevenZipMagic))
        {
            return FileTypes.SevenZip;
        }

        if (head.StartsWith("Rar!\x1A\x07"u8))
        {
            return FileTypes.Rar;
        }

        // PDF readers accept the header anywhere in the first 1024 bytes.
        if (head[..Math.Min(head.Length, 1024)].IndexOf("%PDF-"u8) >= 0)
        {
            return FileTypes.Pdf;
        }

        if (head.StartsWith(PngMagic))
        {
            return FileTypes.Png;
        }

        if (head.StartsWith(JpegMagic))
        {
            return FileTypes.Jpeg;
        }

        if (head.StartsWith("II*\0"u8) || head.StartsWith("MM\0*"u8) || head.StartsWith("II+\0"u8) || head.StartsWith("MM\0+"u8))
        {
            return FileTypes.Tiff;
        }

        if (head.StartsWith(Ole2Magic))
        {
            return FileTypes.Ole2;
        }

        return null;
    }

    private static bool IsPe(ReadOnlySpan<byte> head)
    {
        if (head.Length < 0x40 || !head.StartsWith("MZ"u8))
        {
            return false;
        }

        var peOffset = BinaryPrimitives.ReadUInt32LittleEndian(head[0x3C..]);
        return peOffset >= 0x40 && peOffset <= head.Length - 4 && head.Slice((int)peOffset, 4).SequenceEqual("PE\0\0"u8);
    }

    private static bool IsMachO(ReadOnlySpan<byte> head)
    {
        if (head.Length < 8)
        {
            return false;
        }

        var magic = BinaryPrimitives.ReadUInt32BigEndian(head);
        return magic switch
        {
            0xFEEDFACE or 0xFEEDFACF or 0xCEFAEDFE or 0xCFFAEDFE => true,

            // Universal binaries share CAFEBABE with Java class files; a class file's version there is 45 or more.
            0xCAFEBABE or 0xCAFEBABF => BinaryPrimitives.ReadUInt32BigEndian(head[4..]) is > 0 and < 45,
            _ => false,
        };
    }

    private static string DetectText(ReadOnlySpan<byte> head, bool complete)
    {
        var text = head.StartsWith(Utf8Bom) ? head[3..] : head;
        if (!complete)
        {
            text = text[..WholeCharactersLength(text)];
        }

        if (text.Contains((byte)0) || !Utf8.IsValid(text) || !MostlyPrintable(text))
        {
            return FileTypes.Binary;
        }

        var trimmed = text.TrimStart(" \t\r\n"u8);
        if (trimmed.StartsWith("<?xml"u8))
        {
            return FileTypes.Xml;
        }

        if (trimmed.Length > 0 && trimmed[0] is (byte)'{' or (byte)'[' && IsJson(trimmed, complete))
        {
            return FileTypes.Json;
        }

        return IsDelimited(text, complete) ? FileTypes.Csv : FileTypes.Text;
    }

    /// <summary>Length of <paramref name="text"/> without a multi-byte character cut off at its end.</summary>
    private static int WholeCharactersLength(ReadOnlySpan<byte> text)
    {
        for (var back = 1; back <= Math.Min(4, text.Length); back++)
        {
            var b = text[^back];
            if ((b & 0xC0) == 0x80)
            {
                continue;
            }

            var needed = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
            return needed > back ? text.Length - back : text.Length;
        }

        return text.Length;
    }

    private static bool MostlyPrintable(ReadOnlySpan<byte> text)
    {
        var control = 0;
        foreach (var b in text)
        {
            if ((b < 0x20 && b is not ((byte)'\t' or (byte)'\n' or (byte)'\r' or 0x0B or 0x0C or 0x1B)) || b == 0x7F)
            {
                control++;
            }
        }

        return control * 100 <= text.Length;
    }

    private static bool IsJson(ReadOnlySpan<byte> text, bool complete)
    {
        var reader = new Utf8JsonReader(text, isFinalBlock: complete, default);
        try
        {
            var tokens = 0;
            while (reader.Read())
            {
                tokens++;
            }

            return tokens > 0;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Two or more lines with the same non-zero count of one delimiter (outside double quotes).</summary>
    private static bool IsDelimited(ReadOnlySpan<byte> text, bool complete)
    {
        if (!complete)
        {
            var lastNewline = text.LastIndexOf((byte)'\n');
            text = lastNewline < 0 ? [] : text[..lastNewline];
        }

        foreach (var delimiter in ",;\t|"u8)
        {
            var expected = -1;
            var lines = 0;
            var consistent = true;
            var rest = text;
            while (!rest.IsEmpty && lines < 200)
            {
                var end = rest.IndexOf((byte)'\n');
                var line = end < 0 ? rest : rest[..end];
                rest = end < 0 ? [] : rest[(end + 1)..];
                if (line.TrimEnd((byte)'\r').IsEmpty)
                {
                    continue;
                }

                var count = CountOutsideQuotes(line, delimiter);
                if (expected < 0)
                {
                    expected = count;
                }
                else if (count != expected && !(end < 0 && count < expected))
                {
                    // A last line without a newline may be cut short (a truncated export); any other difference is not CSV.
                    consistent = false;
                    break;
                }

                lines++;
            }

            if (consistent && expected > 0 && lines >= 2)
            {
                return true;
            }
        }

        return false;
    }

    private static int CountOutsideQuotes(ReadOnlySpan<byte> line, byte delimiter)
    {
        var count = 0;
        var quoted = false;
        foreach (var b in line)
        {
            if (b == (byte)'"')
            {
                quoted = !quoted;
            }
            else if (b == delimiter && !quoted)
            {
                count++;
            }
        }

        return count;
    }
}
