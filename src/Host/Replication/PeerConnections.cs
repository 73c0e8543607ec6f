using System.Collections.Concurrent;
using TurboMft.Engine.Client;
using TurboMft.Host.Access;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Replication;

/// <summary>A peer named by a rule has no usable outbound side (unknown, disabled, or registered inbound only).</summary>
public sealed class PeerNotConfiguredException(string peer)
    : InvalidOperationException($"Peer '{peer}' has no outbound address on this node (or is disabled); add it with 'turbomft peer add {peer} --url https://host:port --server-pin sha256:…'.")
{
    /// <summary>The peer.</summary>
    public string Peer { get; } = peer;
}

/// <summary>
/// One <see cref="TurboMftClient"/> per peer, built from its outbound side in access.db: the peer's address, its server
/// trust (pin or CA), and this node's certificate (mTLS) or the peer's token opened from its seal. A changed peer record
/// gets a new client; clients live until the server stops (a job may still use an older one).
/// </summary>
public sealed class PeerConnections(IAccessStore access, NodeIdentity node, PeerSecrets secrets, ReplicationSettings settings, DataDirectory data) : IDisposable
{
    private readonly ConcurrentDictionary<string, (string Key, TurboMftClient Client)> _clients = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<TurboMftClient> _retired = [];

    /// <summary>The client for <paramref name="peer"/>.</summary>
    /// <exception cref="PeerNotConfiguredException">The peer has no outbound side.</exception>
    public async Task<TurboMftClient> GetAsync(string peer, CancellationToken cancellationToken)
    {
        var outbound = await access.GetOutboundPeerAsync(peer, cancellationToken).ConfigureAwait(false) ?? throw new PeerNotConfiguredException(peer);
        var key = string.Join('\n', outbound.Url, outbound.ServerPin, outbound.ServerCa, outbound.CredentialName, outbound.SealedToken is { } t ? Convert.ToHexString(t) : string.Empty);
        if (_clients.TryGetValue(peer, out var cached) && cached.Key == key)
        {
            return cached.Client;
        }

        var replication = settings;
        var client = new TurboMftClient(new TurboMftClientOptions
        {
            BaseAddress = outbound.Url,
            PinSha256 = outbound.ServerPin,
            CaCertificatePath = outbound.ServerCa,
            ClientCertificate = outbound.Credential == PeerCredential.Mtls ? node.Certificate : null,
            Token = outbound.Credential == PeerCredential.Token ? secrets.Open(peer, outbound.SealedToken!) : string.Empty,
            // Connections to the peer (and the client's buffer budget, 2 per connection) cover two files in flight at full
            // width; more concurrent files share them, each with its own reader, without blocking a thread.
            Connections = Math.Min(64, replication.Connections * 2),
            RequestTimeout = TimeSpan.FromSeconds(replication.RequestTimeoutSeconds),

            // The outbox retries a failed job with its own backoff; a request only rides out a short blip.
            Retry = new RetryPolicy { MaxAttempts = 3, MaxDelay = TimeSpan.FromSeconds(2) },
            ResumeDirectory = Path.Combine(data.Root, "replication-resume"),
        });
        var replaced = _clients.AddOrUpdate(peer, (key, client), (_, _) => (key, client));
        if (cached.Client is not null && !ReferenceEquals(cached.Client, replaced.Client))
        {
            _retired.Add(cached.Client);
        }

        return client;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var (_, client) in _clients.Values)
        {
            client.Dispose();
        }

        foreach (var client in _retired)
        {
            client.Dispose();
        }
    }
}
