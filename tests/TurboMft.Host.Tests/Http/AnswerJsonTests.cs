using TurboMft.Engine.Protocol;

namespace TurboMft.Host.Tests.Http;

/// <summary>
/// The JSON of every answer typed in src/Engine/Protocol, pinned as the literal text the server wrote before the answers
/// had types (docs/protocol.md): names, order, nulls written, times and states as strings. Each pin also reads back as
/// the client reads it into the same record, and writes again unchanged.
/// </summary>
public sealed class AnswerJsonTests
{
    private const string Digest = "sha256-tree:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private const string Sha = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    private const string At = "2026-11-26T10:00:00.123+00:00";
    private static readonly DateTimeOffset Time = new(2026, 11, 26, 10, 0, 0, 123, TimeSpan.Zero);
    private static readonly Guid VersionId = Guid.Parse("0192f5c4-7d2e-7a10-8b3c-4d5e6f708192");
    private static readonly Provenance Origin = new("site-a", "/in/a+b.bin", Time, Digest, "repl-1");
    private static readonly VerdictView Eicar = new("clamav", "ClamAV 1.4.2/27500", "infected", "Eicar-Signature", null, Time);

    private static readonly string OriginJson = $$"""{"site":"site-a","path":"/in/a+b.bin","time":"{{At}}","digest":"{{Digest}}","correlationId":"repl-1"}""";
    private static readonly string EicarJson = $$"""{"scanner":"clamav","scannerVersion":"ClamAV 1.4.2/27500","outcome":"infected","finding":"Eicar-Signature","detail":null,"scannedAt":"{{At}}"}""";

    [Fact]
    public async Task A_committed_version_writes_every_property_nulls_included()
    {
        var session = new CommittedVersion("/in/a+b.bin", 68, 4194304, Digest, null, VersionId, Time, ReleaseStates.Released, null, null, null);
        var parsed = await AssertPinnedAsync(session, $$"""
            {"path":"/in/a+b.bin","size":68,"chunkSize":4194304,"digest":"{{Digest}}","sha256":null,"versionId":"{{VersionId}}","committedAt":"{{At}}","state":"released","findings":null,"origin":null,"unchanged":null}
            """);
        Assert.Equal((session.VersionId, session.CommittedAt, session.Origin, session.Findings), (parsed.VersionId, parsed.CommittedAt, parsed.Origin, parsed.Findings));

        var replica = new CommittedVersion("/in/a+b.bin", 68, 4194304, Digest, Sha, VersionId, Time, ReleaseStates.Quarantined, [Eicar], Origin, true);
        parsed = await AssertPinnedAsync(replica, $$"""
            {"path":"/in/a+b.bin","size":68,"chunkSize":4194304,"digest":"{{Digest}}","sha256":"{{Sha}}","versionId":"{{VersionId}}","committedAt":"{{At}}","state":"quarantined","findings":[{{EicarJson}}],"origin":{{OriginJson}},"unchanged":true}
            """);
        Assert.Equal(Origin, parsed.Origin);
        Assert.Equal(Eicar, Assert.Single(parsed.Findings!));
        Assert.True(parsed.Unchanged);
    }

    [Fact]
    public async Task A_batch_answer_is_its_files_in_order()
    {
        var file = new CommittedVersion("/in/a+b.bin", 68, 4194304, Digest, Sha, VersionId, Time, ReleaseStates.PendingScan, null, null, null);
        var parsed = await AssertPinnedAsync(new CommittedBatch([file]), $$"""
            {"files":[{"path":"/in/a+b.bin","size":68,"chunkSize":4194304,"digest":"{{Digest}}","sha256":"{{Sha}}","versionId":"{{VersionId}}","committedAt":"{{At}}","state":"pending-scan","findings":null,"origin":null,"unchanged":null}]}
            """);
        Assert.Equal(file, Assert.Single(parsed.Files));
        await AssertPinnedAsync(new CommittedBatch([]), """{"files":[]}""");
    }

    [Fact]
    public async Task An_upload_status_and_a_stored_chunk_keep_their_shapes()
    {
        var parsed = await AssertPinnedAsync(new UploadStatus(VersionId, "/in/big.bin", 10485760, 4194304, 3, "fast", "open", Time, [0, 2]), $$"""
            {"id":"{{VersionId}}","path":"/in/big.bin","size":10485760,"chunkSize":4194304,"chunkCount":3,"verify":"fast","state":"open","expiresAt":"{{At}}","received":[0,2]}
            """);
        Assert.Equal(new long[] { 0, 2 }, parsed.Received);
        Assert.Equal(VersionId, parsed.Id);
        await AssertPinnedAsync(new UploadStatus(VersionId, "/in/big.bin", 10485760, 4194304, 3, "sha256", "open", Time, []), $$"""
            {"id":"{{VersionId}}","path":"/in/big.bin","size":10485760,"chunkSize":4194304,"chunkCount":3,"verify":"sha256","state":"open","expiresAt":"{{At}}","received":[]}
            """);
        await AssertPinnedAsync(new StoredChunk(7, 1203344, ProtocolHeaders.Lz4BlockCoding), """{"index":7,"storedLength":1203344,"encoding":"lz4-block"}""");
    }

