using System.Globalization;
using Microsoft.Extensions.Options;
using TurboMft.Engine.Retries;
using TurboMft.Engine.Storage;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Scanning;

/// <summary>
/// Content-security settings, bound under <c>Content</c> of the server settings (docs/content-security.md, "Settings"):
/// e.g. <c>TURBOMFT_Content__Clamd=unix:/run/clamav/clamd.ctl</c>. Validated at start by <see cref="ContentPolicies.FromSettings"/>.
/// </summary>
public sealed class ContentSettings
{
    /// <summary>clamd's address, <c>unix:/run/clamav/clamd.ctl</c> or <c>tcp:127.0.0.1:3310</c>; null runs no ClamAV scan.</summary>
    public string? Clamd { get; set; }

    /// <summary>File of known-bad SHA-256 digests (one per line); null runs no deny-list check.</summary>
    public string? DenyListFile { get; set; }

    /// <summary>Seconds each scanner may take for one file before its verdict is Error (the file is held).</summary>
    public int ScanTimeoutSeconds { get; set; } = 600;

    /// <summary>Limits of the archive walk.</summary>
    public ArchiveSettings Archive { get; set; } = new();

    /// <summary>Content rules per area; the deepest area containing a path applies, else the defaults (no type lists, no approval).</summary>
    public List<AreaContentSettings> Areas { get; set; } = [];

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
    /// A safety net over the scanners' own <see cref="ScanTimeoutSeconds"/>: a whole chain over one version still running
    /// after this long is cancelled and counts as a scanner error (the version is held and scanned again later).
    /// </summary>
    public double ScanServiceTimeoutSeconds { get; set; } = 3600;

    /// <summary>The waits before a held version is scanned again: doubling from <see cref="ScanRetrySeconds"/> up to <see cref="ScanRetryMaxSeconds"/>, no jitter.</summary>
    public Backoff ScanRetryBackoff() => new(TimeSpan.FromSeconds(ScanRetrySeconds), TimeSpan.FromSeconds(ScanRetryMaxSeconds), jitter: Backoff.NoJitter);

    /// <summary>Throws <see cref="ArgumentException"/> naming every release setting out of range.</summary>
    public void ValidateRelease() => new ContentSettingsValidation().ThrowIfInvalid(this);
}

/// <summary>
/// Validates the release and scan settings of <see cref="ContentSettings"/> (the <c>Content</c> section); the per-area
/// policies are checked where they are read, by <see cref="ContentPolicies.FromSettings"/> (a <see cref="ContentSettingsException"/>).
/// </summary>
public sealed class ContentSettingsValidation : IValidateOptions<ContentSettings>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, ContentSettings options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var o = options;
        List<string> failures = [];
        Check(failures, !(o.InlineScanWaitSeconds is < 0 or > 3600 || double.IsNaN(o.InlineScanWaitSeconds)), $"Content:InlineScanWaitSeconds must be from 0 to 3600, not {o.InlineScanWaitSeconds}.");
        Check(failures, !(o.ScanConcurrency is < 1 or > 64), $"Content:ScanConcurrency must be from 1 to 64, not {o.ScanConcurrency}.");
        Check(failures, !(o.ScanSweepSeconds is <= 0 or > 3600 || double.IsNaN(o.ScanSweepSeconds)), $"Content:ScanSweepSeconds must be above 0 and at most 3600, not {o.ScanSweepSeconds}.");
        Check(failures, !(o.ScanServiceTimeoutSeconds is <= 0 or > 86_400 || double.IsNaN(o.ScanServiceTimeoutSeconds)), $"Content:ScanServiceTimeoutSeconds must be above 0 and at most 86400, not {o.ScanServiceTimeoutSeconds}.");
        Check(failures, !(o.ScanRetrySeconds <= 0 || o.ScanRetryMaxSeconds < o.ScanRetrySeconds || o.ScanRetryMaxSeconds > 86_400 || double.IsNaN(o.ScanRetrySeconds) || double.IsNaN(o.ScanRetryMaxSeconds)), $"Content:ScanRetrySeconds ({o.ScanRetrySeconds}) must be above 0 and at most Content:ScanRetryMaxSeconds ({o.ScanRetryMaxSeconds}), itself at most 86400.");
        return SettingsValidation.Result(failures);
    }

    private static void Check(List<string> failures, bool ok, string message)
    {
        if (!ok)
        {
            failures.Add(message);
        }
    }
}

