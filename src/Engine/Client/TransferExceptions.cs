using TurboMft.Engine.Integrity;

namespace TurboMft.Engine.Client;

/// <summary>A transfer failed; the message says which file and what to do. Base of the client's typed errors.</summary>
public class TransferException : IOException
{
    /// <summary>Creates the error.</summary>
    public TransferException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}

/// <summary>The server's committed digest, or the downloaded bytes' digest, differs from the expected one: nothing is trusted.</summary>
public sealed class TransferVerificationException : TransferException
{
    /// <summary>Creates the error naming both digests.</summary>
    public TransferVerificationException(string path, string expected, string actual, string what)
        : base($"Verification failed for '{path}': {what}: expected {expected}, got {actual}. The transfer was not accepted; run it again, and if it repeats, check the disk and network path.")
    {
        Path = path;
        Expected = expected;
        Actual = actual;
    }

    /// <summary>Creates the error naming both tree digests.</summary>
    public TransferVerificationException(string path, FileDigest expected, FileDigest actual, string what)
        : this(path, expected.ToString(), actual.ToString(), what)
    {
    }

    /// <summary>The local or remote path concerned.</summary>
    public string Path { get; }

    /// <summary>The digest that should have been seen.</summary>
    public string Expected { get; }

    /// <summary>The digest that was seen.</summary>
    public string Actual { get; }
}

/// <summary>
/// The server stored the upload but quarantined it: a scanner found something (docs/content-security.md, "Quarantine").
/// Nobody can download it until an administrator releases it; the message names the files and the findings.
/// </summary>
public sealed class FileQuarantinedException : TransferException
{
    /// <summary>Creates the error for the quarantined <paramref name="files"/>.</summary>
    public FileQuarantinedException(IReadOnlyList<HeldFile> files)
        : base(Describe(files))
    {
        Files = files;
    }

    /// <summary>The quarantined files.</summary>
    public IReadOnlyList<HeldFile> Files { get; }

    private static string Describe(IReadOnlyList<HeldFile> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var each = string.Join("; ", files.Select(f => $"'{f.Path}' ({f.Finding ?? "a scanner found something"})"));
        return $"The server quarantined {(files.Count == 1 ? each : $"{files.Count} files: {each}")}. "
            + "It is stored but will not be released or downloadable; an administrator can inspect it with 'turbomft quarantine list'.";
    }
}

/// <summary>The server answered with an error (an RFC 9457 problem); <see cref="ProblemType"/> is the stable part to branch on.</summary>
public sealed class ServerProblemException : TransferException
{
    /// <summary>The URN prefix of every TurboMft problem type.</summary>
    public const string TypePrefix = "urn:turbomft:problem:";

    /// <summary>The 429 of the failed-authentication throttle: the credential itself failed, so sending it again cannot help.</summary>
    public const string TooManyFailuresType = "too-many-failures";

    /// <summary>Creates the error.</summary>
    public ServerProblemException(int status, string? problemType, string message)
        : base(message)
    {
        Status = status;
        ProblemType = problemType;
    }

    /// <summary>The HTTP status code.</summary>
    public int Status { get; }

    /// <summary>The problem type without its URN prefix (e.g. <c>upload-not-found</c>); null when the body was not a problem.</summary>
    public string? ProblemType { get; }

    /// <summary>For a download refused because the file is not released (409): its state (<c>pending-scan</c>, <c>quarantined</c>, …).</summary>
    public string? ReleaseState { get; init; }

    /// <summary>True for answers that may succeed when sent again (5xx, 408, 429), except the throttle's 429 after failed authentications.</summary>
    public bool IsTransient => (Status >= 500 && Status != 507) || Status is 408 || (Status is 429 && ProblemType != TooManyFailuresType);
}

/// <summary>The TLS handshake was refused because the server's certificate is not trusted; no request was sent.</summary>
public sealed class ServerTrustException(string message, Exception? inner = null) : TransferException(message, inner);