    [Fact]
    public async Task The_info_document_keeps_its_nesting_and_numbers()
    {
        var limits = new ServerLimits(1 << 20, 64 << 20, 4 << 20, 24, 240, 10, 4096, 4 << 20);
        const string LimitsJson = """{"minChunkSize":1048576,"maxChunkSize":67108864,"defaultChunkSize":4194304,"uploadExpiryHours":24,"minRequestBodyBytesPerSecond":240,"minRequestBodyGraceSeconds":10,"batchMaxFiles":4096,"batchMaxFileSize":4194304}""";
        var cpu = new CpuDescription("AMD EPYC 7B13", 2, ["avx2", "sha"]);
        var parsed = await AssertPinnedAsync(new ServerInfo("TurboMft", "0.1.0+abc", "1.3", "site-a", Sha, ["http/1.1", "h2", "h3"], new QuicSupport(true, true, null), cpu, limits), $$"""
            {"product":"TurboMft","version":"0.1.0+abc","tls":"1.3","site":"site-a","nodeCertificate":"{{Sha}}","protocols":["http/1.1","h2","h3"],"quic":{"supported":true,"http3":true,"reason":null},"cpu":{"model":"AMD EPYC 7B13","logicalCores":2,"features":["avx2","sha"]},"limits":{{LimitsJson}}}
            """);
        Assert.Equal(limits, parsed.Limits);
        await AssertPinnedAsync(new ServerInfo("TurboMft", "0.1.0+abc", "1.3", "site-a", Sha, ["http/1.1", "h2"], new QuicSupport(false, false, "libmsquic is not installed on this host; HTTP/3 is off"), cpu, limits), $$"""
            {"product":"TurboMft","version":"0.1.0+abc","tls":"1.3","site":"site-a","nodeCertificate":"{{Sha}}","protocols":["http/1.1","h2"],"quic":{"supported":false,"http3":false,"reason":"libmsquic is not installed on this host; HTTP/3 is off"},"cpu":{"model":"AMD EPYC 7B13","logicalCores":2,"features":["avx2","sha"]},"limits":{{LimitsJson}}}
            """);
    }

    [Fact]
    public async Task A_listing_writes_origin_null_or_the_provenance_and_never_is_released()
    {
        var parsed = await AssertPinnedAsync(
            new FileList([new RemoteFile("/a/b/c.bin", 1, Digest, 4194304, Time, ReleaseStates.Released, null), new RemoteFile("/a/b/d.bin", 1, Digest, 4194304, Time, ReleaseStates.PendingApproval, Origin)]),
            $$"""
            {"files":[{"path":"/a/b/c.bin","size":1,"digest":"{{Digest}}","chunkSize":4194304,"committedAt":"{{At}}","state":"released","origin":null},{"path":"/a/b/d.bin","size":1,"digest":"{{Digest}}","chunkSize":4194304,"committedAt":"{{At}}","state":"pending-approval","origin":{{OriginJson}}}]}
            """);
        Assert.Equal(new[] { true, false }, parsed.Files.Select(f => f.IsReleased));
        Assert.Equal(Origin, parsed.Files[1].Origin);
        await AssertPinnedAsync(new FileList([]), """{"files":[]}""");
    }

