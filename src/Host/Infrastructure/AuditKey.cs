using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using TurboMft.Engine.Native;

namespace TurboMft.Host.Infrastructure;

/// <summary>
/// The 32-byte HMAC-SHA256 key of the audit log, kept apart from the data keys (docs/audit.md, "Key"): the file
/// <c>DIR/keys/audit.key</c> (0600) or <c>TURBOMFT_AUDIT_KEY</c> (base64), which takes precedence. Never logged.
/// </summary>
public sealed class AuditKey : IDisposable
{
    /// <summary>The environment variable that may carry the key as base64 of 32 bytes.</summary>
    public const string EnvironmentVariable = "TURBOMFT_AUDIT_KEY";

    /// <summary>Key length in bytes.</summary>
    public const int Size = 32;

    private const string Header =
        "# TurboMft audit key (docs/audit.md, \"Key\"): HMAC-SHA256 key of the audit log. Secret: keep it mode 0600, apart\n" +
        "# from the master key, and keep a copy offline: without it no archived audit log can be verified.\n";

    private const int MaxFileSize = 4096;

    private const UnixFileMode GroupOrOther =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    private readonly byte[] _key;
    private bool _disposed;

    private AuditKey(ReadOnlySpan<byte> key)
    {
        _key = GC.AllocateArray<byte>(Size, pinned: true);
        key.CopyTo(_key);
    }

    /// <summary>A key over <paramref name="key"/> (copied; exactly 32 bytes).</summary>
    /// <exception cref="ArgumentException">The key is not 32 bytes.</exception>
    public static AuditKey FromBytes(ReadOnlySpan<byte> key)
    {
        if (key.Length != Size)
        {
            throw new ArgumentException($"An audit key is {Size} bytes, not {key.Length}.", nameof(key));
        }

        return new AuditKey(key);
    }

    /// <summary>A new random key that lives only in memory (tests).</summary>
    public static AuditKey Generate()
    {
        Span<byte> key = stackalloc byte[Size];
        RandomNumberGenerator.Fill(key);
        try
        {
            return new AuditKey(key);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>The key from <paramref name="variable"/> (base64 of 32 bytes); null when it is unset or empty.</summary>
    /// <exception cref="AuditKeyException">The variable is set but does not hold 32 bytes in base64.</exception>
    public static AuditKey? FromEnvironment(string variable = EnvironmentVariable)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        return Decode(value.Trim())
            ?? throw new AuditKeyException($"{variable} does not hold an audit key: it must be the base64 of exactly {Size} random bytes (make one with `openssl rand -base64 32`), or be unset to use the key file.");
    }

    /// <summary>Creates a key file with a new random key, mode 0600 from its first byte; refuses to overwrite.</summary>
    /// <exception cref="IOException">The file exists or cannot be written.</exception>
    public static void CreateKeyFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var key = GC.AllocateArray<byte>(Size, pinned: true);
        var line = GC.AllocateArray<byte>(Base64.GetMaxEncodedToUtf8Length(Size) + 1, pinned: true);
        try
        {
            RandomNumberGenerator.Fill(key);
            Base64.EncodeToUtf8(key, line, out _, out var written);
            line[written] = (byte)'\n';
            using var stream = DurableFileSystem.CreateOwnerOnly(path);
            stream.Write(Encoding.ASCII.GetBytes(Header));
            stream.Write(line, 0, written + 1);
            stream.Flush(flushToDisk: true);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
            CryptographicOperations.ZeroMemory(line);
        }
    }

    /// <summary>Loads a key file: comment lines (<c>#</c>) and one line with the base64 of 32 bytes.</summary>
    /// <exception cref="AuditKeyException">The file is missing, readable by others, or not a key file.</exception>
    public static AuditKey LoadKeyFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fullPath = Path.GetFullPath(path);
        byte[] text;
        try
        {
            using var handle = File.OpenHandle(fullPath, FileMode.Open, FileAccess.Read);

            // Checked on the open handle, so the file cannot be swapped between the check and the read.
            if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(handle) & GroupOrOther) != 0)
            {
                throw new AuditKeyException($"audit key file {fullPath} is accessible by group or others; restrict it with `chmod 600 {fullPath}` and check who may have copied it.");
            }

            var length = RandomAccess.GetLength(handle);
            if (length > MaxFileSize)
            {
                throw new AuditKeyException($"audit key file {fullPath} is {length} bytes, far larger than a key file; check the path.");
            }

            text = GC.AllocateArray<byte>((int)length, pinned: true);
            var read = 0;
            while (read < text.Length && RandomAccess.Read(handle, text.AsSpan(read), read) is var n and > 0)
            {
                read += n;
            }
        }
        catch (FileNotFoundException e)
        {
            throw new AuditKeyException($"no audit key: {fullPath} does not exist. Start the server once on this data directory (it creates the key) or set {EnvironmentVariable}.", e);
        }
        catch (IOException e)
        {
            throw new AuditKeyException($"cannot read audit key file {fullPath}: {e.Message}", e);
        }

        try
        {
            AuditKey? key = null;
            var keyLines = 0;
            foreach (var range in text.AsSpan().Split((byte)'\n'))
            {
                var line = text.AsSpan(range).Trim(" \t\r"u8);
                if (line.IsEmpty || line[0] == (byte)'#')
                {
                    continue;
                }

                keyLines++;
                key?.Dispose();
                key = Decode(line);
            }

            if (keyLines != 1 || key is null)
            {
                key?.Dispose();
                throw new AuditKeyException($"audit key file {fullPath} is not a key file: it must hold one line with the base64 of {Size} bytes (comment lines start with #).");
            }

            return key;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(text);
        }
    }

    /// <summary>Computes HMAC-SHA256 of <paramref name="data"/> into <paramref name="destination"/> (32 bytes).</summary>
    public void Mac(ReadOnlySpan<byte> data, Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        HMACSHA256.HashData(_key, data, destination);
    }

    /// <summary>HMAC-SHA256 of <paramref name="data"/>.</summary>
    public byte[] Mac(ReadOnlySpan<byte> data)
    {
        var mac = new byte[HMACSHA256.HashSizeInBytes];
        Mac(data, mac);
        return mac;
    }

    /// <summary>Zeroes the key.</summary>
    public void Dispose()
    {
        _disposed = true;
        CryptographicOperations.ZeroMemory(_key);
    }

    /// <summary>Never the key.</summary>
    public override string ToString() => "AuditKey";

    private static AuditKey? Decode(string base64)
    {
        Span<byte> utf8 = stackalloc byte[64];
        try
        {
            return Encoding.ASCII.TryGetBytes(base64, utf8, out var written) ? Decode(utf8[..written]) : null;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(utf8);
        }
    }

    private static AuditKey? Decode(ReadOnlySpan<byte> base64)
    {
        Span<byte> key = stackalloc byte[48];
        try
        {
            return base64.Length <= 64 && Base64.DecodeFromUtf8(base64, key, out var consumed, out var written) == OperationStatus.Done
                && consumed == base64.Length && written == Size
                ? new AuditKey(key[..Size])
                : null;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }
}

/// <summary>The audit key cannot be obtained (missing, unsafe or malformed file, bad environment variable); the message says how to fix it.</summary>
public sealed class AuditKeyException : Exception
{
    /// <summary>Creates the exception.</summary>
    public AuditKeyException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }

    /// <summary>Creates the exception.</summary>
    public AuditKeyException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public AuditKeyException(string message)
        : base(message)
    {
    }
}
