using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace TurboMft.Engine.Protocol;

/// <summary>
/// Answer of <c>GET /v1/audit</c> (docs/protocol.md, "Other"; docs/audit.md, "Query endpoint"): records in seq order, and
/// the query of the next page when more match (omitted, not null, on the last page).
/// </summary>
/// <param name="Records">The records, each as stored.</param>
/// <param name="Next">The next page's path and query, or null.</param>
public sealed record AuditPage(IReadOnlyList<StoredAuditRecord> Records, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Next);

/// <summary>
/// One audit record as the log stores it (docs/audit.md, "Query endpoint"): its JSON object byte for byte, written and read
/// without re-encoding, so that its HMAC still verifies.
/// </summary>
[JsonConverter(typeof(StoredAuditRecordConverter))]
public sealed class StoredAuditRecord(ReadOnlyMemory<byte> utf8Json)
{
    /// <summary>The record's JSON object, UTF-8.</summary>
    public ReadOnlyMemory<byte> Utf8Json { get; } = utf8Json;

    /// <inheritdoc />
    public override string ToString() => Encoding.UTF8.GetString(Utf8Json.Span);
}

/// <summary>Writes a <see cref="StoredAuditRecord"/> as its raw bytes and reads one as the raw text of a JSON value.</summary>
internal sealed class StoredAuditRecordConverter : JsonConverter<StoredAuditRecord>
{
    public override StoredAuditRecord Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var document = JsonDocument.ParseValue(ref reader);
        return new StoredAuditRecord(Encoding.UTF8.GetBytes(document.RootElement.GetRawText()));
    }

    // The stored line was validated when the log read it; skipping the check keeps a page of 10,000 records cheap.
    public override void Write(Utf8JsonWriter writer, StoredAuditRecord value, JsonSerializerOptions options) =>
        writer.WriteRawValue(value.Utf8Json.Span, skipInputValidation: true);
}