    [Fact]
    public async Task Administration_answers_keep_their_shapes()
    {
        await AssertPinnedAsync(new UserList([new UserView("alice", true, true, Time, "local", [new RoleAssignmentView("uploader", "/ot/plant1")])]), $$"""
            {"users":[{"name":"alice","enabled":true,"hasPassword":true,"createdAt":"{{At}}","source":"local","roles":[{"role":"uploader","area":"/ot/plant1"}]}]}
            """);
        await AssertPinnedAsync(
            new TokenList([new TokenView("tok_abcdefghijkl", "alice", "ci", Time, Time.AddHours(12), null, Time, "list,write", ["/ot/plant1/inbox"]), new TokenView("tok_b", "bob", null, Time, null, null, null, "all", null)]),
            $$"""
            {"tokens":[{"id":"tok_abcdefghijkl","user":"alice","label":"ci","createdAt":"{{At}}","expiresAt":"2026-11-26T22:00:00.123+00:00","revokedAt":null,"lastUsedAt":"{{At}}","permissions":"list,write","areas":["/ot/plant1/inbox"]},{"id":"tok_b","user":"bob","label":null,"createdAt":"{{At}}","expiresAt":null,"revokedAt":null,"lastUsedAt":null,"permissions":"all","areas":null}]}
            """);
        var issued = await AssertPinnedAsync(new IssuedTokenView("tok_abcdefghijkl", "tmf_secret", "alice", Time.AddHours(12)), """
            {"id":"tok_abcdefghijkl","token":"tmf_secret","user":"alice","expiresAt":"2026-11-26T22:00:00.123+00:00"}
            """);
        Assert.Equal("tmf_secret", issued.Token);
        await AssertPinnedAsync(new IssuedTokenView("tok_abcdefghijkl", "tmf_secret", "alice", null), """{"id":"tok_abcdefghijkl","token":"tmf_secret","user":"alice","expiresAt":null}""");
        await AssertPinnedAsync(new RoleList([new RoleView("uploader", "list,write", true, "builtin")]), """
            {"roles":[{"name":"uploader","permissions":"list,write","builtIn":true,"source":"builtin"}]}
            """);
        await AssertPinnedAsync(new GrantList([new GrantView("uploader", "alice", null, "/ot/plant1", "local")]), """
            {"grants":[{"role":"uploader","user":"alice","peer":null,"area":"/ot/plant1","source":"local"}]}
            """);
        await AssertPinnedAsync(
            new PeerList([new PeerView("site-b", Sha, null, true, Time, "local", [], "https://dmz:8443/", Sha, null, "mtls"), new PeerView("site-c", null, "site-c.example", false, Time, "policy", [new RoleAssignmentView("replica", "/")])]),
            $$"""
            {"peers":[{"name":"site-b","fingerprint":"{{Sha}}","commonName":null,"enabled":true,"createdAt":"{{At}}","source":"local","roles":[],"url":"https://dmz:8443/","serverPin":"{{Sha}}","serverCa":null,"credential":"mtls"},{"name":"site-c","fingerprint":null,"commonName":"site-c.example","enabled":false,"createdAt":"{{At}}","source":"policy","roles":[{"role":"replica","area":"/"}],"url":null,"serverPin":null,"serverCa":null,"credential":null}]}
            """);
        await AssertPinnedAsync(new NotificationTestResult("inc-1", "0HN1:00000001", [new NotificationChannelOutcome("webhook", "delivered", "HTTP 200 after 1 attempt")]), """
            {"incidentId":"inc-1","correlationId":"0HN1:00000001","channels":[{"channel":"webhook","status":"delivered","detail":"HTTP 200 after 1 attempt"}]}
            """);
        await AssertPinnedAsync(new NotificationTestResult(null, "0HN1:00000001", []), """{"incidentId":null,"correlationId":"0HN1:00000001","channels":[]}""");
    }

    [Fact]
    public async Task Release_and_replication_answers_keep_their_shapes()
    {
        var held = new HeldVersionView(VersionId, "/in/x.exe", 68, Digest, ReleaseStates.Quarantined, "alice", Time, true, null, [Eicar], null);
        var decided = held with
        {
            State = ReleaseStates.Released,
            Current = false,
            UploadedBy = "peer:site-b",
            ApprovalExpiresAt = Time,
            Verdicts = [],
            Decision = new DecisionView("released-from-quarantine", "admin", "false positive", Time),
        };
        var parsed = await AssertPinnedAsync(new HeldVersionList([held, decided]), $$$"""
            {"versions":[{"versionId":"{{{VersionId}}}","path":"/in/x.exe","size":68,"digest":"{{{Digest}}}","state":"quarantined","uploadedBy":"alice","committedAt":"{{{At}}}","current":true,"approvalExpiresAt":null,"verdicts":[{{{EicarJson}}}],"decision":null},{"versionId":"{{{VersionId}}}","path":"/in/x.exe","size":68,"digest":"{{{Digest}}}","state":"released","uploadedBy":"peer:site-b","committedAt":"{{{At}}}","current":false,"approvalExpiresAt":"{{{At}}}","verdicts":[],"decision":{"decision":"released-from-quarantine","by":"admin","reason":"false positive","at":"{{{At}}}"}}]}
            """);
        Assert.Equal(decided.Decision, parsed.Versions[1].Decision);

        await AssertPinnedAsync(new ReplicationRuleList([new ReplicationRuleView("to-dmz", "/historian", "dmz", "push", "/plant1/historian", false, 0, 0, [], ["*.tmp"], true, Time)]), $$"""
            {"rules":[{"name":"to-dmz","area":"/historian","peer":"dmz","mode":"push","target":"/plant1/historian","propagateDeletes":false,"intervalSeconds":0,"bandwidthBytesPerSecond":0,"include":[],"exclude":["*.tmp"],"enabled":true,"createdAt":"{{At}}"}]}
            """);
        var status = await AssertPinnedAsync(new ReplicationStatus("site-a", [new ReplicationPeerStatus("dmz", 3, 1, 12.5, "connection refused", 1048576.25, 10, 2, 0)]), """
            {"site":"site-a","peers":[{"peer":"dmz","backlog":3,"running":1,"oldestPendingSeconds":12.5,"lastError":"connection refused","bytesPerSecond":1048576.25,"done":10,"skipped":2,"failedPermanent":0}]}
            """);
        Assert.Equal(new ReplicationPeerStatus("dmz", 3, 1, 12.5, "connection refused", 1048576.25, 10, 2, 0), Assert.Single(status.Peers));
    }

    /// <summary>The server writes <paramref name="value"/> as <paramref name="expected"/>, and the client reads that back.</summary>
    private static async Task<T> AssertPinnedAsync<T>(T value, string expected)
    {
        Assert.Equal(expected, await ServerJson.WriteAsync(value));
        return await ServerJson.AssertRoundTripAsync<T>(expected);
    }
}