/// <summary>Archive walk limits as configured (docs/content-security.md, "Archive limits").</summary>
public sealed class ArchiveSettings
{
    /// <summary>Deepest archive nesting inspected; deeper is a finding.</summary>
    public int MaxDepth { get; set; } = 3;

    /// <summary>Bytes all decompression of one file may produce.</summary>
    public long MaxExpandedBytes { get; set; } = 4L << 30;

    /// <summary>Largest expansion ratio of one entry …</summary>
    public int MaxRatio { get; set; } = 200;

    /// <summary>… once it has produced this many bytes.</summary>
    public long RatioFloorBytes { get; set; } = 1 << 20;

    /// <summary>Entries of one file at all nesting levels.</summary>
    public int MaxEntries { get; set; } = 100_000;

    /// <summary>The limits for <see cref="ArchiveScanner"/>.</summary>
    public ArchiveLimits ToLimits() => new()
    {
        MaxDepth = MaxDepth,
        MaxExpandedBytes = MaxExpandedBytes,
        MaxRatio = MaxRatio,
        RatioFloorBytes = RatioFloorBytes,
        MaxEntries = MaxEntries,
    };
}

/// <summary>One area's content rules as configured; becomes an <see cref="AreaContentPolicy"/>.</summary>
public sealed class AreaContentSettings
{
    /// <summary>The area, a remote path prefix such as <c>/ot/plant1</c> (<c>/</c> sets the defaults).</summary>
    public string Area { get; set; } = string.Empty;

    /// <summary>If set, only these detected types are accepted.</summary>
    public List<string>? AllowTypes { get; set; }

    /// <summary>Detected types refused here.</summary>
    public List<string>? DenyTypes { get; set; }

    /// <summary>Four-eyes: a second person approves before release.</summary>
    public bool RequireApproval { get; set; }

    /// <summary>Hours after which a pending approval is rejected; null waits forever.</summary>
    public double? ApprovalExpiryHours { get; set; }
}

/// <summary>A content setting is invalid; the message names the setting and the fix.</summary>
public sealed class ContentSettingsException(string message) : ArgumentException(message);

/// <summary>The validated area policies: the deepest configured area containing a path wins.</summary>
public sealed class ContentPolicies
{
    private readonly AreaContentPolicy[] _deepestFirst;

    private ContentPolicies(AreaContentPolicy[] areas, AreaContentPolicy root)
    {
        _deepestFirst = [.. areas.OrderByDescending(a => a.Area.Segments.Count)];
        Areas = areas;
        Default = root;
    }

    /// <summary>The configured areas, in configuration order.</summary>
    public IReadOnlyList<AreaContentPolicy> Areas { get; }

    /// <summary>The policy for paths under no configured area: <c>/</c>'s if configured, else no type lists and no approval.</summary>
    public AreaContentPolicy Default { get; }

    /// <summary>Policies with only the default: no type lists, no approval.</summary>
    public static ContentPolicies None { get; } = new([], new AreaContentPolicy(RemotePath.Root));

    /// <summary>The policy of the deepest configured area containing <paramref name="path"/>.</summary>
    public AreaContentPolicy For(RemotePath path)
    {
        ArgumentNullException.ThrowIfNull(path);
        foreach (var area in _deepestFirst)
        {
            if (path.IsUnder(area.Area))
            {
                return area;
            }
        }

        return Default;
    }

