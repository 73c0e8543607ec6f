using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Audit;

/// <summary>
/// The byte form of audit records and of the chain that links them (docs/audit.md, "Record format"): one JSON object
/// per line, fields in a fixed order, <c>prev</c> = SHA-256 of the previous line, <c>hmac</c> = HMAC-SHA256 of the line
/// closed right after <c>prev</c>. Verification works on the stored bytes, never on a re-serialisation.
/// </summary>
public static class AuditChain
{
    /// <summary>The <c>prev</c> of record 1: 64 zeros.</summary>
    public const string GenesisPrev = "0000000000000000000000000000000000000000000000000000000000000000";

    /// <summary>Length of a hex SHA-256 or HMAC-SHA256.</summary>
    public const int HexLength = 64;

    private static readonly JsonWriterOptions WriterOptions = new() { Indented = false, SkipValidation = false };

    /// <summary>Every line ends with this, then the 64 hex digits of the HMAC, then <see cref="HmacSuffix"/>.</summary>
    private static ReadOnlySpan<byte> HmacPrefix => ",\"hmac\":\""u8;

    private static ReadOnlySpan<byte> HmacSuffix => "\"}"u8;

    /// <summary>Bytes of the trailing hmac member: <c>,"hmac":"</c> + 64 hex + <c>"}</c>.</summary>
    public static int HmacMemberLength => HmacPrefix.Length + HexLength + HmacSuffix.Length;

    /// <summary>
    /// Encodes record <paramref name="seq"/> (one line, without the newline): fields in the fixed order, nulls omitted,
    /// the HMAC computed with <paramref name="key"/> over the object closed after <c>prev</c>.
    /// </summary>
    public static byte[] Encode(long seq, DateTimeOffset time, AuditEvent auditEvent, string prev, AuditKey key)
    {
        ArgumentNullException.ThrowIfNull(auditEvent);
        ArgumentNullException.ThrowIfNull(prev);
        ArgumentNullException.ThrowIfNull(key);
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteNumber("seq", seq);
            json.WriteString("time", UtcTimestamp.Text(time));
            json.WriteString("action", auditEvent.Action);
            json.WriteString("outcome", auditEvent.Outcome);
            json.WriteStartObject("actor");
            WriteIfSet(json, "user", auditEvent.Actor.User);
            WriteIfSet(json, "token", auditEvent.Actor.TokenId);
            WriteIfSet(json, "peer", auditEvent.Actor.Peer);
            WriteIfSet(json, "address", auditEvent.Actor.Address);
            json.WriteEndObject();
            WriteIfSet(json, "path", auditEvent.Path);
            if (auditEvent.Size is { } size)
            {
                json.WriteNumber("size", size);
            }

            WriteIfSet(json, "digest", auditEvent.Digest);
            WriteIfSet(json, "correlationId", auditEvent.CorrelationId);
            WriteIfSet(json, "detail", auditEvent.Detail);
            json.WriteString("prev", prev);
            json.WriteEndObject();
        }

        // buffer = {…,"prev":"…"}: exactly the bytes the HMAC covers.
        return Seal(buffer.WrittenSpan, key);
    }

    /// <summary>
    /// Appends the hmac member to a JSON object: <paramref name="signed"/> is the object without it (ending in <c>}</c>);
    /// the result is the same object with <c>,"hmac":"…"</c> before the closing brace.
    /// </summary>
    internal static byte[] Seal(ReadOnlySpan<byte> signed, AuditKey key)
    {
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        key.Mac(signed, mac);
        var line = new byte[signed.Length - 1 + HmacMemberLength];
        signed[..^1].CopyTo(line);
        var rest = line.AsSpan(signed.Length - 1);
        HmacPrefix.CopyTo(rest);
        WriteHexLower(mac, rest[HmacPrefix.Length..]);
        HmacSuffix.CopyTo(rest[(HmacPrefix.Length + HexLength)..]);
        return line;
    }

    /// <summary>
    /// True when <paramref name="line"/> ends with a well-formed hmac member and that HMAC matches the line's bytes
    /// before it (with <c>}</c> in its place).
    /// </summary>
    public static bool HasValidHmac(ReadOnlySpan<byte> line, AuditKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        Span<byte> stored = stackalloc byte[HMACSHA256.HashSizeInBytes];
        if (!TryGetHmac(line, stored))
        {
            return false;
        }

        var bodyLength = line.Length - HmacMemberLength;
        var rented = ArrayPool<byte>.Shared.Rent(bodyLength + 1);
        try
        {
            line[..bodyLength].CopyTo(rented);
            rented[bodyLength] = (byte)'}';
            Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
            key.Mac(rented.AsSpan(0, bodyLength + 1), mac);
            return CryptographicOperations.FixedTimeEquals(mac, stored);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Lower-case hex SHA-256 of <paramref name="line"/>: the next record's <c>prev</c>.</summary>
    public static string Hash(ReadOnlySpan<byte> line)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(line, hash);
        return Convert.ToHexStringLower(hash);
    }

    private static bool TryGetHmac(ReadOnlySpan<byte> line, Span<byte> mac)
    {
        if (line.Length < HmacMemberLength + 2 || !line.EndsWith(HmacSuffix))
        {
            return false;
        }

        var member = line[^HmacMemberLength..];
        if (!member.StartsWith(HmacPrefix))
        {
            return false;
        }

        var hex = member.Slice(HmacPrefix.Length, HexLength);
        for (var i = 0; i < mac.Length; i++)
        {
            if (HexValue(hex[2 * i]) is not { } high || HexValue(hex[(2 * i) + 1]) is not { } low)
            {
                return false;
            }

            mac[i] = (byte)((high << 4) | low);
        }

        return true;
    }

    /// <summary>The value of a lower-case hex digit; upper case is not canonical and so not accepted.</summary>
    private static int? HexValue(byte digit) => digit switch
    {
        >= (byte)'0' and <= (byte)'9' => digit - '0',
        >= (byte)'a' and <= (byte)'f' => digit - 'a' + 10,
        _ => null,
    };

    private static void WriteHexLower(ReadOnlySpan<byte> bytes, Span<byte> destination)
    {
        const string Digits = "0123456789abcdef";
        for (var i = 0; i < bytes.Length; i++)
        {
            destination[2 * i] = (byte)Digits[bytes[i] >> 4];
            destination[(2 * i) + 1] = (byte)Digits[bytes[i] & 0xF];
        }
    }

    private static void WriteIfSet(Utf8JsonWriter json, string name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
    }
}
