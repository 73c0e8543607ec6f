using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using TurboMft.Engine.Client;

namespace TurboMft.Load.Target;

/// <summary>
/// The server under load: its address, an admin-capable token, how its certificate is trusted (a pin or a CA file), and its
/// process id when known (for RSS, threads and CPU from <c>/proc</c>).
/// </summary>
public sealed record LoadTarget(Uri Address, string Token, CertificatePin? Pin, X509Certificate2? Ca, int? ServerPid)
{
    /// <summary>Whether the server's certificate is acceptable: it matches the pin, or it chains to the CA.</summary>
    public bool Trusts(X509Certificate? certificate)
    {
        if (certificate is null)
        {
            return false;
        }

        if (Pin is not null)
        {
            return Pin.Matches(certificate);
        }

        if (Ca is null)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(leaf);
    }

    /// <summary>
    /// An HTTP client of its own (own connection pool, at most <paramref name="connections"/> connections), TLS 1.3, bearer
    /// token set, no overall timeout (the driver times each request). <paramref name="connected"/> is told of every new
    /// connection and <paramref name="closed"/> of every closed one.
    /// </summary>
    public HttpClient CreateHttpClient(int connections, Version httpVersion, Action? connected = null, Action? closed = null)
    {
        var handler = ClientHandlers.Create(connections, (_, certificate, _, _) => Trusts(certificate));
        handler.PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10);
        handler.PooledConnectionLifetime = Timeout.InfiniteTimeSpan;

        if (connected is not null || closed is not null)
        {
            handler.ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }

                connected?.Invoke();
                return new CountedNetworkStream(socket, closed);
            };
        }

        var client = new HttpClient(handler)
        {
            BaseAddress = Address,
            Timeout = Timeout.InfiniteTimeSpan,
            DefaultRequestVersion = httpVersion,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return client;
    }

    /// <summary>A socket stream that reports its closing once.</summary>
    private sealed class CountedNetworkStream(Socket socket, Action? closed) : NetworkStream(socket, ownsSocket: true)
    {
        private int _closed;

        protected override void Dispose(bool disposing)
        {
            if (Interlocked.Exchange(ref _closed, 1) == 0)
            {
                closed?.Invoke();
            }

            base.Dispose(disposing);
        }
    }
}
