using System.Net;
using TurboMft.Engine.Chunks;

namespace TurboMft.Host.Server;

/// <summary>
/// Server settings, bound from (lowest to highest priority) an optional JSON config file, <c>TURBOMFT_*</c> environment
/// variables and the command line: e.g. <c>TURBOMFT_LISTEN=0.0.0.0:8443</c> or <c>--listen 0.0.0.0:8443</c>.
/// </summary>
public sealed class ServerSettings
{
    /// <summary>Data directory: metadata, access database, containers, TLS material, keys, admin token.</summary>
    public string Data { get; set; } = string.Empty;

    /// <summary>Listen endpoint HOST:PORT; port 0 picks a free port.</summary>
    public string Listen { get; set; } = "127.0.0.1:8443";

    /// <summary>Hours an upload session stays resumable without activity before it expires and its staging is removed.</summary>
    public double UploadExpiryHours { get; set; } = 24;

    /// <summary>Chunk size for one-shot uploads (PUT /v1/files/...).</summary>
    public int OneShotChunkSize { get; set; } = ChunkGeometry.DefaultChunkSize;

    /// <summary>Minimum request body rate in bytes per second before Kestrel cuts a slow client off.</summary>
    public double MinRequestBodyBytesPerSecond { get; set; } = 240;

    /// <summary>
    /// Optional JSON policy file declaring custom roles, users, peers and grants (docs/security.md, "Policy file"); validated
    /// and applied at every start, replacing what the previous policy declared.
    /// </summary>
    public string? Policy { get; set; }

    /// <summary>Optional PEM bundle of the CA(s) issuing peer sites' TLS client certificates (peers registered by common name).</summary>
    public string? ClientCaFile { get; set; }

    /// <summary>PBKDF2-SHA256 iterations for new password hashes; at least 600,000.</summary>
    public int PasswordIterations { get; set; } = 600_000;

    /// <summary>Release of uploaded files after scanning (section <c>Content</c>; docs/content-security.md, "Release states").</summary>
    public ContentReleaseSettings Content { get; set; } = new();

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

/// <summary>
/// How committed versions are scanned and released (configuration section <c>Content</c>, e.g.
/// <c>TURBOMFT_Content__InlineScanWaitSeconds=10</c>; docs/content-security.md, "Release states").
/// </summary>
public sealed class ContentReleaseSettings
{
    /// <summary>
    /// How long a commit (upload complete, one-shot PUT) waits for its version's scan before answering; 0 answers at once
    /// with <c>pending-scan</c>. The scan goes on in the background either way.
    /// </summary>
    public double InlineScanWaitSeconds { get; set; } = 30;

    /// <summary>Versions scanned at once (each open plaintext stream holds two chunk buffers of its own).</summary>
    public int ScanConcurrency { get; set; } = 2;

    /// <summary>How often the database is swept for versions still pending a scan (restarts, held files) and for expired approvals.</summary>
    public double ScanSweepSeconds { get; set; } = 5;

    /// <summary>First wait before a version held by a scanner error is scanned again; it doubles on each error.</summary>
    public double ScanRetrySeconds { get; set; } = 5;

    /// <summary>Longest wait between scans of a held version.</summary>
    public double ScanRetryMaxSeconds { get; set; } = 300;

    /// <summary>
    /// A safety net over the scanners' own timeouts: a scan of one version still running after this long is cancelled and
    /// counts as a scanner error (the version is held and scanned again later).
    /// </summary>
    public double ScanTimeoutSeconds { get; set; } = 3600;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (InlineScanWaitSeconds is < 0 or > 3600 || double.IsNaN(InlineScanWaitSeconds))
        {
            throw new ArgumentException($"Content:InlineScanWaitSeconds must be from 0 to 3600, not {InlineScanWaitSeconds}.");
        }

        if (ScanConcurrency is < 1 or > 64)
        {
            throw new ArgumentException($"Content:ScanConcurrency must be from 1 to 64, not {ScanConcurrency}.");
        }

        if (ScanSweepSeconds is <= 0 or > 3600 || double.IsNaN(ScanSweepSeconds))
        {
            throw new ArgumentException($"Content:ScanSweepSeconds must be above 0 and at most 3600, not {ScanSweepSeconds}.");
        }

        if (ScanTimeoutSeconds is <= 0 or > 86_400 || double.IsNaN(ScanTimeoutSeconds))
        {
            throw new ArgumentException($"Content:ScanTimeoutSeconds must be above 0 and at most 86400, not {ScanTimeoutSeconds}.");
        }

        if (ScanRetrySeconds <= 0 || ScanRetryMaxSeconds < ScanRetrySeconds || ScanRetryMaxSeconds > 86_400 || double.IsNaN(ScanRetrySeconds) || double.IsNaN(ScanRetryMaxSeconds))
        {
            throw new ArgumentException($"Content:ScanRetrySeconds ({ScanRetrySeconds}) must be above 0 and at most Content:ScanRetryMaxSeconds ({ScanRetryMaxSeconds}), itself at most 86400.");
        }
    }
}
