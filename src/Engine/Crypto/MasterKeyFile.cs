using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace TurboMft.Engine.Crypto;

/// <summary>Reads and writes the master key file text format (docs/format.md, "Master key file").</summary>
internal static class MasterKeyFile
{
    /// <summary>The first field of every key line; names the format version.</summary>
    public const string LinePrefix = "tmf-kek-v1";

    /// <summary>The first field of every key line, as bytes.</summary>
    public static ReadOnlySpan<byte> LinePrefixBytes => "tmf-kek-v1"u8;

    /// <summary>A key file is a few lines; anything larger is not one.</summary>
    public const int MaxFileSize = 1 << 20;

    /// <summary>The only permissions a key file may carry: read and write for its owner.</summary>
    public const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private const UnixFileMode GroupOrOther =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    private const int Base64KeyLength = 44;

    private const string Header =
        "# TurboMft master key file (docs/format.md, \"Master key file\"). Secret: keep it mode 0600 and back it up.\n" +
        "# One key per line, oldest first. The last line is the active key that wraps new data keys.\n";

    /// <summary>Opens, checks and parses a key file; the keys are in file order (the last one is active).</summary>
    public static List<MasterKey> Read(string path)
    {
        var fullPath = Path.GetFullPath(path);
        byte[]? text = null;
        try
        {
            using (var handle = Open(fullPath))
            {
                // Checked on the open handle, so the file cannot be swapped between the check and the read.
                if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(handle) & GroupOrOther) != 0)
                {
                    var mode = Convert.ToString((int)File.GetUnixFileMode(handle), 8).PadLeft(4, '0');
                    throw new KeyFileException(
                        fullPath,
                        $"master key file {fullPath} is accessible by group or others (mode {mode}); restrict it with `chmod 600 {fullPath}` and check who may have copied it.");
                }

                var length = RandomAccess.GetLength(handle);
                if (length > MaxFileSize)
                {
                    throw new KeyFileException(fullPath, $"master key file {fullPath} is {length} bytes, far larger than a key file; check the path.");
                }

                text = GC.AllocateArray<byte>((int)length, pinned: true);
                var read = 0;
                while (read < text.Length)
                {
                    var n = RandomAccess.Read(handle, text.AsSpan(read), read);
                    if (n == 0)
                    {
                        throw new KeyFileException(fullPath, $"master key file {fullPath} shrank while it was being read; retry.");
                    }

                    read += n;
                }
            }

