namespace TurboMft.Host.Metadata;

/// <summary>What one scanner concluded about a file.</summary>
public enum ScanOutcome
{
    /// <summary>Nothing found.</summary>
    Clean,

    /// <summary>A finding: malware, a forbidden or disguised file type, a known-bad digest, a decompression bomb.</summary>
    Infected,

    /// <summary>The scanner could not decide (down, timed out, unreadable input): the file is held, never released (fail closed).</summary>
    Error,
}

/// <summary>One scanner's verdict, with what an operator and the audit trail need: which scanner (and version) and what it found.</summary>
/// <param name="Scanner">Scanner name: <c>clamav</c>, <c>file-type</c>, <c>digest-deny-list</c>, <c>archive</c>.</param>
/// <param name="ScannerVersion">Its version (for ClamAV: engine and signature database, as clamd's VERSION reports).</param>
/// <param name="Outcome">Clean, infected or error.</param>
/// <param name="Finding">For <see cref="ScanOutcome.Infected"/>: the signature or rule, e.g. <c>Eicar-Signature</c>, <c>type-denied:elf</c>, <c>type-mismatch:elf-as-csv</c>, <c>zip-bomb</c>.</param>
/// <param name="Detail">Short explanation, never file content.</param>
public sealed record ScanVerdict(string Scanner, string ScannerVersion, ScanOutcome Outcome, string? Finding = null, string? Detail = null);
