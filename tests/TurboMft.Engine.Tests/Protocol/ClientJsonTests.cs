using System.Text.Json;
using TurboMft.Engine.Protocol;

namespace TurboMft.Engine.Tests.Protocol;

/// <summary>
/// The bodies the client writes, pinned as it wrote them before they moved to src/Engine/Protocol, and answers of other
/// server versions it still reads (docs/protocol.md).
/// </summary>
public sealed class ClientJsonTests
{
    private const string Digest = "sha256-tree:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    [Fact]
    public void Opening_an_upload_omits_an_unknown_digest_and_completing_writes_it_as_null()
    {
        Assert.Equal(
            """{"path":"/in/a.bin","size":10485760,"chunkSize":4194304,"verify":"fast"}""",
            JsonSerializer.Serialize(new OpenUploadRequest("/in/a.bin", 10485760, 4194304, "fast"), ProtocolJson.Options));
        Assert.Equal(
            $$"""{"path":"/r.bin","size":1,"chunkSize":1048576,"verify":"fast","digest":"{{Digest}}"}""",
            JsonSerializer.Serialize(new OpenUploadRequest("/r.bin", 1, 1048576, "fast") { Digest = Digest }, ProtocolJson.Options));
        Assert.Equal("""{"digest":null}""", JsonSerializer.Serialize(new CompleteUploadRequest(null), ProtocolJson.Options));
        Assert.Equal($$"""{"digest":"{{Digest}}"}""", JsonSerializer.Serialize(new CompleteUploadRequest(Digest), ProtocolJson.Options));
    }

    [Fact]
    public void The_client_escapes_strictly_as_it_always_did()
    {
        // System.Text.Json's Web defaults: what the client sent before ProtocolJson named them.
        Assert.Equal("""{"digest":"a\u002Bb\u0026c"}""", JsonSerializer.Serialize(new CompleteUploadRequest("a+b&c"), ProtocolJson.Options));
        Assert.True(ProtocolJson.Options.IsReadOnly);
        Assert.Equal(JsonNamingPolicy.CamelCase, ProtocolJson.Options.PropertyNamingPolicy);
        Assert.True(ProtocolJson.Options.PropertyNameCaseInsensitive);
    }

    [Fact]
    public void A_commit_from_a_server_before_release_states_reads_with_no_state_findings_or_origin()
    {
        var commit = JsonSerializer.Deserialize<CommittedVersion>(
            $$"""{"path":"/a.bin","size":1,"chunkSize":4194304,"digest":"{{Digest}}","versionId":"0192f5c4-7d2e-7a10-8b3c-4d5e6f708192","committedAt":"2026-11-26T10:00:00Z"}""",
            ProtocolJson.Options)!;
        Assert.Equal(("/a.bin", 1L, 4194304, Digest), (commit.Path, commit.Size, commit.ChunkSize, commit.Digest));
        Assert.Equal(Guid.Parse("0192f5c4-7d2e-7a10-8b3c-4d5e6f708192"), commit.VersionId);
        Assert.Null(commit.State);
        Assert.Null(commit.Findings);
        Assert.Null(commit.Origin);
        Assert.Null(commit.Unchanged);
        Assert.Null(commit.Sha256);
    }

    [Fact]
    public void A_listing_from_a_server_before_release_states_lists_released_files_and_is_released_is_not_written()
    {
        var list = JsonSerializer.Deserialize<FileList>($$"""{"files":[{"path":"/a.bin","size":1,"digest":"{{Digest}}","chunkSize":4194304,"committedAt":null}]}""", ProtocolJson.Options)!;
        var file = Assert.Single(list.Files);
        Assert.True(file.IsReleased);
        Assert.Null(file.State);
        Assert.Null(file.Origin);
        Assert.False(new RemoteFile("/b.bin", 1, Digest, 4194304, null, ReleaseStates.Quarantined).IsReleased);
        Assert.DoesNotContain("isReleased", JsonSerializer.Serialize(file, ProtocolJson.Options), StringComparison.Ordinal);
    }

    [Fact]
    public void Info_without_batch_limits_reads_as_a_server_without_batch_upload()
    {
        var info = JsonSerializer.Deserialize<ServerInfo>(
            """{"product":"TurboMft","version":"0.0.9","tls":"1.3","protocols":["http/1.1","h2"],"quic":{"supported":false,"http3":false,"reason":"off"},"cpu":{"model":"x","logicalCores":1,"features":[]},"limits":{"minChunkSize":1048576,"maxChunkSize":67108864,"defaultChunkSize":4194304,"uploadExpiryHours":24}}""",
            ProtocolJson.Options)!;
        Assert.Null(info.Limits.BatchMaxFiles);
        Assert.Null(info.Limits.BatchMaxFileSize);
        Assert.Equal(24, info.Limits.UploadExpiryHours);
    }

    [Fact]
    public void An_audit_record_is_read_and_written_as_its_raw_bytes()
    {
        // Escapes and spacing of the stored object survive both ways: its HMAC is over these bytes.
        const string Stored = """{"seq":1, "path":"/ot/pl\u00e4nt1","detail":"a\u002Bb"}""";
        var page = JsonSerializer.Deserialize<AuditPage>("{\"records\":[" + Stored + "]}", ProtocolJson.Options)!;
        Assert.Equal(Stored, Assert.Single(page.Records).ToString());
        Assert.Null(page.Next);
        Assert.Equal("{\"records\":[" + Stored + "]}", JsonSerializer.Serialize(page, ProtocolJson.Options));
    }
}
