using System.Security.Cryptography.X509Certificates;
using TurboMft.Engine.Client;
using TurboMft.Engine.Native;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Tests.Access;

namespace TurboMft.Host.Tests.Replication;

/// <summary>The node certificate and mTLS between two real nodes: what a peer's certificate may do, and a wrong one refused and audited.</summary>
public sealed class NodeIdentityTests() : ReplicationTestBase("site-a", "site-b")
{
    private ReplicationNode A => Node("site-a");

    private ReplicationNode B => Node("site-b");

    [Fact]
    public async Task A_data_directory_gets_a_private_client_certificate_named_after_the_site_and_info_reports_its_pin()
    {
        var data = DataDirectory.Open(A.DataPath);
        Assert.True(DurableFileSystem.IsOwnerOnly(data.NodeKeyPath));
        using var certificate = X509CertificateLoader.LoadCertificateFromFile(data.NodeCertificatePath);
        Assert.Equal("site-a", certificate.GetNameInfo(X509NameType.SimpleName, false));
        var usage = certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single();
        Assert.Equal(["1.3.6.1.5.5.7.3.2"], usage.EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value));
        Assert.NotEqual(A.Fingerprint, A.NodeFingerprint);

        using var client = A.AdminClient();
        var info = await client.InfoAsync(TestContext.Current.CancellationToken);
        Assert.Equal("site-a", info.GetProperty("site").GetString());
        Assert.Equal(A.NodeFingerprint, info.GetProperty("nodeCertificate").GetString());

        // A restart keeps the certificate: its pin is what peers registered.
        var before = A.NodeFingerprint;
        await A.StopAsync();
        await A.StartAgainAsync();
        Assert.Equal(before, A.NodeFingerprint);
    }

    [Fact]
    public async Task A_node_certificate_authenticates_as_the_peer_and_reaches_only_its_areas()
    {
        var ct = TestContext.Current.CancellationToken;
        await B.AcceptAsync(A, "/inbox/a", "uploader", "downloader");
        var file = Path.Combine(A.DataPath, "part.csv");
        await File.WriteAllTextAsync(file, "t,v\n1,2\n", ct);
        using var peer = new TurboMftClient(new TurboMftClientOptions
        {
            BaseAddress = B.Address,
            PinSha256 = B.Fingerprint,
            ClientCertificate = A.Running.Node.Certificate,
            ResumeDirectory = Path.Combine(A.DataPath, "resume"),
        });

        var pushed = await peer.PushAsync([new TransferItem(file, "/inbox/a/part.csv")], cancellationToken: ct);
        Assert.Equal(1, pushed.Files);
        var outside = await Assert.ThrowsAsync<ServerProblemException>(() => peer.PushAsync([new TransferItem(file, "/inbox/other/part.csv")], cancellationToken: ct));
        Assert.Equal(403, outside.Status);
        using (var admin = B.AdminClient())
        {
            await admin.PushAsync([new TransferItem(file, "/secret/part.csv")], cancellationToken: ct);
        }

        var read = await Assert.ThrowsAsync<ServerProblemException>(() => peer.DownloadFileAsync("/secret/part.csv", Path.Combine(A.DataPath, "stolen.csv"), cancellationToken: ct));
        Assert.Equal(403, read.Status);
        Assert.DoesNotContain(await peer.ListAsync("/", ct), f => f.Path.StartsWith("/secret", StringComparison.Ordinal));

        var audit = B.Audit();
        Assert.Contains(audit, r => r.Action == "file.upload" && r.Actor.Peer == "site-a" && r.Path == "/inbox/a/part.csv");
        Assert.Contains(audit, r => r.Action == "auth.success" && r.Actor.Peer == "site-a" && r.Detail == "client-certificate");
    }

    [Fact]
    public async Task A_peer_presenting_another_certificate_is_refused_and_the_refusal_is_audited()
    {
        var ct = TestContext.Current.CancellationToken;
        await B.AcceptAsync(A, "/inbox/a", "uploader");
        using var impostor = TestCertificates.CreateClient(TestCertificates.CreateCa("other-ca"), "site-a");
        using var client = new TurboMftClient(new TurboMftClientOptions
        {
            BaseAddress = B.Address,
            PinSha256 = B.Fingerprint,
            ClientCertificate = impostor,
            Retry = RetryPolicy.None,
        });

        var refused = await Assert.ThrowsAsync<ServerProblemException>(() => client.ListAsync("/inbox/a", ct));
        Assert.Equal(401, refused.Status);
        Assert.Contains(await B.AuditAsync(), r => r.Action == "auth.failure" && r.Detail == "unknown-certificate"); // appended before the 401 went out
    }
}
