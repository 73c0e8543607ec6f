using System.Net;
using TurboMft.Engine.Chunks;
using TurboMft.Host.Ingest;
using TurboMft.Host.Notifications;
using TurboMft.Host.Scanning;

namespace TurboMft.Host.Server;

/// <summary>
/// Server settings, bound from (lowest to highest priority) an optional JSON config file, <c>TURBOMFT_*</c> environment
/// variables and the command line: e.g. <c>TURBOMFT_LISTEN=0.0.0.0:8443</c> or <c>--listen 0.0.0.0:8443</c>.
/// </summary>
public sealed class ServerSettings
{
    /// <summary>Data directory: metadata, access database, containers, TLS material, keys, admin token.</summary>
    public string Data { get; set; } = string.Empty;

    /// <summary>
    /// This node's site name: the common name of its node certificate when that is created, and the origin recorded in the
    /// provenance of files it replicates (docs/replication.md). Default: the host name.
    /// </summary>
    public string Site { get; set; } = Environment.MachineName;

    /// <summary>Replication worker settings (docs/replication.md, "Settings").</summary>
    public Replication.ReplicationSettings Replication { get; set; } = new();

    /// <summary>Listen endpoint HOST:PORT; port 0 picks a free port.</summary>
    public string Listen { get; set; } = "127.0.0.1:8443";

    /// <summary>Hours an upload session stays resumable without activity before it expires and its staging is removed.</summary>
    public double UploadExpiryHours { get; set; } = 24;

    /// <summary>Chunk size for one-shot uploads (PUT /v1/files/...).</summary>
    public int OneShotChunkSize { get; set; } = ChunkGeometry.DefaultChunkSize;

    /// <summary>
    /// Most files one batch upload (<c>POST /v1/batch</c>) may hold; each is at most <see cref="OneShotChunkSize"/> bytes. The
    /// server keeps a few hundred bytes per file of a batch in memory until it commits (the bytes themselves are staged on disk).
    /// </summary>
    public int BatchMaxFiles { get; set; } = 4096;

    /// <summary>Minimum request body rate in bytes per second before Kestrel cuts a slow client off.</summary>
    public double MinRequestBodyBytesPerSecond { get; set; } = 240;

    /// <summary>Seconds a request body may run below <see cref="MinRequestBodyBytesPerSecond"/> before the cut-off (Kestrel's grace; more than 1).</summary>
    public double MinRequestBodyGraceSeconds { get; set; } = 10;

    /// <summary>
    /// Optional JSON policy file declaring custom roles, users, peers and grants (docs/security.md, "Policy file"); validated
    /// and applied at every start, replacing what the previous policy declared.
    /// </summary>
    public string? Policy { get; set; }

    /// <summary>Optional PEM bundle of the CA(s) issuing peer sites' TLS client certificates (peers registered by common name).</summary>
    public string? ClientCaFile { get; set; }

    /// <summary>PBKDF2-SHA256 iterations for new password hashes; at least 600,000.</summary>
    public int PasswordIterations { get; set; } = 600_000;

    /// <summary>
    /// Incident notifications: signed webhook and syslog (docs/content-security.md, "Incident notifications"); with neither
    /// configured, incidents are only logged.
    /// </summary>
    public NotificationSettings Notifications { get; set; } = new();

    /// <summary>The failed-authentication throttle (docs/security.md, "Throttling failed authentication").</summary>
    public Access.AuthenticationThrottleSettings Throttle { get; set; } = new();

    /// <summary>Minutes between two verifications of the audit chain by the running server (default 10); 0 verifies at start only.</summary>
    public double AuditVerifyIntervalMinutes { get; set; } = 10;
    /// <summary>Content security: clamd, the digest deny-list, archive limits and per-area type and approval rules (docs/content-security.md, "Settings").</summary>
    public ContentSettings Content { get; set; } = new();

    /// <summary>The upload limits and lifetimes the ingest core and the endpoints use.</summary>
    public UploadSettings Uploads() => new(UploadExpiryHours, OneShotChunkSize, BatchMaxFiles, MinRequestBodyBytesPerSecond, MinRequestBodyGraceSeconds);

    /// <summary>Parses <see cref="Listen"/>; host names other than localhost must be IP literals.</summary>
    public IPEndPoint ParseListen()
    {
        var text = Listen.Trim();
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text[(colon + 1)..], out var port) || port is < 0 or > 65535)
        {
            throw new ArgumentException($"--listen '{Listen}' is not HOST:PORT (for example 127.0.0.1:8443 or [::1]:8443).");
        }

        var host = text[..colon].Trim('[', ']');
        var address = host.Equals("localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback
            : IPAddress.TryParse(host, out var parsed) ? parsed
            : throw new ArgumentException($"--listen host '{host}' must be an IP address or localhost.");
        return new IPEndPoint(address, port);
    }
}
