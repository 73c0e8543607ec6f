using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using TurboMft.Engine.Storage;

namespace TurboMft.Host.Http;

/// <summary>
/// Takes the remote path from the raw request target, decoding each segment exactly once. Kestrel's own normalisation
/// would silently fold "a/../b" into "b"; a traversal attempt must be refused, not reinterpreted (docs/protocol.md "Paths").
/// </summary>
public static class RequestPaths
{
    /// <summary>The remote path after <paramref name="prefix"/> (e.g. "/v1/files/") in the raw target, validated by <see cref="RemotePath"/>.</summary>
    public static bool TryGet(HttpContext context, string prefix, [NotNullWhen(true)] out RemotePath? path, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(context);
        path = null;
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.ToString();
        var query = raw.IndexOf('?', StringComparison.Ordinal);
        if (query >= 0)
        {
            raw = raw[..query];
        }

        if (!raw.StartsWith(prefix, StringComparison.Ordinal))
        {
            error = "The path must follow " + prefix + ".";
            return false;
        }

        var segments = raw[prefix.Length..].Split('/');
        for (var i = 0; i < segments.Length; i++)
        {
            string decoded;
            try
            {
                decoded = Uri.UnescapeDataString(segments[i]);
            }
            catch (UriFormatException)
            {
                error = $"Segment {i + 1} is not valid percent-encoding.";
                return false;
            }

            if (decoded.Contains('/', StringComparison.Ordinal))
            {
                error = $"Segment {i + 1} holds an encoded '/'; send separators unencoded.";
                return false;
            }

            segments[i] = decoded;
        }

        return RemotePath.TryParse(string.Join('/', segments), out path, out error);
    }
}
