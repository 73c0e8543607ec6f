using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using TurboMft.Engine.Native;

namespace TurboMft.Host.Infrastructure;

/// <summary>The server's TLS certificate: a self-signed ECDSA P-256 certificate made at first start, or one the operator put in place.</summary>
public static class TlsCertificate
{
    /// <summary>Creates a self-signed certificate for localhost, 127.0.0.1, ::1 and this host's name; key written 0600.</summary>
    public static void CreateSelfSigned(string certificatePath, string keyPath)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={Environment.MachineName}, O=TurboMft", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddDnsName(Environment.MachineName);
        names.AddIpAddress(IPAddress.Loopback);
        names.AddIpAddress(IPAddress.IPv6Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(2));
        WritePair(certificate, key, certificatePath, keyPath);
    }

    /// <summary>
    /// Creates the node's client certificate for replication (docs/replication.md, "Node identity"): self-signed ECDSA P-256,
    /// subject CN = <paramref name="site"/>, EKU clientAuth only, valid ten years; key written 0600. Peers pin its SHA-256.
    /// </summary>
    public static void CreateNodeCertificate(string certificatePath, string keyPath, string site)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(site);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var name = new X500DistinguishedNameBuilder();
        name.AddOrganizationName("TurboMft node");
        name.AddCommonName(site);
        var request = new CertificateRequest(name.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(10));
        WritePair(certificate, key, certificatePath, keyPath);
    }

    private static void WritePair(X509Certificate2 certificate, ECDsa key, string certificatePath, string keyPath)
    {
        using (var keyFile = DurableFileSystem.CreateOwnerOnly(keyPath))
        using (var writer = new StreamWriter(keyFile))
        {
            writer.Write(key.ExportPkcs8PrivateKeyPem());
        }

        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
    }

    /// <summary>Loads the certificate and key; the key file must be owner-only.</summary>
    public static X509Certificate2 Load(string certificatePath, string keyPath)
    {
        if (!OperatingSystem.IsWindows() && !DurableFileSystem.IsOwnerOnly(keyPath))
        {
            throw new IOException($"TLS key '{keyPath}' is readable by other users; run: chmod 600 {keyPath}");
        }

        return X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
    }

    /// <summary>The certificate's SHA-256 fingerprint as <c>sha256:&lt;hex&gt;</c>, the form <c>--pin</c> takes.</summary>
    public static string Fingerprint(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(certificate.RawData));
    }
}
