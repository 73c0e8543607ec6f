using System.Text;
using TurboMft.Host.Audit;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Tests.Audit;

public class AuditChainTests
{
    /// <summary>The vector of docs/audit.md, "Test vector", computed independently (Python hmac/hashlib).</summary>
    private const string Line1 =
        "{\"seq\":1,\"time\":\"2026-11-26T12:00:00.123Z\",\"action\":\"file.upload\",\"outcome\":\"success\",\"actor\":{\"user\":\"alice\",\"token\":\"tok_1\",\"address\":\"192.0.2.7\"},"
        + "\"path\":\"/ot/plant1/export.csv\",\"size\":1048576,\"digest\":\"sha256-tree:00ff\",\"correlationId\":\"0HN1:00000001\","
        + "\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"hmac\":\"5a9602db6e9251c8ef1f62cd4e7cd698f37117e020da40a877664d6779e96b75\"}";

    private const string Line2 =
        "{\"seq\":2,\"time\":\"2026-11-26T12:00:01.000Z\",\"action\":\"file.delete\",\"outcome\":\"denied\",\"actor\":{\"user\":\"bob\",\"address\":\"192.0.2.8\"},"
        + "\"path\":\"/ot/plant1/export.csv\",\"correlationId\":\"0HN1:00000002\","
        + "\"prev\":\"7984b5dc28585dbfacd7916d7440c5958b1ecbf8e6ba7e1605b8d360f56fd26a\",\"hmac\":\"be57364414882a7f38b60a43de2dfd28cea980ec543acb2ca186320f7a0aea80\"}";

    private static AuditKey VectorKey() => AuditKey.FromBytes([.. Enumerable.Range(0, 32).Select(i => (byte)i)]);

    [Fact]
    public void Encode_matches_the_known_answer_vector_byte_for_byte()
    {
        using var key = VectorKey();
        var first = AuditChain.Encode(
            1,
            new DateTimeOffset(2026, 11, 26, 12, 0, 0, 123, TimeSpan.Zero),
            new AuditEvent
            {
                Action = "file.upload",
                Actor = new AuditActor("alice", "tok_1", null, "192.0.2.7"),
                Outcome = AuditOutcome.Success,
                Path = "/ot/plant1/export.csv",
                Size = 1048576,
                Digest = "sha256-tree:00ff",
                CorrelationId = "0HN1:00000001",
            },
            AuditChain.GenesisPrev,
            key);
        Assert.Equal(Line1, Encoding.UTF8.GetString(first));
        Assert.Equal("7984b5dc28585dbfacd7916d7440c5958b1ecbf8e6ba7e1605b8d360f56fd26a", AuditChain.Hash(first));

        // A time with another offset is written in UTC.
        var second = AuditChain.Encode(
            2,
            new DateTimeOffset(2026, 11, 26, 13, 0, 1, TimeSpan.FromHours(1)),
            new AuditEvent
            {
                Action = "file.delete",
                Actor = new AuditActor("bob", null, null, "192.0.2.8"),
                Outcome = AuditOutcome.Denied,
                Path = "/ot/plant1/export.csv",
                CorrelationId = "0HN1:00000002",
            },
            AuditChain.Hash(first),
            key);
        Assert.Equal(Line2, Encoding.UTF8.GetString(second));
    }

    [Fact]
    public void Hmac_check_accepts_the_vector_and_rejects_any_change_or_other_key()
    {
        using var key = VectorKey();
        using var other = AuditKey.Generate();
        var line = Encoding.UTF8.GetBytes(Line1);
        Assert.True(AuditChain.HasValidHmac(line, key));
        Assert.False(AuditChain.HasValidHmac(line, other));
        Assert.False(AuditChain.HasValidHmac(Encoding.UTF8.GetBytes(Line1.Replace("alice", "alicf", StringComparison.Ordinal)), key));
        Assert.False(AuditChain.HasValidHmac(Encoding.UTF8.GetBytes(Line1.Replace("\"hmac\":\"5a", "\"hmac\":\"5A", StringComparison.Ordinal)), key));
        Assert.False(AuditChain.HasValidHmac(Encoding.UTF8.GetBytes(Line1 + " "), key));
        Assert.False(AuditChain.HasValidHmac("{}"u8, key));
    }

    [Fact]
    public void Parse_reads_every_member_and_rejects_lines_missing_one()
    {
        var record = AuditRecord.TryParse(Encoding.UTF8.GetBytes(Line1), out var error);
        Assert.Null(error);
        Assert.NotNull(record);
        Assert.Equal(1, record.Seq);
        Assert.Equal(new DateTimeOffset(2026, 11, 26, 12, 0, 0, 123, TimeSpan.Zero), record.Time);
        Assert.Equal("file.upload", record.Action);
        Assert.Equal(new AuditActor("alice", "tok_1", null, "192.0.2.7"), record.Actor);
        Assert.Equal("/ot/plant1/export.csv", record.Path);
        Assert.Equal(1048576, record.Size);
        Assert.Equal("sha256-tree:00ff", record.Digest);
        Assert.Equal("0HN1:00000001", record.CorrelationId);
        Assert.Null(record.Detail);
        Assert.Equal(AuditChain.GenesisPrev, record.Prev);

        Assert.Null(AuditRecord.TryParse("not json"u8.ToArray(), out error));
        Assert.StartsWith("not JSON", error, StringComparison.Ordinal);
        Assert.Null(AuditRecord.TryParse(Encoding.UTF8.GetBytes(Line1.Replace("\"seq\":1,", string.Empty, StringComparison.Ordinal)), out error));
        Assert.Contains("seq", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Strings_are_escaped_by_the_default_encoder_so_every_line_is_ascii()
    {
        using var key = AuditKey.Generate();
        var line = AuditChain.Encode(
            7,
            DateTimeOffset.UnixEpoch,
            new AuditEvent { Action = "file.upload", Actor = AuditActor.System, Outcome = "success", Path = "/ü/\"x\"\\<y>", Detail = "a\nb" },
            AuditChain.GenesisPrev,
            key);
        Assert.All(line, b => Assert.InRange(b, 0x20, 0x7E));
        var text = Encoding.ASCII.GetString(line);
        Assert.Contains("\"path\":\"/\\u00FC/\\u0022x\\u0022\\\\\\u003Cy\\u003E\"", text, StringComparison.Ordinal);
        Assert.Contains("\"detail\":\"a\\nb\"", text, StringComparison.Ordinal);
        Assert.Equal("/ü/\"x\"\\<y>", AuditRecord.TryParse(line, out _)!.Path);
        Assert.True(AuditChain.HasValidHmac(line, key));
    }
}