            return Parse(text, fullPath);
        }
        catch (IOException e)
        {
            throw new KeyFileException(fullPath, $"cannot read master key file {fullPath}: {e.Message}", innerException: e);
        }
        finally
        {
            if (text is not null)
            {
                CryptographicOperations.ZeroMemory(text);
            }
        }
    }

    /// <summary>Parses key file text; errors name <paramref name="path"/> and the line, never the key.</summary>
    public static List<MasterKey> Parse(ReadOnlySpan<byte> text, string path)
    {
        var emptyFile = text.IsEmpty;
        var keys = new List<MasterKey>();
        var firstLineOf = new Dictionary<string, int>(StringComparer.Ordinal);
        var lineNumber = 0;
        try
        {
            while (!text.IsEmpty)
            {
                lineNumber++;
                var newline = text.IndexOf((byte)'\n');
                var line = newline < 0 ? text : text[..newline];
                text = newline < 0 ? [] : text[(newline + 1)..];
                line = line.Trim(" \t\r"u8);
                if (line.IsEmpty || line[0] == (byte)'#')
                {
                    continue;
                }

                var key = ParseLine(line, path, lineNumber);
                if (firstLineOf.TryGetValue(key.Id, out var first))
                {
                    key.Dispose();
                    throw LineError(path, lineNumber, $"key id {key.Id} appears twice (first on line {first}); delete one of the two lines.");
                }

                firstLineOf.Add(key.Id, lineNumber);
                keys.Add(key);
            }
        }
        catch
        {
            keys.ForEach(k => k.Dispose());
            throw;
        }

        if (keys.Count == 0 && emptyFile)
        {
            throw new KeyFileException(
                path,
                $"master key file {path} is empty, probably left by an interrupted `turbomft keys init`; delete it and run `turbomft keys init` again.");
        }

        if (keys.Count == 0)
        {
            throw new KeyFileException(
                path,
                $"master key file {path} holds no keys; restore it from backup (data keys wrapped under a lost master key cannot be recovered), or delete it and run `turbomft keys init` on a node without data.");
        }

        return keys;
    }

    /// <summary>
    /// Writes all keys, oldest first, atomically: a 0600 temp file, fsync, then rename over <paramref name="path"/>.
    /// Without <paramref name="overwrite"/>, the name is first claimed with an exclusive create, so an existing file is never replaced.
    /// </summary>
    public static void Write(string path, IReadOnlyList<MasterKey> keys, bool overwrite)
    {
        var fullPath = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(fullPath) ?? throw new KeyFileException(fullPath, $"{fullPath} is not a file path; give a key file path such as /var/lib/turbomft/master.key.");
        var temp = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}.tmp");
        var claimed = false;
        var content = Format(keys);
        try
        {
            if (!overwrite)
            {
                // File.Move(overwrite: false) is stat-then-rename on Linux, so the exclusive create is what refuses an existing file.
                ClaimName(fullPath);
                claimed = true;
            }

            using (var stream = new FileStream(temp, OwnerOnlyCreateNew()))
            {
                stream.Write(content);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, fullPath, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            DeleteQuietly(temp);
            if (claimed)
            {
                DeleteQuietly(fullPath);
            }

            throw new KeyFileException(fullPath, $"cannot write master key file {fullPath}: {e.Message}", innerException: e);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(content);
        }
    }

    private static void ClaimName(string fullPath)
    {
        try
        {
            new FileStream(fullPath, OwnerOnlyCreateNew()).Dispose();
        }
        catch (IOException e) when (File.Exists(fullPath) || Directory.Exists(fullPath))
        {
            throw new KeyFileException(
                fullPath,
                $"master key file {fullPath} already exists; refusing to overwrite it (the data keys wrapped under it would become unreadable). Load it instead, or move it away first.",
                innerException: e);
        }
    }

    private static FileStreamOptions OwnerOnlyCreateNew()
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnly;
        }

        return options;
    }

    /// <summary>The file content in a pinned array the caller zeroes: the header, then one line per key.</summary>
    private static byte[] Format(IReadOnlyList<MasterKey> keys)
    {
        var header = Encoding.ASCII.GetBytes(Header);
        var idFieldsLength = LinePrefix.Length + 1 + (2 * MasterKey.IdSize) + 1;
        var content = GC.AllocateArray<byte>(header.Length + (keys.Count * (idFieldsLength + Base64KeyLength + 1)), pinned: true);
        header.CopyTo(content, 0);
        var cursor = content.AsSpan(header.Length);
        foreach (var key in keys)
        {
            Encoding.ASCII.GetBytes($"{LinePrefix} {key.Id} ", cursor);
            Base64.EncodeToUtf8(key.Bytes, cursor[idFieldsLength..], out _, out var written);
            cursor[idFieldsLength + written] = (byte)'\n';
            cursor = cursor[(idFieldsLength + written + 1)..];
        }

        return content;
    }

    private static void DeleteQuietly(string temp)
    {
        try
        {
            File.Delete(temp);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The write error that brought us here is the one to report; a stray temp file holds no active key.
        }
    }

    private static Microsoft.Win32.SafeHandles.SafeFileHandle Open(string fullPath)
    {
        try
        {
            return File.OpenHandle(fullPath, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new KeyFileException(
                fullPath,
                $"master key file {fullPath} not found; create it with `turbomft keys init` or set {KeyRing.DefaultEnvironmentVariable}.",
                innerException: e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new KeyFileException(fullPath, $"cannot read master key file {fullPath}: permission denied; run TurboMft as the user that owns the file.", innerException: e);
        }
    }

    private static MasterKey ParseLine(ReadOnlySpan<byte> line, string path, int lineNumber)
    {
        Span<Range> fields = stackalloc Range[4];
        var count = SplitFields(line, fields);
        if (count != 3 || !line[fields[0]].SequenceEqual(LinePrefixBytes))
        {
            var problem = count >= 1 && line[fields[0]].StartsWith("tmf-kek-"u8) && !line[fields[0]].SequenceEqual(LinePrefixBytes)
                ? $"unsupported key line version; this build reads {LinePrefix} lines."
                : $"expected `{LinePrefix} <key id> <base64 key>` or a # comment.";
            throw LineError(path, lineNumber, problem);
        }

        var statedId = Encoding.ASCII.GetString(line[fields[1]]);
        if (!MasterKey.IsKeyId(statedId))
        {
            throw LineError(path, lineNumber, "the key id must be 16 lowercase hex digits.");
        }

        Span<byte> key = stackalloc byte[48];
        try
        {
            var encoded = line[fields[2]];
            if (Base64.DecodeFromUtf8(encoded, key, out var consumed, out var written) != System.Buffers.OperationStatus.Done
                || consumed != encoded.Length || written != MasterKey.Size)
            {
                throw LineError(path, lineNumber, $"the key is not the base64 of {MasterKey.Size} bytes; the line is damaged, restore the file from backup.");
            }

            var masterKey = MasterKey.FromBytes(key[..MasterKey.Size]);
            if (masterKey.Id != statedId)
            {
                var actual = masterKey.Id;
                masterKey.Dispose();
                throw LineError(path, lineNumber, $"key id {statedId} does not match its key (which has id {actual}); the line is damaged, restore the file from backup.");
            }

            return masterKey;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    private static int SplitFields(ReadOnlySpan<byte> line, Span<Range> fields)
    {
        var count = 0;
        var i = 0;
        while (i < line.Length)
        {
            if (line[i] is (byte)' ' or (byte)'\t')
            {
                i++;
                continue;
            }

            var end = line[i..].IndexOfAny(" \t"u8);
            end = end < 0 ? line.Length : i + end;
            if (count == fields.Length)
            {
                return count + 1;
            }

            fields[count++] = new Range(i, end);
            i = end;
        }

        return count;
    }

    private static KeyFileException LineError(string path, int lineNumber, string problem) =>
        new(path, $"master key file {path}, line {lineNumber}: {problem}", lineNumber);
}
