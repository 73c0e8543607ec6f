using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace TurboMft.Engine.Client;

/// <summary>
/// The connection set-up every TurboMft HTTP client shares (the reference client, the load driver): TLS 1.3 only, the
/// server's certificate judged by the caller's pin or CA check, at most N connections, and nothing done behind the
/// protocol's back (no redirects, cookies or content decoding).
/// </summary>
public static class ClientHandlers
{
    /// <summary>Longest wait for a TCP connection and TLS handshake.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A handler of at most <paramref name="connections"/> connections per server that accepts the server's certificate
    /// only when <paramref name="validateServer"/> does, presenting <paramref name="clientCertificate"/> when given.
    /// </summary>
    public static SocketsHttpHandler Create(int connections, RemoteCertificateValidationCallback validateServer, X509Certificate2? clientCertificate = null)
    {
        ArgumentNullException.ThrowIfNull(validateServer);
        return new SocketsHttpHandler
        {
            MaxConnectionsPerServer = connections,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            AllowAutoRedirect = false,
            ConnectTimeout = ConnectTimeout,
            SslOptions = new SslClientAuthenticationOptions
            {
                EnabledSslProtocols = SslProtocols.Tls13,
                RemoteCertificateValidationCallback = validateServer,

                // A context, not a collection: .NET then presents this certificate whatever CA names the server lists.
                ClientCertificateContext = clientCertificate is null ? null : SslStreamCertificateContext.Create(clientCertificate, null, offline: true),
            },
        };
    }
}