    /// <summary>Validates every content setting and builds the area policies.</summary>
    /// <exception cref="ContentSettingsException">A setting is invalid; the message says which and why.</exception>
    public static ContentPolicies FromSettings(ContentSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Clamd is { } clamd)
        {
            try
            {
                ClamdEndpoint.Parse(clamd);
            }
            catch (FormatException e)
            {
                throw new ContentSettingsException($"Content:Clamd: {e.Message}");
            }
        }

        if (settings.DenyListFile is { } list && string.IsNullOrWhiteSpace(list))
        {
            throw new ContentSettingsException("Content:DenyListFile is empty; give the path of the digest list or leave it out.");
        }

        Positive(settings.ScanTimeoutSeconds, "Content:ScanTimeoutSeconds");
        var archive = settings.Archive ?? new ArchiveSettings();
        Positive(archive.MaxDepth, "Content:Archive:MaxDepth");
        Positive(archive.MaxExpandedBytes, "Content:Archive:MaxExpandedBytes");
        Positive(archive.MaxRatio, "Content:Archive:MaxRatio");
        Positive(archive.RatioFloorBytes, "Content:Archive:RatioFloorBytes");
        Positive(archive.MaxEntries, "Content:Archive:MaxEntries");

        var areas = new List<AreaContentPolicy>();
        var root = new AreaContentPolicy(RemotePath.Root);
        for (var i = 0; i < (settings.Areas?.Count ?? 0); i++)
        {
            var area = settings.Areas![i];
            var where = $"Content:Areas:{i.ToString(CultureInfo.InvariantCulture)}";
            if (!RemotePath.TryParse(area.Area, out var path, out var error, allowRoot: true))
            {
                throw new ContentSettingsException($"{where}:Area '{area.Area}' is not a valid area path ({error}); use a remote path prefix such as /ot/plant1.");
            }

            if (areas.Any(a => a.Area == path))
            {
                throw new ContentSettingsException($"{where}:Area '{path}' is configured twice; merge the two entries.");
            }

            var allow = Types(area.AllowTypes, $"{where}:AllowTypes");
            var deny = Types(area.DenyTypes, $"{where}:DenyTypes");
            if (allow is not null && deny is not null && allow.Intersect(deny).FirstOrDefault() is { } both)
            {
                throw new ContentSettingsException($"{where}: type '{both}' is in both AllowTypes and DenyTypes of area {path}.");
            }

            if (allow is { Count: 0 })
            {
                throw new ContentSettingsException($"{where}:AllowTypes of area {path} is empty, which would refuse every file; list the allowed types or leave it out.");
            }

            TimeSpan? expiry = null;
            if (area.ApprovalExpiryHours is { } hours)
            {
                if (!double.IsFinite(hours) || hours <= 0)
                {
                    throw new ContentSettingsException($"{where}:ApprovalExpiryHours must be a positive number of hours (or left out to wait forever), not {hours.ToString(CultureInfo.InvariantCulture)}.");
                }

                expiry = TimeSpan.FromHours(hours);
            }

            var policy = new AreaContentPolicy(path, allow, deny, area.RequireApproval, expiry);
            if (path.IsRoot)
            {
                root = policy;
            }

            areas.Add(policy);
        }

        return new ContentPolicies([.. areas], root);
    }

    private static List<string>? Types(List<string>? types, string where)
    {
        if (types is null)
        {
            return null;
        }

        var normalized = new List<string>();
        foreach (var type in types)
        {
            var name = type?.Trim().ToLowerInvariant() ?? string.Empty;
            if (!FileTypes.All.Contains(name))
            {
                throw new ContentSettingsException($"{where}: unknown file type '{type}'; known types: {string.Join(", ", FileTypes.All.Order(StringComparer.Ordinal))}.");
            }

            if (!normalized.Contains(name))
            {
                normalized.Add(name);
            }
        }

        return normalized;
    }

    private static void Positive(long value, string name)
    {
        if (value <= 0)
        {
            throw new ContentSettingsException($"{name} must be positive, not {value.ToString(CultureInfo.InvariantCulture)}.");
        }
    }
}
