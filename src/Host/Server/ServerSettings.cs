using System.Net;
using Microsoft.Extensions.Options;
using TurboMft.Host.Access;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Ingest;
using TurboMft.Host.Notifications;
using TurboMft.Host.Replication;
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

    /// <summary>
    /// Upload limits and lifetimes (<c>UploadExpiryHours</c>, <c>OneShotChunkSize</c>, <c>BatchMaxFiles</c>,
    /// <c>MinRequestBodyBytesPerSecond</c>, <c>MinRequestBodyGraceSeconds</c>): bound from the top level of the settings, as
    /// they always were, and handed as they are to the ingest core.
    /// </summary>
    public UploadSettings Uploads { get; set; } = new();

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

    /// <summary>
    /// Optional PostgreSQL connection string (<c>--postgres</c>, <c>TURBOMFT_POSTGRES</c>, or <c>"Postgres"</c> in the config
    /// file): metadata, access and replication state in that database instead of the data directory's SQLite files
    /// (docs/cluster.md). Null: the embedded SQLite stores. Prefer the variable, the config file or a <c>Passfile</c> to a
    /// password on the command line, where other users of the host can read it.
    /// </summary>
    public string? Postgres { get; set; }

    /// <summary>
    /// Where containers and upload staging live (<c>--store</c>, <c>TURBOMFT_STORE</c>, or <c>"Store"</c> in the config file;
    /// docs/cluster.md, "Shared object store"): null, the data directory's <c>store/</c>; <c>dir:/ABSOLUTE/PATH</c>, a
    /// directory the nodes of a cluster share (an NFS mount). Parse it with <see cref="ParseStore"/>.
    /// </summary>
    public string? Store { get; set; }

    /// <summary>
    /// This node's name among the nodes of one database (<c>--node</c>, <c>TURBOMFT_NODE</c>; docs/cluster.md, "Nodes"): 1–128
    /// characters from <c>a-z 0-9 . _ : -</c>. Null: the host name and the bound port.
    /// </summary>
    public string? Node { get; set; }

    /// <summary>Content security: clamd, the digest deny-list, archive limits and per-area type and approval rules (docs/content-security.md, "Settings").</summary>
    public ContentSettings Content { get; set; } = new();

    /// <summary>The directory <see cref="Store"/> names (absolute), or null for the data directory's own store.</summary>
    /// <exception cref="ArgumentException">The value is not a store this build knows, naming the setting.</exception>
    public string? ParseStore()
    {
        if (Store is null)
        {
            return null;
        }

        const string Setting = "--store (TURBOMFT_STORE, \"Store\")";
        if (Store.StartsWith("s3://", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"{Setting}: an S3 store is not built into this version; use dir:/ABSOLUTE/PATH (a shared directory) or leave it out.");
        }

        if (!Store.StartsWith("dir:", StringComparison.Ordinal))
        {
            throw new ArgumentException($"{Setting} '{Store}' is not a store: give dir:/ABSOLUTE/PATH, a directory every node mounts.");
        }

        var path = Store["dir:".Length..];
        if (!Path.IsPathFullyQualified(path) || path.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"{Setting}: '{path}' is not an absolute path; give dir:/ABSOLUTE/PATH.");
        }

        return Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
    }

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
/// Validates <see cref="ServerSettings"/> before the server opens anything: its own settings and, through their sections'
/// validators, the uploads, replication, throttle and content sections; every failure is reported at once.
/// </summary>
public sealed class ServerSettingsValidation : IValidateOptions<ServerSettings>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, ServerSettings options)
    {
        ArgumentNullException.ThrowIfNull(options);
        List<string> failures = [];
        try
        {
            options.ParseListen();
        }
        catch (ArgumentException e)
        {
            failures.Add(e.Message);
        }

        if (!(options.AuditVerifyIntervalMinutes >= 0))
        {
            failures.Add($"AuditVerifyIntervalMinutes is {options.AuditVerifyIntervalMinutes}; give minutes (0: verify at start only).");
        }

        try
        {
            NodeIdentity.ValidateSite(options.Site);
        }
        catch (ArgumentException e)
        {
            failures.Add(e.Message);
        }

        if (options.Node is { } node && (node.Length is 0 or > 128 || node.Any(c => c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '_' or ':' or '-'))))
        {
            failures.Add($"Node '{node}' is not a node name: 1 to 128 characters from a-z 0-9 . _ : -.");
        }

        try
        {
            options.ParseStore();
        }
        catch (ArgumentException e)
        {
            failures.Add(e.Message);
        }

        if (options.Postgres is not null)
        {
            try
            {
                // Parses and checks the string only; nothing connects yet.
                PostgresDatabase.Create(options.Postgres, "turbomft").DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
            catch (ArgumentException e)
            {
                failures.Add(e.Message);
            }
        }

        failures.AddRange(new UploadSettingsValidation().FailuresOf(options.Uploads));
        failures.AddRange(new ContentSettingsValidation().FailuresOf(options.Content));
        failures.AddRange(new ReplicationSettingsValidation().FailuresOf(options.Replication));
        failures.AddRange(new AuthenticationThrottleSettingsValidation().FailuresOf(options.Throttle));
        return SettingsValidation.Result(failures);
    }
}
