using TurboMft.Engine.Storage;
using TurboMft.Host.Metadata;

namespace TurboMft.Host.Scanning;

/// <summary>The file version being scanned.</summary>
/// <param name="Path">Canonical remote path (its name is what a type mismatch is judged against).</param>
/// <param name="Size">Plaintext size in bytes.</param>
/// <param name="Digest">The <c>sha256-tree:…</c> identity.</param>
/// <param name="Sha256">Whole-file SHA-256 as 64 lower-case hex digits, when known (one-shot uploads, sha256 mode), else null.</param>
public sealed record ScanSubject(RemotePath Path, long Size, string Digest, string? Sha256);

/// <summary>
/// One scanner in the chain. It reads the decrypted plaintext as a stream that the chain opens for it (a fresh stream per
/// call, read from the encrypted container chunk by chunk: plaintext never touches the disk) and must honour the token.
/// </summary>
public interface IContentScanner
{
    /// <summary>Name used in verdicts and configuration.</summary>
    string Name { get; }

    /// <summary>Scans the file. Exceptions are turned into <see cref="ScanOutcome.Error"/> verdicts by the chain.</summary>
    Task<ScanVerdict> ScanAsync(ScanSubject subject, Func<Stream> openPlaintext, AreaContentPolicy policy, CancellationToken cancellationToken);
}

/// <summary>The verdicts of the whole chain for one file and the conclusion drawn from them.</summary>
/// <param name="Verdicts">Every scanner's verdict, in chain order.</param>
public sealed record ScanReport(IReadOnlyList<ScanVerdict> Verdicts)
{
    /// <summary>Infected if any scanner found something; else Error if any could not decide; else Clean.</summary>
    public ScanOutcome Outcome =>
        Verdicts.Any(v => v.Outcome == ScanOutcome.Infected) ? ScanOutcome.Infected
        : Verdicts.Any(v => v.Outcome == ScanOutcome.Error) ? ScanOutcome.Error
        : ScanOutcome.Clean;
}

/// <summary>Runs every scanner an area's policy asks for over one file version.</summary>
public interface IScannerChain
{
    /// <summary>The scanners' verdicts; never throws for a scanner's failure (that is an Error verdict).</summary>
    Task<ScanReport> ScanAsync(ScanSubject subject, Func<Stream> openPlaintext, CancellationToken cancellationToken);

    /// <summary>The policy that applies to <paramref name="path"/> (the deepest configured area containing it, else the default).</summary>
    AreaContentPolicy PolicyFor(RemotePath path);
}

/// <summary>
/// Content rules of one area (docs/content-security.md): file types allowed or denied (detected from content, not the
/// name), whether a second person must approve before release, and when an unapproved version is rejected automatically.
/// </summary>
/// <param name="Area">The area (path prefix).</param>
/// <param name="AllowTypes">If set, only these detected types are accepted (e.g. <c>csv</c>, <c>text</c>, <c>dicom</c>, <c>zip</c>).</param>
/// <param name="DenyTypes">These detected types are findings (e.g. <c>pe</c>, <c>elf</c>, <c>macho</c>, <c>script</c>).</param>
/// <param name="RequireApproval">Four-eyes: after a clean scan, wait for a user with <c>approve</c> here who is not the uploader.</param>
/// <param name="ApprovalExpiry">Pending approvals older than this are rejected automatically; null waits forever.</param>
public sealed record AreaContentPolicy(
    RemotePath Area,
    IReadOnlyList<string>? AllowTypes = null,
    IReadOnlyList<string>? DenyTypes = null,
    bool RequireApproval = false,
    TimeSpan? ApprovalExpiry = null);
