using System.Text.RegularExpressions;
using TurboMft.Engine.Storage;

namespace TurboMft.Host.Replication;

/// <summary>Which way a rule moves files.</summary>
public enum ReplicationMode
{
    /// <summary>This node sends the files released in its area to the peer.</summary>
    Push,

    /// <summary>This node polls the peer's area and fetches what it lacks (the peer never connects to this node).</summary>
    Pull,
}

/// <summary>
/// A replication rule (docs/replication.md, "Rules"): files under <see cref="Area"/> on the source side go to the same
/// relative path under <see cref="Target"/> on the destination side. For push the source is this node and the
/// destination the peer; for pull the other way round.
/// </summary>
/// <param name="Name">The rule's name.</param>
/// <param name="Area">The source area.</param>
/// <param name="Peer">The peer (its outbound side: address, trust, credential).</param>
/// <param name="Mode">Push or pull.</param>
/// <param name="Target">The destination prefix (the same as the area unless mapped).</param>
/// <param name="PropagateDeletes">Push only: a file deleted here is deleted on the peer (if the peer still holds the same digest).</param>
/// <param name="Interval">Null: continuous (push on release; pull every <c>Replication:PollSeconds</c>); else the period between runs.</param>
/// <param name="BandwidthBytesPerSecond">Bytes per second for the rule's transfers together; 0: unlimited.</param>
/// <param name="Include">Glob patterns relative to the area; empty: everything.</param>
/// <param name="Exclude">Glob patterns relative to the area that are left out.</param>
/// <param name="Enabled">Disabled rules enqueue nothing.</param>
/// <param name="CreatedAt">When it was added.</param>
public sealed record ReplicationRule(
    string Name,
    RemotePath Area,
    string Peer,
    ReplicationMode Mode,
    RemotePath Target,
    bool PropagateDeletes,
    TimeSpan? Interval,
    long BandwidthBytesPerSecond,
    IReadOnlyList<string> Include,
    IReadOnlyList<string> Exclude,
    bool Enabled,
    DateTimeOffset CreatedAt)
{
    /// <summary>Most patterns in one list.</summary>
    public const int MaxPatterns = 32;

    /// <summary>The mode's name.</summary>
    public string ModeName => Mode == ReplicationMode.Pull ? "pull" : "push";

    /// <summary>Whether <paramref name="path"/> (canonical, on the source side) is under the area and passes the patterns.</summary>
    public bool Covers(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var relative = Relative(path);
        return relative is not null
            && (Include.Count == 0 || Include.Any(p => PathGlob.Matches(p, relative)))
            && !Exclude.Any(p => PathGlob.Matches(p, relative));
    }

    /// <summary>The destination path of a source path under the area.</summary>
    public string MapToTarget(string path)
    {
        var relative = Relative(path) ?? throw new ArgumentException($"'{path}' is not under the area {Area.Value} of rule {Name}.", nameof(path));
        return relative.Length == 0 ? Target.Value : Target == RemotePath.Root ? "/" + relative : Target.Value + "/" + relative;
    }

    private string? Relative(string path)
    {
        if (Area == RemotePath.Root)
        {
            return path.Length > 1 ? path[1..] : string.Empty;
        }

        return path == Area.Value ? string.Empty
            : path.StartsWith(Area.Value + "/", StringComparison.Ordinal) ? path[(Area.Value.Length + 1)..]
            : null;
    }
}

/// <summary>
/// Glob patterns of rules: <c>*</c> any characters but '/', <c>**</c> any characters, <c>?</c> one character but '/'.
/// A pattern without '/' matches the file name alone (<c>*.csv</c>); with one it matches the path relative to the area.
/// </summary>
public static partial class PathGlob
{
    /// <summary>Longest pattern.</summary>
    public const int MaxLength = 256;

    /// <summary>True when <paramref name="relative"/> matches <paramref name="pattern"/>.</summary>
    public static bool Matches(string pattern, string relative)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(relative);
        var subject = pattern.Contains('/', StringComparison.Ordinal) ? relative : relative[(relative.LastIndexOf('/') + 1)..];
        return Regex.IsMatch(subject, ToRegex(pattern), RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));
    }

    /// <summary>Checks a pattern; throws <see cref="ArgumentException"/> saying what is wrong.</summary>
    public static string Validate(string? pattern)
    {
        if (string.IsNullOrEmpty(pattern) || pattern.Length > MaxLength || pattern.Any(char.IsControl) || pattern.StartsWith('/'))
        {
            throw new ArgumentException($"Pattern '{pattern}' must be 1 to {MaxLength} characters, relative to the area (no leading '/'), without control characters.");
        }

        return pattern;
    }

    private static string ToRegex(string pattern)
    {
        var regex = new System.Text.StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '*' && i + 1 < pattern.Length && pattern[i + 1] == '*')
            {
                regex.Append(".*");
                i++;
            }
            else
            {
                regex.Append(c switch
                {
                    '*' => "[^/]*",
                    '?' => "[^/]",
                    _ => Regex.Escape(c.ToString()),
                });
            }
        }

        return regex.Append('$').ToString();
    }
}
