using System.Collections.Concurrent;
using System.Text;
using TurboMft.Engine.Storage;
using TurboMft.Host.Metadata;
using TurboMft.Host.Notifications;
using TurboMft.Host.Scanning;

namespace TurboMft.Host.Tests.Release;

/// <summary>
/// A deterministic scanner chain for tests (a test double of <see cref="IScannerChain"/>, not a scanner): content holding the
/// EICAR test string is infected with <see cref="Signature"/>; <see cref="Down"/> makes every scan an Error, as a clamd
/// that does not answer would; areas in <see cref="ApprovalAreas"/> require four-eyes approval.
/// </summary>
internal sealed class TestScannerChain : IScannerChain
{
    public const string ScannerName = "test-av";
    public const string ScannerVersion = "TestAV 1.0/42";
    public const string Signature = "Eicar-Test-Signature";

    private int _scans;

    /// <summary>The EICAR anti-virus test file, built at run time so that no source file holds it.</summary>
    public static byte[] Eicar { get; } = Encoding.ASCII.GetBytes(@"X5O!P%@AP[4\PZX54(P^)7CC)7}$" + "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*");

    public volatile bool Down;

    /// <summary>Scans never finish (until cancelled), as a scanner without a timeout of its own that stopped answering.</summary>
    public volatile bool Hang;

    public List<RemotePath> ApprovalAreas { get; } = [];

    public TimeSpan? ApprovalExpiry { get; set; }

    public int Scans => Volatile.Read(ref _scans);

    /// <summary>The SHA-256 (hex) of the plaintext each path's last scan read, to check the stream against the file.</summary>
    public ConcurrentDictionary<string, string> PlaintextSha256 { get; } = new();

    public async Task<ScanReport> ScanAsync(ScanSubject subject, Func<Stream> openPlaintext, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _scans);
        if (Hang)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        if (Down)
        {
            return new ScanReport([new ScanVerdict(ScannerName, ScannerVersion, ScanOutcome.Error, null, "connection refused (test: scanner down)")]);
        }

        await using var plaintext = openPlaintext();
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        var found = await ContainsAsync(plaintext, Eicar, sha, cancellationToken);
        PlaintextSha256[subject.Path.Value] = Convert.ToHexStringLower(sha.GetHashAndReset());
        return new ScanReport(
        [
            found ? new ScanVerdict(ScannerName, ScannerVersion, ScanOutcome.Infected, Signature) : new ScanVerdict(ScannerName, ScannerVersion, ScanOutcome.Clean),
            new ScanVerdict("test-type", "1", ScanOutcome.Clean),
        ]);
    }

    public AreaContentPolicy PolicyFor(RemotePath path)
    {
        var area = ApprovalAreas.FirstOrDefault(path.IsUnder);
        return area is null ? new AreaContentPolicy(RemotePath.Root) : new AreaContentPolicy(area, RequireApproval: true, ApprovalExpiry: ApprovalExpiry);
    }

    // Reads in small pieces, keeping the last marker-length bytes, so a marker across any boundary is found.
    private static async Task<bool> ContainsAsync(Stream stream, byte[] marker, System.Security.Cryptography.IncrementalHash sha, CancellationToken cancellationToken)
    {
        var buffer = new byte[8192 + marker.Length];
        var kept = 0;
        var found = false;
        int read;
        while ((read = await stream.ReadAsync(buffer.AsMemory(kept, 8192), cancellationToken)) > 0)
        {
            sha.AppendData(buffer, kept, read);
            var filled = kept + read;
            found |= buffer.AsSpan(0, filled).IndexOf(marker) >= 0;

            kept = Math.Min(marker.Length - 1, filled);
            buffer.AsSpan(filled - kept, kept).CopyTo(buffer);
        }

        return found;
    }
}

/// <summary>An incident notifier for tests that keeps what it is given.</summary>
internal sealed class RecordingIncidentNotifier : IIncidentNotifier
{
    private readonly ConcurrentQueue<Incident> _incidents = new();

    public IReadOnlyList<Incident> Incidents => [.. _incidents];

    public void Raise(Incident incident) => _incidents.Enqueue(incident);
}
