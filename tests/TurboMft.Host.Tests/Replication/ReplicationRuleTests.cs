using Microsoft.Data.Sqlite;
using TurboMft.Engine.Storage;
using TurboMft.Host.Access;
using TurboMft.Host.Replication;

namespace TurboMft.Host.Tests.Replication;

/// <summary>Rules' coverage and path mapping, glob patterns, and the sealed peer token.</summary>
public sealed class ReplicationRuleTests
{
    [Theory]
    [InlineData("/plant/a.csv", true, "/dr/plant/a.csv")]
    [InlineData("/plant/deep/x/b.csv", true, "/dr/plant/deep/x/b.csv")]
    [InlineData("/plant/scratch.tmp", false, null)]
    [InlineData("/plant/deep/keep/c.tmp", false, null)]
    [InlineData("/plant/a.bin", false, null)]
    [InlineData("/plantation/a.csv", false, null)]
    [InlineData("/other/a.csv", false, null)]
    public void A_rule_covers_paths_under_its_area_that_pass_its_patterns_and_maps_them_under_its_target(string path, bool covered, string? target)
    {
        var rule = new ReplicationRule("r", RemotePath.Parse("/plant"), "b", ReplicationMode.Push, RemotePath.Parse("/dr/plant"), false, null, 0, ["*.csv", "*.tmp"], ["*.tmp"], true, DateTimeOffset.UnixEpoch);
        Assert.Equal(covered, rule.Covers(path));
        if (target is not null)
        {
            Assert.Equal(target, rule.MapToTarget(path));
        }
    }

    [Theory]
    [InlineData("*.csv", "a/b/c.csv", true)]
    [InlineData("a/*.csv", "a/c.csv", true)]
    [InlineData("a/*.csv", "a/b/c.csv", false)]
    [InlineData("a/**/c.csv", "a/b/d/c.csv", true)]
    [InlineData("daily-??.csv", "x/daily-07.csv", true)]
    [InlineData("daily-??.csv", "x/daily-7.csv", false)]
    [InlineData("a+b(1).csv", "a+b(1).csv", true)]
    public void Globs_match_names_or_relative_paths(string pattern, string relative, bool matches) =>
        Assert.Equal(matches, PathGlob.Matches(pattern, relative));

    [Fact]
    public void A_root_area_maps_every_path_and_root_target_keeps_paths()
    {
        var rule = new ReplicationRule("r", RemotePath.Root, "b", ReplicationMode.Push, RemotePath.Root, false, null, 0, [], [], true, DateTimeOffset.UnixEpoch);
        Assert.True(rule.Covers("/x/y.csv"));
        Assert.Equal("/x/y.csv", rule.MapToTarget("/x/y.csv"));
    }

    [Fact]
    public async Task A_peer_token_is_stored_sealed_opens_only_for_its_peer_and_never_appears_in_clear()
    {
        var root = Directory.CreateTempSubdirectory("tmf-peer-token-").FullName;
        try
        {
            var data = TurboMft.Host.Infrastructure.DataDirectory.Open(root);
            using var keys = data.LoadKeyRing();
            var audit = new Access.RecordingAuditTrail();
            await using var store = await SqliteAccessStore.OpenAsync(data);
            var api = new AccessAdminApi(new AccessAdministration(store, audit), new PeerSecrets(keys));
            const string Token = "tmf_peer-secret-token-value-0123456789";
            var view = await api.AddPeerAsync(AdminCaller.System, new Engine.Protocol.AddPeerRequest("dr", Url: "https://dr.example:8443", ServerPin: "sha256:" + new string('a', 64), Token: Token));
            Assert.Equal("token", view.Credential);

            var outbound = await store.GetOutboundPeerAsync("dr");
            Assert.NotNull(outbound?.SealedToken);
            Assert.Equal(Token, new PeerSecrets(keys).Open("dr", outbound.SealedToken));
            Assert.ThrowsAny<System.Security.Cryptography.CryptographicException>(() => { _ = new PeerSecrets(keys).Open("other", outbound.SealedToken); });
            Assert.DoesNotContain(Token, outbound.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain(audit.Events, e => e.ToString().Contains(Token, StringComparison.Ordinal));

            SqliteConnection.ClearAllPools();
            foreach (var file in Directory.GetFiles(root, "access.db*"))
            {
                var bytes = await File.ReadAllBytesAsync(file);
                Assert.Equal(-1, bytes.AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(Token)));
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
