namespace TurboMft.Engine.Client;

/// <summary>
/// Minimal handling of remote paths on the client side: canonical <c>/a/b</c> text and its URL form. The server applies the
/// full rules (docs/protocol.md, "Paths"). The one place to switch to <c>TurboMft.Engine.Storage.RemotePath</c> when it lands.
/// </summary>
public static class RemotePaths
{
    /// <summary>The root folder.</summary>
    public const string Root = "/";

    /// <summary>Canonical form: leading <c>/</c>, no trailing <c>/</c>, no empty, <c>.</c> or <c>..</c> segment, no <c>\</c>.</summary>
    public static string Normalize(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        foreach (var segment in segments)
        {
            if (segment is "." or ".." || segment.Contains('\\', StringComparison.Ordinal) || segment.Any(char.IsControl))
            {
                throw new ArgumentException($"Remote path '{path}' has a segment '{segment}' that is not allowed (no '.', '..', '\\' or control characters).");
            }
        }

        return "/" + string.Join('/', segments);
    }

    /// <summary>Joins a folder and a relative path (local separators become <c>/</c>).</summary>
    public static string Combine(string folder, string relative)
    {
        ArgumentNullException.ThrowIfNull(relative);
        return Normalize(Normalize(folder) + "/" + relative.Replace(Path.DirectorySeparatorChar, '/'));
    }

    /// <summary>The last segment, e.g. <c>c.bin</c> for <c>/a/b/c.bin</c>.</summary>
    public static string Name(string path)
    {
        var canonical = Normalize(path);
        return canonical[(canonical.LastIndexOf('/') + 1)..];
    }

    /// <summary>The path as it goes into a URL after <c>/v1/files</c>: every segment percent-encoded once.</summary>
    public static string ToUrlPath(string path) =>
        string.Join('/', Normalize(path).Split('/').Select(Uri.EscapeDataString));
}

/// <summary>
/// A transfer URL <c>https://host:port/remote/path</c> split into the server's base address, the remote path, and whether a
/// trailing slash asked for "into this folder".
/// </summary>
/// <param name="BaseAddress">The server, e.g. <c>https://host:8443/</c>.</param>
/// <param name="RemotePath">The canonical remote path (<c>/</c> for the root).</param>
/// <param name="IsFolder">True when the URL ends in <c>/</c> (or names the root).</param>
public sealed record TransferUrl(Uri BaseAddress, string RemotePath, bool IsFolder)
{
    /// <summary>Parses a transfer URL; throws <see cref="ArgumentException"/> saying what is wrong.</summary>
    public static TransferUrl Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            throw new ArgumentException($"'{text}' is not a transfer URL; write https://host:port/remote/path (a trailing / means 'into this folder').");
        }

        if (uri.Scheme != Uri.UriSchemeHttps)
        {
            throw new ArgumentException($"'{text}' uses {uri.Scheme}://; TurboMft speaks HTTPS only, write https://.");
        }

        if (!string.IsNullOrEmpty(uri.UserInfo) || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
        {
            throw new ArgumentException($"'{text}' carries a user name, query or fragment; give the token with --token-file or TURBOMFT_TOKEN and write only https://host:port/remote/path.");
        }

        var escaped = uri.AbsolutePath;
        var segments = escaped.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString);
        var remote = RemotePaths.Normalize(string.Join('/', segments));
        var baseAddress = new Uri(uri.GetLeftPart(UriPartial.Authority) + "/");
        return new TransferUrl(baseAddress, remote, escaped.EndsWith('/') || remote == RemotePaths.Root);
    }

    /// <summary>Where a local file named <paramref name="name"/> goes: into the folder, or exactly to the path.</summary>
    public string Target(string name) => IsFolder ? RemotePaths.Combine(RemotePath, name) : RemotePath;
}
