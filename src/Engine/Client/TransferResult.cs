using TurboMft.Engine.Protocol;

namespace TurboMft.Engine.Client;

/// <summary>The outcome of a verified transfer (the <c>--json</c> summary of push and pull).</summary>
public sealed record TransferResult
{
    /// <summary>Plaintext bytes of the files transferred.</summary>
    public long Bytes { get; init; }

    /// <summary>Payload bytes actually sent or received this run (after compression, without chunks the server already held).</summary>
    public long BytesSent { get; init; }

    /// <summary>Files transferred.</summary>
    public int Files { get; init; }

    /// <summary>Chunks in the files (one-shot uploads count one each).</summary>
    public long Chunks { get; init; }

    /// <summary>Chunks the server already held from an earlier run and that were not sent again.</summary>
    public long ChunksSkipped { get; init; }

    /// <summary>Wall time in seconds.</summary>
    public double Seconds { get; init; }

    /// <summary>Plaintext megabytes (10⁶ bytes) per second.</summary>
    public double ThroughputMBps => Seconds > 0 ? Bytes / Seconds / 1e6 : 0;

    /// <summary>The verified <c>sha256-tree:…</c> digest, for a single file; null for several.</summary>
    public string? Digest { get; init; }

    /// <summary>
    /// The release state the server reported for a single uploaded file (<c>released</c>, <c>pending-scan</c>,
    /// <c>pending-approval</c>; docs/content-security.md); null for several files and for downloads. A server without
    /// release states reports none and its files count as released. (A quarantined upload is an error, not a state.)
    /// </summary>
    public string? State { get; init; }

    /// <summary>Uploaded files the server holds back (not released yet, or quarantined), with their state; null when none.</summary>
    public IReadOnlyList<HeldFile>? Held { get; init; }

    /// <summary>Adds two results: sums, and the digest only when there is one file.</summary>
    public TransferResult Plus(TransferResult other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new TransferResult
        {
            Bytes = Bytes + other.Bytes,
            BytesSent = BytesSent + other.BytesSent,
            Files = Files + other.Files,
            Chunks = Chunks + other.Chunks,
            ChunksSkipped = ChunksSkipped + other.ChunksSkipped,
            Seconds = Seconds + other.Seconds,
            Digest = Files + other.Files == 1 ? Digest ?? other.Digest : null,
            State = Files + other.Files == 1 ? State ?? other.State : null,
            Held = Held is null ? other.Held : other.Held is null ? Held : [.. Held, .. other.Held],
        };
    }
}

/// <summary>Progress of a transfer, reported after each chunk or small file.</summary>
/// <param name="BytesDone">Plaintext bytes finished (sent, skipped or received).</param>
/// <param name="TotalBytes">Plaintext bytes in all.</param>
/// <param name="FilesDone">Files finished.</param>
/// <param name="FileCount">Files in all.</param>
public readonly record struct TransferProgress(long BytesDone, long TotalBytes, int FilesDone, int FileCount);

/// <summary>One file of a transfer: where it is here and where it goes there.</summary>
/// <param name="LocalPath">Full local path.</param>
/// <param name="RemotePath">Canonical remote path.</param>
public sealed record TransferItem(string LocalPath, string RemotePath);

/// <summary>An uploaded file the server holds back.</summary>
/// <param name="Path">Canonical remote path.</param>
/// <param name="State"><c>pending-scan</c>, <c>pending-approval</c> or <c>quarantined</c>.</param>
/// <param name="Finding">For a quarantined file: which scanner (and version) found what.</param>
public sealed record HeldFile(string Path, string State, string? Finding)
{
    /// <summary>The file at <paramref name="remote"/> as <paramref name="commit"/> holds it back, or null when it was released (or the server does not say).</summary>
    internal static HeldFile? Of(CommittedVersion commit, string remote) => commit.State is null or ReleaseStates.Released
        ? null
        : new HeldFile(remote, commit.State, commit.Findings is { Count: > 0 } found ? string.Join("; ", found.Select(f => $"{f.Scanner} {f.ScannerVersion} found {f.Finding}")) : null);
}
