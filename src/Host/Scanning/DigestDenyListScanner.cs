using System.Buffers;
using System.Collections.Frozen;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using TurboMft.Engine.Integrity;
using TurboMft.Host.Metadata;

namespace TurboMft.Host.Scanning;

/// <summary>
/// Known-bad SHA-256 digests (docs/content-security.md, "digest-deny-list"): a file with one hex digest per line, an
/// optional label after whitespace, <c>#</c> comment lines (the output of <c>sha256sum</c> works as is). The list is
/// re-read when its size or modification time changes, checked at most every <see cref="CheckInterval"/>, so a new
/// indicator takes effect without a restart. A missing, unreadable or invalid list is an Error verdict (fail closed).
/// Finding: <c>sha256-deny-list:&lt;label or digest&gt;</c>.
/// </summary>
public sealed class DigestDenyListScanner : IContentScanner
{
    /// <summary>The scanner's name in verdicts.</summary>
    public const string ScannerName = "digest-deny-list";

    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private volatile DenyList? _list;
    private long _nextCheck = long.MinValue;

    /// <summary>Creates the scanner over the list file at <paramref name="path"/>; the file is read on first use.</summary>
    public DigestDenyListScanner(string path, TimeProvider? time = null, TimeSpan? checkInterval = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ListPath = Path.GetFullPath(path);
        _time = time ?? TimeProvider.System;
        CheckInterval = checkInterval ?? TimeSpan.FromSeconds(2);
    }

    /// <summary>The deny-list file.</summary>
    public string ListPath { get; }

    /// <summary>How often, at most, the file's size and modification time are compared with the loaded copy.</summary>
    public TimeSpan CheckInterval { get; }

    /// <inheritdoc />
    public string Name => ScannerName;

    /// <inheritdoc />
    public async Task<ScanVerdict> ScanAsync(ScanSubject subject, Func<Stream> openPlaintext, AreaContentPolicy policy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(openPlaintext);
        DenyList list;
        try
        {
            list = Current();
        }
        catch (DenyListException e)
        {
            return new ScanVerdict(Name, "unavailable", ScanOutcome.Error, Detail: e.Message);
        }

        var digest = WholeFileSha256.Hex(subject.Sha256) ?? await HashAsync(openPlaintext, cancellationToken).ConfigureAwait(false);
        return list.Entries.TryGetValue(digest, out var label)
            ? new ScanVerdict(Name, list.Version, ScanOutcome.Infected, "sha256-deny-list:" + (label ?? digest), $"SHA-256 {digest} is on the deny list {ListPath}")
            : new ScanVerdict(Name, list.Version, ScanOutcome.Clean);
    }

    private DenyList Current()
    {
        var now = _time.GetTimestamp();
        var list = _list;
        if (list is not null && now < Volatile.Read(ref _nextCheck))
        {
            return list;
        }

        lock (_gate)
        {
            list = _list;
            if (list is not null && now < _nextCheck)
            {
                return list;
            }

            var info = new FileInfo(ListPath);
            if (!info.Exists)
            {
                // Fail closed on every scan until the list is back; checking again each time costs one stat.
                _list = null;
                throw new DenyListException($"the deny-list file {ListPath} does not exist; restore it or remove Content:DenyListFile.");
            }

            if (list is null || list.Size != info.Length || list.Modified != info.LastWriteTimeUtc)
            {
                try
                {
                    list = DenyList.Load(info);
                }
                catch (DenyListException)
                {
                    _list = null;
                    throw;
                }

                _list = list;
            }

            Volatile.Write(ref _nextCheck, now + (long)(CheckInterval.TotalSeconds * _time.TimestampFrequency));
            return list;
        }
    }

    private static async Task<string> HashAsync(Func<Stream> openPlaintext, CancellationToken cancellationToken)
    {
        var stream = openPlaintext();
        await using (stream.ConfigureAwait(false))
        {
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = ArrayPool<byte>.Shared.Rent(256 * 1024);
            try
            {
                int read;
                while ((read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    sha.AppendData(buffer, 0, read);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            return Convert.ToHexStringLower(sha.GetHashAndReset());
        }
    }

    /// <summary>One loaded copy of the list file.</summary>
    private sealed class DenyList(FrozenDictionary<string, string?> entries, long size, DateTime modified, string version)
    {
        public FrozenDictionary<string, string?> Entries => entries;

        public long Size => size;

        public DateTime Modified => modified;

        public string Version => version;

        public static DenyList Load(FileInfo info)
        {
            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(info.FullName);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new DenyListException($"the deny-list file {info.FullName} cannot be read: {e.Message}");
            }

            var entries = new Dictionary<string, string?>(StringComparer.Ordinal);
            var lineNumber = 0;
            foreach (var raw in Encoding.UTF8.GetString(bytes).Split('\n'))
            {
                lineNumber++;
                var line = raw.Trim();
                if (line.Length == 0 || line[0] == '#')
                {
                    continue;
                }

                var space = line.IndexOfAny([' ', '\t']);
                var hex = space < 0 ? line : line[..space];
                if (hex.Length != 64 || WholeFileSha256.Hex(hex) is not { } digest)
                {
                    throw new DenyListException($"{info.FullName}:{lineNumber.ToString(CultureInfo.InvariantCulture)}: '{Shorten(hex)}' is not a SHA-256 digest (64 hex digits); fix the line or comment it out with '#'.");
                }

                // sha256sum marks binary mode with '*' before the name.
                var label = space < 0 ? null : line[(space + 1)..].Trim().TrimStart('*');
                entries[digest] = string.IsNullOrEmpty(label) ? null : label;
            }

            var identity = Convert.ToHexStringLower(SHA256.HashData(bytes))[..12];
            return new DenyList(entries.ToFrozenDictionary(StringComparer.Ordinal), bytes.LongLength, info.LastWriteTimeUtc, $"{entries.Count} digests, sha256:{identity}");
        }

        private static string Shorten(string text) => text.Length <= 20 ? text : text[..20] + "…";
    }
}

/// <summary>The deny-list file is missing, unreadable or invalid: scans return Error until it is fixed.</summary>
internal sealed class DenyListException(string message) : Exception(message);
