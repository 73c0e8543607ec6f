namespace TurboMft.Engine.Protocol;

// The answer of GET /v1/info (docs/protocol.md, "Other"), written by the server's InfoEndpoints and read by TurboMftClient
// for the batch limits.

/// <summary>Answer of <c>GET /v1/info</c> (docs/protocol.md, "Other"): the server's version, TLS, protocols, QUIC state, CPU and limits.</summary>
/// <param name="Product"><c>TurboMft</c>.</param>
/// <param name="Version">The server's product version.</param>
/// <param name="Tls">The TLS version it speaks: <c>1.3</c>.</param>
/// <param name="Site">The node's site name (docs/replication.md).</param>
/// <param name="NodeCertificate">The <c>sha256:…</c> fingerprint of the node's TLS certificate.</param>
/// <param name="Protocols">The HTTP versions offered: <c>http/1.1</c>, <c>h2</c> and, with QUIC, <c>h3</c>.</param>
/// <param name="Quic">Whether HTTP/3 is on, and why not.</param>
/// <param name="Cpu">The server's processor.</param>
/// <param name="Limits">Chunk sizes, upload expiry, slow-client and batch limits.</param>
public sealed record ServerInfo(
    string Product, string Version, string Tls, string Site, string NodeCertificate, IReadOnlyList<string> Protocols, QuicSupport Quic, CpuDescription Cpu, ServerLimits Limits);

/// <summary>The QUIC state in <c>GET /v1/info</c> (docs/protocol.md, "Transport and authentication").</summary>
/// <param name="Supported">True when the host has libmsquic.</param>
/// <param name="Http3">True when HTTP/3 is offered.</param>
/// <param name="Reason">Why it is off; null when on.</param>
public sealed record QuicSupport(bool Supported, bool Http3, string? Reason);

/// <summary>The server's processor in <c>GET /v1/info</c> (docs/protocol.md, "Other").</summary>
/// <param name="Model">The processor's name.</param>
/// <param name="LogicalCores">Logical cores.</param>
/// <param name="Features">The instruction set features the byte path uses, as detected.</param>
public sealed record CpuDescription(string Model, int LogicalCores, IReadOnlyList<string> Features);

/// <summary>The limits in <c>GET /v1/info</c> (docs/protocol.md, "Other" and "Batch upload").</summary>
/// <param name="MinChunkSize">Smallest chunk size accepted.</param>
/// <param name="MaxChunkSize">Largest chunk size accepted.</param>
/// <param name="DefaultChunkSize">The chunk size clients use unless told otherwise.</param>
/// <param name="UploadExpiryHours">Hours an idle upload session stays resumable.</param>
/// <param name="MinRequestBodyBytesPerSecond">The body rate below which a slow client is cut off.</param>
/// <param name="MinRequestBodyGraceSeconds">Seconds a body may run below that rate first.</param>
/// <param name="BatchMaxFiles">Most files in one batch upload; absent from a server without batch upload.</param>
/// <param name="BatchMaxFileSize">Largest file of a batch (the one-shot chunk size); absent from a server without batch upload.</param>
public sealed record ServerLimits(
    int MinChunkSize,
    int MaxChunkSize,
    int DefaultChunkSize,
    double UploadExpiryHours,
    double MinRequestBodyBytesPerSecond,
    double MinRequestBodyGraceSeconds,
    int? BatchMaxFiles,
    long? BatchMaxFileSize);
