using System.Globalization;
using System.Text;
using System.Text.Json;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Audit;

/// <summary>
/// The head anchor <c>DIR/audit/head</c> (docs/audit.md, "Head anchor"): the last durable record's seq, its file and
/// its line's hash, HMAC-sealed like a record. It lets the verifier see records cut from the end of the log.
/// </summary>
/// <param name="Seq">Seq of the last durable record; 0 for an empty log.</param>
/// <param name="File">Number of the log file holding it; 0 for an empty log.</param>
/// <param name="Hash">Hex SHA-256 of its line (<see cref="AuditChain.GenesisPrev"/> for an empty log).</param>
internal sealed record AuditHead(long Seq, long File, string Hash)
{
    /// <summary>The anchor is rewritten in place at this fixed size (JSON, space padding, newline): one sector, one write.</summary>
    public const int Size = 256;

    public static AuditHead Empty { get; } = new(0, 0, AuditChain.GenesisPrev);

    /// <summary>The 256 bytes of the anchor.</summary>
    public byte[] Encode(AuditKey key)
    {
        var signed = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{{\"seq\":{Seq},\"file\":{File},\"hash\":\"{Hash}\"}}"));
        var line = AuditChain.Seal(signed, key);
        var bytes = new byte[Size];
        bytes.AsSpan().Fill((byte)' ');
        line.CopyTo(bytes, 0);
        bytes[^1] = (byte)'\n';
        return bytes;
    }

    /// <summary>Reads the anchor: null with no error when there is none, null with an error when it is not authentic.</summary>
    public static AuditHead? Read(string path, AuditKey key, out string? error)
    {
        error = null;
        byte[] bytes;
        try
        {
            using var stream = AuditFiles.OpenForReading(path);
            bytes = new byte[Math.Min(stream.Length, 4 * Size)];
            stream.ReadExactly(bytes);
        }
        catch (FileNotFoundException)
        {
            return null;
        }

        var line = bytes.AsSpan().TrimEnd(" \n"u8);
        if (!AuditChain.HasValidHmac(line, key))
        {
            error = "the head anchor fails its HMAC (edited, or another audit key)";
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(line.ToArray());
            var root = document.RootElement;
            var head = new AuditHead(root.GetProperty("seq").GetInt64(), root.GetProperty("file").GetInt64(), root.GetProperty("hash").GetString()!);
            if (head.Seq < 0 || head.File < 0 || head.Hash.Length != AuditChain.HexLength)
            {
                error = "the head anchor's fields are out of range";
                return null;
            }

            return head;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            error = "the head anchor is malformed: " + e.Message;
            return null;
        }
    }
}
