using TurboMft.Engine.Protocol;

namespace TurboMft.Engine.Client;

/// <summary>
/// Which local file goes to which remote path (push), and the reverse (pull). Push: a file goes exactly to the URL's path,
/// unless the URL ends in <c>/</c> or there are several sources, then into that folder under its own name; a directory
/// goes recursively with its structure, into the URL's folder under its own name when the URL ends in <c>/</c>, else to
/// the URL's path itself (as <c>cp -r dir target</c>).
/// </summary>
public static class TransferPlan
{
    /// <summary>The files to upload for <c>push SRC... URL</c>, sorted by remote path.</summary>
    public static IReadOnlyList<TransferItem> ForPush(IReadOnlyList<string> sources, TransferUrl target)
    {
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentNullException.ThrowIfNull(target);
        var intoFolder = target.IsFolder || sources.Count > 1;
        var items = new List<TransferItem>();
        foreach (var source in sources)
        {
            var full = Path.GetFullPath(source);
            if (File.Exists(full))
            {
                items.Add(new TransferItem(full, intoFolder ? RemotePaths.Combine(target.RemotePath, Path.GetFileName(full)) : target.RemotePath));
            }
            else if (Directory.Exists(full))
            {
                var trimmed = Path.TrimEndingDirectorySeparator(full);
                var root = intoFolder ? RemotePaths.Combine(target.RemotePath, Path.GetFileName(trimmed)) : target.RemotePath;
                var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = false };
                items.AddRange(Directory.EnumerateFiles(trimmed, "*", options)
                    .Select(file => new TransferItem(file, RemotePaths.Combine(root, Path.GetRelativePath(trimmed, file)))));
            }
            else
            {
                throw new FileNotFoundException($"'{source}' does not exist; give files or directories to push.", source);
            }
        }

        var duplicate = items.GroupBy(i => i.RemotePath, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"Two sources would go to the same remote path '{duplicate.Key}': {string.Join(", ", duplicate.Select(d => d.LocalPath))}.");
        }

        return [.. items.OrderBy(i => i.RemotePath, StringComparer.Ordinal)];
    }

    /// <summary>
    /// The local file for each remote file of <c>pull URL DEST</c>: a folder URL (trailing <c>/</c>) brings everything under it
    /// into DEST with its structure; a file URL goes to DEST, or into DEST when DEST is an existing directory.
    /// </summary>
    public static IReadOnlyList<TransferItem> ForPull(TransferUrl source, IReadOnlyList<RemoteFile> listed, string destination)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(listed);
        ArgumentNullException.ThrowIfNull(destination);
        var full = Path.GetFullPath(destination);
        if (!source.IsFolder)
        {
            var local = Directory.Exists(full) || destination.EndsWith('/') ? Path.Combine(full, RemotePaths.Name(source.RemotePath)) : full;
            return [new TransferItem(local, source.RemotePath)];
        }

        var prefix = source.RemotePath == RemotePaths.Root ? "/" : source.RemotePath + "/";
        return [.. listed
            .Where(f => f.Path.StartsWith(prefix, StringComparison.Ordinal))
            .Select(f => new TransferItem(LocalUnder(full, f.Path[prefix.Length..]), f.Path))
            .OrderBy(i => i.RemotePath, StringComparer.Ordinal)];
    }

    private static string LocalUnder(string root, string relative)
    {
        // The server's path rules already forbid '..'; checked again so that a hostile listing cannot write outside DEST.
        var local = Path.GetFullPath(Path.Combine(root, relative.Replace('/', Path.DirectorySeparatorChar)));
        if (!local.StartsWith(Path.TrimEndingDirectorySeparator(root) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new TransferException($"The server listed '{relative}', which would land outside '{root}'; refusing to write it.");
        }

        return local;
    }
}
