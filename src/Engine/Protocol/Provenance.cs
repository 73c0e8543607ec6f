using System.Globalization;
using TurboMft.Engine.Integrity;

namespace TurboMft.Engine.Protocol;

/// <summary>
/// Where a replicated file version comes from (docs/replication.md, "Provenance"; docs/protocol.md, "Provenance headers"):
/// the site that first held it, its path and commit time there, its <c>sha256-tree</c> digest, and the correlation id that
/// every node along the way audits it under. A relay forwards the provenance it received, never its own.
/// </summary>
/// <param name="Site">The origin site's name.</param>
/// <param name="Path">The canonical path at the origin.</param>
/// <param name="Time">When the origin committed it (to the millisecond).</param>
/// <param name="Digest">The origin's <c>sha256-tree</c> digest; a receiving node commits only a file with this digest.</param>
/// <param name="CorrelationId">The replication's correlation id, or null.</param>
public sealed record Provenance(string Site, string Path, DateTimeOffset Time, string Digest, string? CorrelationId)
{
    /// <summary>The origin site's name.</summary>
    public const string SiteHeader = "TMF-Origin-Site";

    /// <summary>The origin path, percent-encoded per segment as in a URL path.</summary>
    public const string PathHeader = "TMF-Origin-Path";

    /// <summary>The origin commit time, ISO 8601 UTC with milliseconds.</summary>
    public const string TimeHeader = "TMF-Origin-Time";

    /// <summary>The origin <c>sha256-tree</c> digest.</summary>
    public const string DigestHeader = "TMF-Origin-Digest";

    /// <summary>The replication correlation id.</summary>
    public const string CorrelationHeader = "TMF-Correlation-Id";

    /// <summary>Longest site name or correlation id.</summary>
    public const int MaxTokenLength = 64;

    /// <summary>The header values to send, in order: site, path, time, digest and (when set) correlation id.</summary>
    public IEnumerable<KeyValuePair<string, string>> ToHeaders()
    {
        yield return new(SiteHeader, Site);
        yield return new(PathHeader, EncodePath(Path));
        yield return new(TimeHeader, Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        yield return new(DigestHeader, Digest);
        if (CorrelationId is not null)
        {
            yield return new(CorrelationHeader, CorrelationId);
        }
    }

    /// <summary>
    /// Reads provenance from headers through <paramref name="get"/> (null for a missing header). None of the headers: true
    /// with a null result. All four origin headers well-formed (the correlation id optional): true with the result. Anything
    /// else: false with the reason. <paramref name="canonicalPath"/> checks and canonicalises the decoded path.
    /// </summary>
    public static bool TryRead(Func<string, string?> get, Func<string, string?> canonicalPath, out Provenance? provenance, out string? error)
    {
        ArgumentNullException.ThrowIfNull(get);
        ArgumentNullException.ThrowIfNull(canonicalPath);
        provenance = null;
        error = null;
        var site = get(SiteHeader);
        var path = get(PathHeader);
        var time = get(TimeHeader);
        var digest = get(DigestHeader);
        var correlation = get(CorrelationHeader);
        if (site is null && path is null && time is null && digest is null && correlation is null)
        {
            return true;
        }

        if (site is null || path is null || time is null || digest is null)
        {
            error = $"Provenance needs all of {SiteHeader}, {PathHeader}, {TimeHeader} and {DigestHeader} ({CorrelationHeader} is optional).";
            return false;
        }

        if (!IsToken(site))
        {
            error = $"{SiteHeader} must be 1 to {MaxTokenLength} letters, digits, '.', '-' or '_'.";
            return false;
        }

        string? canonical;
        try
        {
            canonical = canonicalPath(Uri.UnescapeDataString(path));
        }
        catch (UriFormatException)
        {
            canonical = null;
        }

        if (canonical is null)
        {
            error = $"{PathHeader} is not a valid percent-encoded remote path.";
            return false;
        }

        if (!DateTimeOffset.TryParseExact(time, ["yyyy-MM-dd'T'HH:mm:ss.fff'Z'", "yyyy-MM-dd'T'HH:mm:ss'Z'"], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
        {
            error = $"{TimeHeader} must be an ISO 8601 UTC time such as 2026-01-31T12:00:00.000Z.";
            return false;
        }

        if (!FileDigest.TryParse(digest, out var parsed))
        {
            error = $"{DigestHeader} must be sha256-tree:<64 lowercase hex digits>.";
            return false;
        }

        if (correlation is not null && !IsToken(correlation))
        {
            error = $"{CorrelationHeader} must be 1 to {MaxTokenLength} letters, digits, '.', '-' or '_'.";
            return false;
        }

        provenance = new Provenance(site, canonical, at, parsed.ToString(), correlation);
        return true;
    }

    /// <summary>Percent-encodes each segment of a canonical path (headers carry ASCII only).</summary>
    public static string EncodePath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return string.Join('/', path.Split('/').Select(Uri.EscapeDataString));
    }

    /// <summary>True for a site name or correlation id: 1 to <see cref="MaxTokenLength"/> letters, digits, '.', '-' or '_'.</summary>
    internal static bool IsToken(string text) =>
        text.Length is > 0 and <= MaxTokenLength && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_');
}
