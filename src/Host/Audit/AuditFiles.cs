using System.Globalization;

namespace TurboMft.Host.Audit;

/// <summary>The files of an audit directory (docs/audit.md, "Files"): <c>audit-NNNNNN.jsonl</c>, <c>head</c>, <c>lock</c>.</summary>
internal static class AuditFiles
{
    public const string HeadName = "head";

    public const string LockName = "lock";

    private const string Prefix = "audit-";

    private const string Suffix = ".jsonl";

    public static string Name(long number) => Prefix + number.ToString("D6", CultureInfo.InvariantCulture) + Suffix;

    /// <summary>The log files present, by number (gaps are the verifier's business).</summary>
    public static List<(long Number, string Path)> List(string directory)
    {
        var files = new List<(long Number, string Path)>();
        if (!Directory.Exists(directory))
        {
            return files;
        }

        foreach (var path in Directory.EnumerateFiles(directory, Prefix + "*" + Suffix))
        {
            var name = Path.GetFileName(path);
            var digits = name.AsSpan(Prefix.Length, name.Length - Prefix.Length - Suffix.Length);
            if (digits.Length >= 6 && long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number > 0 && Name(number) == name)
            {
                files.Add((number, path));
            }
        }

        files.Sort((a, b) => a.Number.CompareTo(b.Number));
        return files;
    }

    /// <summary>Opens a log file for reading while the writer may be appending to it.</summary>
    public static FileStream OpenForReading(string path) =>
        new(path, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.ReadWrite | FileShare.Delete, BufferSize = 0 });

    /// <summary>Opens a log file for reading; null when it is gone and <paramref name="missingIsOk"/> (archived meanwhile).</summary>
    private static FileStream? TryOpenForReading(string path, bool missingIsOk)
    {
        try
        {
            return OpenForReading(path);
        }
        catch (FileNotFoundException) when (missingIsOk)
        {
            return null;
        }
    }

    /// <summary>
    /// The lines of a log file in order, each without its newline; <c>Terminated</c> is false only for a last line that
    /// has no newline (a crash mid-append, or the writer caught mid-write).
    /// </summary>
    public static IEnumerable<AuditLine> ReadLines(string path, bool missingIsEmpty = false)
    {
        var opened = TryOpenForReading(path, missingIsEmpty);
        if (opened is null)
        {
            yield break;
        }

        using var stream = opened;
        var buffer = new byte[64 * 1024];
        var pending = new MemoryStream();
        long number = 0;
        long offset = 0;
        int read;
        while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            var start = 0;
            int newline;
            while ((newline = Array.IndexOf(buffer, (byte)'\n', start, read - start)) >= 0)
            {
                byte[] line;
                if (pending.Length > 0)
                {
                    pending.Write(buffer, start, newline - start);
                    line = pending.ToArray();
                    pending.SetLength(0);
                }
                else
                {
                    line = buffer[start..newline];
                }

                yield return new AuditLine(++number, offset, line, Terminated: true);
                offset += line.Length + 1;
                start = newline + 1;
            }

            pending.Write(buffer, start, read - start);
        }

        if (pending.Length > 0)
        {
            yield return new AuditLine(++number, offset, pending.ToArray(), Terminated: false);
        }
    }
}

/// <summary>One line of a log file.</summary>
/// <param name="Number">1-based line number in its file.</param>
/// <param name="Offset">Byte offset of the line in its file.</param>
/// <param name="Bytes">The line without its newline.</param>
/// <param name="Terminated">False for a last line without a newline.</param>
public readonly record struct AuditLine(long Number, long Offset, byte[] Bytes, bool Terminated);
