using System.Security.Cryptography.X509Certificates;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Replication;

/// <summary>
/// This node as peers see it: its site name (the provenance origin of what it replicates) and its client certificate,
/// presented over mTLS when it connects to a peer (docs/replication.md, "Node identity").
/// </summary>
public sealed class NodeIdentity : IDisposable
{
    /// <summary>Longest site name.</summary>
    public const int MaxSiteLength = 64;

    /// <summary>Wraps a loaded certificate; takes ownership of it.</summary>
    public NodeIdentity(string site, X509Certificate2 certificate)
    {
        Site = ValidateSite(site);
        Certificate = certificate ?? throw new ArgumentNullException(nameof(certificate));
        Fingerprint = TlsCertificate.Fingerprint(certificate);
    }

    /// <summary>The site name.</summary>
    public string Site { get; }

    /// <summary>The node certificate with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The certificate's pin, <c>sha256:HEX</c>: what a peer registers with <c>turbomft peer add --fingerprint</c>.</summary>
    public string Fingerprint { get; }

    /// <summary>
    /// Checks a site name: 1 to 64 characters of letters, digits, '.', '-' and '_' (it travels in an HTTP header and in
    /// audit records).
    /// </summary>
    /// <exception cref="ArgumentException">The name does not fit.</exception>
    public static string ValidateSite(string? site) =>
        !string.IsNullOrEmpty(site) && site.Length <= MaxSiteLength && site.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_')
            ? site
            : throw new ArgumentException($"Site '{site}' is not a site name: 1 to {MaxSiteLength} letters, digits, '.', '-' or '_'.");

    /// <inheritdoc />
    public void Dispose() => Certificate.Dispose();
}
