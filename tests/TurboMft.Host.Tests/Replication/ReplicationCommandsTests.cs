using System.Text.Json;
using TurboMft.Host.Audit;
using TurboMft.Host.Cli;

namespace TurboMft.Host.Tests.Replication;

/// <summary><c>turbomft peer add --url</c> and <c>turbomft replication rule|status</c> against a running node.</summary>
public sealed class ReplicationCommandsTests() : ReplicationTestBase("site-a", "site-b")
{
    private ReplicationNode A => Node("site-a");

    private ReplicationNode B => Node("site-b");

    [Fact]
    public async Task Peers_and_rules_are_managed_and_status_is_shown_from_the_command_line()
    {
        var tokenFile = Path.Combine(A.DataPath, "admin.token");
        string[] target = ["--server", A.Address.ToString().TrimEnd('/'), "--pin", A.Fingerprint, "--token-file", tokenFile];
        var peer = await RunAsync(["peer", "add", "site-b", "--url", B.Address.ToString().TrimEnd('/'), "--server-pin", B.Fingerprint, .. target]);
        Assert.Equal((0, $"added peer site-b (outbound {B.Address} by mtls)\n"), (peer.ExitCode, peer.Output));

        var add = await RunAsync(["replication", "rule", "add", "to-b", "--area", "/plant", "--peer", "site-b", "--target", "/dr", "--interval", "15m", "--bandwidth", "50MiB", "--exclude", "*.tmp", .. target]);
        Assert.Equal(0, add.ExitCode);
        Assert.Equal("added rule to-b: push /plant to site-b:/dr, every 900s, at most 50 MiB/s\n", add.Output);

        var list = await RunAsync(["replication", "rule", "list", "--json", .. target]);
        using (var json = JsonDocument.Parse(list.Output))
        {
            var rule = json.RootElement.GetProperty("rules").EnumerateArray().Single();
            Assert.Equal("/dr", rule.GetProperty("target").GetString());
            Assert.Equal(50L * 1024 * 1024, rule.GetProperty("bandwidthBytesPerSecond").GetInt64());
            Assert.Equal("*.tmp", rule.GetProperty("exclude")[0].GetString());
        }

        var status = await RunAsync(["replication", "status", .. target]);
        Assert.Equal(0, status.ExitCode);
        Assert.StartsWith("site site-a\nPEER", status.Output, StringComparison.Ordinal);
        Assert.Contains("site-b", status.Output, StringComparison.Ordinal);

        var unknownPeer = await RunAsync(["replication", "rule", "add", "to-x", "--area", "/plant", "--peer", "site-x", .. target]);
        Assert.Equal(1, unknownPeer.ExitCode);
        Assert.Contains("invalid-request", unknownPeer.Error, StringComparison.Ordinal);

        var remove = await RunAsync(["replication", "rule", "remove", "to-b", .. target]);
        Assert.Equal((0, "removed rule to-b\n"), (remove.ExitCode, remove.Output));
        var gone = await RunAsync(["replication", "rule", "remove", "to-b", .. target]);
        Assert.Equal(1, gone.ExitCode);
        Assert.Contains("rule-not-found", gone.Error, StringComparison.Ordinal);

        var peers = await RunAsync(["peer", "list", .. target]);
        Assert.Contains($"{B.Address} (mtls, pin)", peers.Output, StringComparison.Ordinal);
        var audit = await A.AuditAsync(); // both were appended before the commands were answered
        Assert.Contains(audit, r => r.Action == "replication.rule.add" && r.Actor.User == "admin");
        Assert.Contains(audit, r => r.Action == "replication.rule.remove");
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await TurboMftCommand.RunAsync(args, new AdminCliContext(output, error, new StringReader(string.Empty), InputIsTerminal: false, (_, _) => ValueTask.FromResult<IAuditTrail>(new Access.RecordingAuditTrail())));
        return (code, output.ToString().ReplaceLineEndings("\n"), error.ToString().ReplaceLineEndings("\n"));
    }
}
