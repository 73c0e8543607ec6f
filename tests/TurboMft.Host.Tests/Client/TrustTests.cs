using TurboMft.Engine.Client;
using TurboMft.Host.Tests.Cli;
using TurboMft.Host.Tests.Server;

namespace TurboMft.Host.Tests.Client;

/// <summary>TLS trust against the real server: pin, CA file, system trust; a refused certificate fails in the handshake.</summary>
public sealed class TrustTests
{
    private const string WrongPin = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

    [Fact]
    public async Task The_right_pin_or_the_server_certificate_as_ca_connects()
    {
        await using var server = await ServerFixture.StartAsync();

        using var pinned = new TurboMftClient(Options(server) with { PinSha256 = server.Server.Fingerprint });
        using var ca = new TurboMftClient(Options(server) with { CaCertificatePath = server.Data.CertificatePath });

        Assert.Equal(System.Text.Json.JsonValueKind.Object, (await pinned.InfoAsync(TestContext.Current.CancellationToken)).ValueKind);
        Assert.Equal(System.Text.Json.JsonValueKind.Object, (await ca.InfoAsync(TestContext.Current.CancellationToken)).ValueKind);
    }

    [Fact]
    public async Task A_wrong_pin_fails_in_the_handshake_naming_both_fingerprints_and_sends_nothing()
    {
        await using var server = await ServerFixture.StartAsync();
        var file = Path.Combine(server.Scratch, "a.bin");
        await File.WriteAllBytesAsync(file, new byte[3 << 20], TestContext.Current.CancellationToken);
        var resume = Path.Combine(server.Scratch, "resume");
        using var client = new TurboMftClient(Options(server) with { PinSha256 = WrongPin, ResumeDirectory = resume });

        var error = await Assert.ThrowsAsync<ServerTrustException>(() => client.UploadFileAsync(file, "/in/a.bin", null, TestContext.Current.CancellationToken));

        Assert.Contains(server.Server.Fingerprint, error.Message, StringComparison.Ordinal);
        Assert.Contains(WrongPin, error.Message, StringComparison.Ordinal);
        Assert.Contains("Nothing was sent", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(resume)); // the session was never opened, so no resume record either
    }

    [Fact]
    public async Task Without_pin_or_ca_a_self_signed_server_is_refused()
    {
        await using var server = await ServerFixture.StartAsync();
        using var client = new TurboMftClient(Options(server));

        var error = await Assert.ThrowsAsync<ServerTrustException>(() => client.InfoAsync(TestContext.Current.CancellationToken));

        Assert.Contains("--pin", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_cli_reports_a_wrong_pin_in_one_line_and_exits_1()
    {
        await using var server = await ServerFixture.StartAsync();
        var tokenFile = Path.Combine(server.Scratch, "token");
        await File.WriteAllTextAsync(tokenFile, server.Token, TestContext.Current.CancellationToken);

        var run = await TurboMftProcess.RunAsync("ls", "--pin", WrongPin, "--token-file", tokenFile, new Uri(server.Address, "/in/").ToString());

        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("turbomft: error: Refused the TLS connection", run.Error, StringComparison.Ordinal);
        Assert.Single(run.Error.Trim().Split('\n'));
    }

    private static TurboMftClientOptions Options(ServerFixture server) => new()
    {
        BaseAddress = server.Address,
        Token = server.Token,
        Retry = RetryPolicy.None,
    };
}
