using TurboMft.Engine.Chunks;

namespace TurboMft.Engine.Client;

/// <summary>How a <see cref="TurboMftClient"/> reaches, trusts and talks to a server (docs/protocol.md).</summary>
public sealed record TurboMftClientOptions
{
    /// <summary>The server, e.g. <c>https://host:8443/</c>; HTTPS only.</summary>
    public required Uri BaseAddress { get; init; }

    /// <summary>The bearer API token sent on every request; may be empty when <see cref="ClientCertificate"/> authenticates instead.</summary>
    public string Token { get; init; } = string.Empty;

    /// <summary>
    /// A TLS client certificate with its private key, presented in every handshake (mTLS: a node replicating to a peer site
    /// that registered its pin). Without a <see cref="Token"/> it is the only credential.
    /// </summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2? ClientCertificate { get; init; }

    /// <summary>A PEM or DER CA certificate (or the server's own self-signed certificate) to trust instead of the system store.</summary>
    public string? CaCertificatePath { get; init; }

    /// <summary>
    /// The SHA-256 of the server certificate's DER, written <c>sha256:&lt;hex&gt;</c> (as <c>turbomft serve</c> prints it).
    /// With a pin, host name and chain errors are ignored but the pin must match.
    /// </summary>
    public string? PinSha256 { get; init; }

    /// <summary>Chunks in flight at once: parallel HTTP/1.1 connections, or concurrent HTTP/2 streams.</summary>
    public int Connections { get; init; } = 4;

    /// <summary>HTTP/1.1 (one connection per chunk in flight) or HTTP/2 (streams on one connection).</summary>
    public Version HttpVersion { get; init; } = System.Net.HttpVersion.Version11;

    /// <summary>Bytes per chunk for uploads: a power of two from 1 to 64 MiB. Downloads use the server's chunk size.</summary>
    public int ChunkSize { get; init; } = ChunkGeometry.DefaultChunkSize;

    /// <summary>Whether upload chunks travel LZ4-compressed.</summary>
    public TransferCompression Compression { get; init; } = TransferCompression.Auto;

    /// <summary>Whether the sender also proves every chunk with SHA-256 (<c>Repr-Digest</c>).</summary>
    public TransferVerify Verify { get; init; } = TransferVerify.Fast;

    /// <summary>Retries of one request after a network error or a 5xx answer.</summary>
    public RetryPolicy Retry { get; init; } = RetryPolicy.Default;

    /// <summary>Time allowed for one request (one chunk), not for a whole transfer.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Most files per batch upload (<c>POST /v1/batch</c>) when a push sends many files smaller than a chunk; the server's
    /// own limit applies if lower. 0 sends every small file by its own one-shot PUT.
    /// </summary>
    public int BatchFiles { get; init; } = 256;

    /// <summary>Most file bytes per batch upload (a batch closes at <see cref="BatchFiles"/> files or this many bytes).</summary>
    public long BatchBytes { get; init; } = 32L << 20;

    /// <summary>Where upload resume records live; null means <see cref="ResumeStore.DefaultDirectory"/>.</summary>
    public string? ResumeDirectory { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting that cannot work.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(BaseAddress);
        if (!BaseAddress.IsAbsoluteUri || BaseAddress.Scheme != Uri.UriSchemeHttps)
        {
            throw new ArgumentException($"'{BaseAddress}' is not an https:// address; TurboMft speaks HTTPS only.");
        }

        if (string.IsNullOrWhiteSpace(Token) && ClientCertificate is null)
        {
            throw new ArgumentException("No API token: pass --token-file FILE or set TURBOMFT_TOKEN (the server's admin token is in DATA/admin.token).");
        }

        if (CaCertificatePath is not null && PinSha256 is not null)
        {
            throw new ArgumentException("Give either a CA file (--ca) or a pin (--pin), not both.");
        }

        if (PinSha256 is not null)
        {
            CertificatePin.Parse(PinSha256);
        }

        if (Connections is < 1 or > 256)
        {
            throw new ArgumentException($"Connections must be from 1 to 256, not {Connections}.");
        }

        if (HttpVersion != System.Net.HttpVersion.Version11 && HttpVersion != System.Net.HttpVersion.Version20)
        {
            throw new ArgumentException($"HTTP version {HttpVersion} is not supported; use 1.1 or 2.");
        }

        if (ClientCertificate is { HasPrivateKey: false })
        {
            throw new ArgumentException($"The client certificate {ClientCertificate.Subject} has no private key; load it with its key.");
        }

        if (BatchFiles is < 0 or > 100_000)
        {
            throw new ArgumentException($"BatchFiles must be from 0 (no batches) to 100000, not {BatchFiles}.");
        }

        if (BatchBytes < 1)
        {
            throw new ArgumentException($"BatchBytes must be positive, not {BatchBytes}.");
        }

        ChunkGeometry.Validate(ChunkSize);
    }
}

/// <summary>Compression of upload chunks on the wire.</summary>
public enum TransferCompression
{
    /// <summary>Adaptive LZ4: a chunk travels compressed only when it shrinks by a useful margin (ChunkCompressor.Adaptive).</summary>
    Auto,

    /// <summary>LZ4 whenever the block is smaller than the chunk at all.</summary>
    Lz4,

    /// <summary>Every chunk travels raw.</summary>
    None,
}

/// <summary>End-to-end verification strength (docs/protocol.md and DESIGN "two tiers").</summary>
public enum TransferVerify
{
    /// <summary>
    /// CRC-64/NVME per chunk from the sender, checked by the receiver; SHA-256 by the server. Uploads: the server's tree is
    /// compared with the local one. Downloads: each chunk's CRC is checked against the one the server stored at upload,
    /// and the server's chunk digests must hash to its <c>TMF-Digest</c>.
    /// </summary>
    Fast,

    /// <summary>
    /// The client hashes every chunk with SHA-256 too. Uploads: sent as <c>Repr-Digest</c> and checked by the server on
    /// receipt. Downloads: checked against each chunk's <c>Content-Digest</c> and the tree against <c>TMF-Digest</c>.
    /// </summary>
    Sha256,
}
