using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TurboMft.Engine.Container;
using TurboMft.Engine.Storage;
using TurboMft.Host.Metadata;

namespace TurboMft.Host.Scanning;

/// <summary>
/// The scanner chain (docs/content-security.md, "Scanner chain"): every scanner runs over its own fresh plaintext stream,
/// in order (digest-deny-list, file-type, archive, clamav), each under the scan timeout. A scanner that throws, times out
/// or reads a container that fails verification yields an Error verdict with the reason; nothing it does fails the
/// chain. Stateless per call: any number of files may be scanned at once.
/// </summary>
public sealed class ScannerChain : IScannerChain
{
    private readonly ILogger _logger;

    /// <summary>Creates a chain of <paramref name="scanners"/>, run in the order given.</summary>
    public ScannerChain(IReadOnlyList<IContentScanner> scanners, ContentPolicies policies, TimeSpan scanTimeout, ILogger<ScannerChain>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(scanners);
        ArgumentNullException.ThrowIfNull(policies);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(scanTimeout, TimeSpan.Zero);
        Scanners = [.. scanners];
        Policies = policies;
        ScanTimeout = scanTimeout;
        _logger = logger ?? NullLogger<ScannerChain>.Instance;
    }

    /// <summary>The scanners, in the order they run.</summary>
    public IReadOnlyList<IContentScanner> Scanners { get; }

    /// <summary>The area policies.</summary>
    public ContentPolicies Policies { get; }

    /// <summary>How long each scanner may take for one file.</summary>
    public TimeSpan ScanTimeout { get; }

    /// <summary>
    /// The chain the settings describe: the digest deny-list (if a list file is set), the file-type policy, the archive
    /// walk and ClamAV (if clamd is set). Validates the settings first.
    /// </summary>
    /// <exception cref="ContentSettingsException">A setting is invalid.</exception>
    public static ScannerChain Create(ContentSettings settings, TimeProvider? time = null, ILoggerFactory? loggers = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var policies = ContentPolicies.FromSettings(settings);
        time ??= TimeProvider.System;
        loggers ??= NullLoggerFactory.Instance;
        var scanners = new List<IContentScanner>();
        if (settings.DenyListFile is { } list)
        {
            scanners.Add(new DigestDenyListScanner(list, time));
        }

        scanners.Add(new FileTypeScanner());
        scanners.Add(new ArchiveScanner((settings.Archive ?? new ArchiveSettings()).ToLimits()));
        if (settings.Clamd is { } clamd)
        {
            scanners.Add(new ClamdScanner(ClamdEndpoint.Parse(clamd), time: time));
        }

        var logger = loggers.CreateLogger<ScannerChain>();
        if (settings.Clamd is null)
        {
            // Information, not a warning: most installations start without clamd until content security is set up.
            logger.LogInformation("Content:Clamd is not set: files are released without a malware scan (docs/content-security.md, \"clamd in production\")");
        }

        if (settings.DenyListFile is { } path && !File.Exists(path))
        {
            logger.LogWarning("Content:DenyListFile {Path} does not exist: every scan is an Error (files are held) until it does", path);
        }

        return new ScannerChain(scanners, policies, TimeSpan.FromSeconds(settings.ScanTimeoutSeconds), logger);
    }

    /// <inheritdoc />
    public AreaContentPolicy PolicyFor(RemotePath path) => Policies.For(path);

    /// <inheritdoc />
    public async Task<ScanReport> ScanAsync(ScanSubject subject, Func<Stream> openPlaintext, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(openPlaintext);
        var policy = PolicyFor(subject.Path);
        var verdicts = new List<ScanVerdict>(Scanners.Count);
        foreach (var scanner in Scanners)
        {
            var verdict = await RunAsync(scanner, subject, openPlaintext, policy, cancellationToken).ConfigureAwait(false);
            if (verdict.Outcome != ScanOutcome.Clean)
            {
                _logger.LogWarning(
                    "Scan of {Path} ({Digest}): {Scanner} {Version} {Outcome} {Finding} {Detail}",
                    subject.Path, subject.Digest, verdict.Scanner, verdict.ScannerVersion, verdict.Outcome, verdict.Finding, verdict.Detail);
            }

            verdicts.Add(verdict);
        }

        return new ScanReport(verdicts);
    }

    private async Task<ScanVerdict> RunAsync(IContentScanner scanner, ScanSubject subject, Func<Stream> openPlaintext, AreaContentPolicy policy, CancellationToken cancellationToken)
    {
        var opened = new OpenedStreams(openPlaintext);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ScanTimeout);
        Task<ScanVerdict> scan;
        try
        {
            scan = scanner.ScanAsync(subject, opened.Open, policy, timeout.Token);
        }
        catch (Exception e)
        {
            scan = Task.FromException<ScanVerdict>(e);
        }

        try
        {
            // WaitAsync: a scanner that ignores its token still cannot hold the chain past the timeout.
            return await scan.WaitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException)
        {
            return Error(scanner, $"no verdict within the scan timeout of {ScanTimeout.TotalSeconds:0.#} s (Content:ScanTimeoutSeconds); the file is held.");
        }
        catch (ContainerException e)
        {
            return Error(scanner, $"the stored file failed verification while being scanned: {e.Message}");
        }
        catch (Exception e)
        {
            return Error(scanner, $"the scanner failed ({e.GetType().Name}): {e.Message}");
        }
        finally
        {
            // Streams are closed once the scanner is done with them, even if it only finishes after its timeout.
            if (scan.IsCompleted)
            {
                await opened.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                _ = scan.ContinueWith(_ => opened.DisposeAsync().AsTask(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).Unwrap();
            }
        }
    }

    private static ScanVerdict Error(IContentScanner scanner, string detail) => new(scanner.Name, "unknown", ScanOutcome.Error, Detail: detail);

    /// <summary>The plaintext streams one scanner opened, closed when it is done.</summary>
    private sealed class OpenedStreams(Func<Stream> open) : IAsyncDisposable
    {
        private readonly List<Stream> _streams = [];

        public Stream Open()
        {
            var stream = open();
            lock (_streams)
            {
                _streams.Add(stream);
            }

            return stream;
        }

        public async ValueTask DisposeAsync()
        {
            Stream[] streams;
            lock (_streams)
            {
                streams = [.. _streams];
                _streams.Clear();
            }

            foreach (var stream in streams)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
