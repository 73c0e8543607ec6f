using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TurboMft.Engine.Client;

/// <summary>A server certificate pin: the SHA-256 of the certificate's DER, written <c>sha256:&lt;64 hex digits&gt;</c>.</summary>
public sealed class CertificatePin
{
    /// <summary>The textual prefix of a pin.</summary>
    public const string Prefix = "sha256:";

    private readonly byte[] _sha256;

    private CertificatePin(byte[] sha256) => _sha256 = sha256;

    /// <summary>The canonical text form, <c>sha256:&lt;lowercase hex&gt;</c>.</summary>
    public override string ToString() => Prefix + Convert.ToHexStringLower(_sha256);

    /// <summary>Parses <c>sha256:&lt;hex&gt;</c>; colons between hex pairs (as openssl prints them) and upper case are accepted.</summary>
    public static CertificatePin Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        if (!trimmed.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            throw new FormatException($"'{text}' is not a certificate pin; write sha256:<64 hex digits> as printed by 'turbomft serve'.");
        }

        var hex = trimmed[Prefix.Length..].Replace(":", string.Empty, StringComparison.Ordinal);
        var bytes = new byte[SHA256.HashSizeInBytes];
        if (hex.Length != 64 || Convert.FromHexString(hex, bytes, out _, out var written) != System.Buffers.OperationStatus.Done || written != bytes.Length)
        {
            throw new FormatException($"'{text}' is not a certificate pin; after 'sha256:' come exactly 64 hex digits.");
        }

        return new CertificatePin(bytes);
    }

    /// <summary>The pin of a certificate.</summary>
    public static CertificatePin Of(X509Certificate certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return new CertificatePin(SHA256.HashData(certificate.GetRawCertData()));
    }

    /// <summary>True when <paramref name="certificate"/>'s DER hashes to this pin (constant-time comparison).</summary>
    public bool Matches(X509Certificate? certificate)
    {
        if (certificate is null)
        {
            return false;
        }

        Span<byte> actual = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(certificate.GetRawCertData(), actual);
        return CryptographicOperations.FixedTimeEquals(actual, _sha256);
    }
}

/// <summary>Decides whether the server's TLS certificate is trusted: by pin, by a given CA, or by the system store.</summary>
internal sealed class ServerTrust : IDisposable
{
    private readonly CertificatePin? _pin;
    private readonly X509Certificate2Collection? _roots;
    private string? _lastRejection;

    private ServerTrust(CertificatePin? pin, X509Certificate2Collection? roots)
    {
        _pin = pin;
        _roots = roots;
    }

    /// <summary>Why the last handshake was refused, for the error message; null when none was.</summary>
    public string? LastRejection => Volatile.Read(ref _lastRejection);

    public static ServerTrust From(TurboMftClientOptions options)
    {
        if (options.PinSha256 is not null)
        {
            return new ServerTrust(CertificatePin.Parse(options.PinSha256), null);
        }

        if (options.CaCertificatePath is not null)
        {
            var roots = new X509Certificate2Collection();
            try
            {
                roots.ImportFromPemFile(options.CaCertificatePath);
                if (roots.Count == 0)
                {
                    roots.Add(X509CertificateLoader.LoadCertificateFromFile(options.CaCertificatePath));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
            {
                throw new ServerTrustException($"Cannot load the CA certificate '{options.CaCertificatePath}': {e.Message}. Give a PEM or DER certificate file (e.g. DATA/tls/server.crt).", e);
            }

            return new ServerTrust(null, roots);
        }

        return new ServerTrust(null, null);
    }

    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (_pin is not null)
        {
            if (_pin.Matches(certificate))
            {
                return true;
            }

            return Reject($"the server's certificate {(certificate is null ? "(none)" : CertificatePin.Of(certificate).ToString())} does not match the pin {_pin}; check --pin against the fingerprint 'turbomft serve' printed");
        }

        if (_roots is not null)
        {
            if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
            {
                return Reject("the server's certificate does not name the host in the URL; connect by a name or address the certificate lists");
            }

            using var custom = new X509Chain();
            custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            custom.ChainPolicy.CustomTrustStore.AddRange(_roots);
            custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            if (chain is not null)
            {
                custom.ChainPolicy.ExtraStore.AddRange(chain.ChainPolicy.ExtraStore);
            }

            var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            try
            {
                if (custom.Build(leaf))
                {
                    return true;
                }
            }
            finally
            {
                if (!ReferenceEquals(leaf, certificate))
                {
                    leaf.Dispose();
                }
            }

            return Reject($"the server's certificate does not chain to the CA in --ca ({custom.ChainStatus.FirstOrDefault().StatusInformation?.Trim()})");
        }

        return errors == SslPolicyErrors.None
            || Reject($"the server's certificate is not trusted by this system ({errors}); pass --ca FILE or --pin sha256:HEX");
    }

    public void Dispose()
    {
        if (_roots is not null)
        {
            foreach (var root in _roots)
            {
                root.Dispose();
            }
        }
    }

    private bool Reject(string reason)
    {
        Volatile.Write(ref _lastRejection, reason);
        return false;
    }
}
