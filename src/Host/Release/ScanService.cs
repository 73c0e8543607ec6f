using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TurboMft.Engine.Crypto;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Storage;
using TurboMft.Host.Audit;
using TurboMft.Host.Cluster;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Metadata;
using TurboMft.Host.Notifications;
using TurboMft.Host.Scanning;

namespace TurboMft.Host.Release;

/// <summary>
/// Scans committed versions and moves them out of <c>pending-scan</c> (docs/content-security.md, "Release states"): a
/// fixed number of workers take version ids from a queue fed by commits and by a periodic sweep of the database (so
/// versions left pending by a restart or held by a scanner error are picked up), run the <see cref="IScannerChain"/> over
/// the version's decrypted plaintext (streamed chunk by chunk), record the verdicts and decide:
/// <list type="bullet">
/// <item>infected: <c>quarantined</c>, audited (<c>scan.verdict</c>, <c>file.quarantined</c>) and an incident raised;</item>
/// <item>error (a scanner down or timed out): stays <c>pending-scan</c> (fail closed), audited once (<c>scan.held</c>),
/// scanned again with backoff; one <c>scanner-unavailable</c> incident per outage;</item>
/// <item>clean: <c>released</c>, or <c>pending-approval</c> where the area's policy requires four-eyes.</item>
/// </list>
/// The sweep also rejects approvals past their expiry. Stopping cancels scans in progress; their versions stay pending
/// and are scanned at the next start.
/// </summary>
/// <remarks>
/// The chain and the incident notifier are optional services. With no <see cref="IScannerChain"/> registered (only when
/// TurboMft is embedded without one: the <c>turbomft</c> executable always registers the real chain), versions are
/// released unscanned with a <c>file.released</c> record saying so; with no <see cref="IIncidentNotifier"/> incidents
/// are only logged.
/// </remarks>
public sealed class ScanService : BackgroundService
{
    private const int SweepBatch = 1000;

    /// <summary>Most versions one worker scans before releasing those found clean together.</summary>
    private const int ReleaseBatch = 64;

    private readonly IMetadataStore _metadata;
    private readonly IObjectStore _store;
    private readonly KeyRing _keys;
    private readonly IAuditTrail _audit;
    private readonly ReleaseDecisions _decisions;
    private readonly TimeProvider _time;
    private readonly ILogger<ScanService> _logger;
    private readonly ContentSettings _settings;
    private readonly IScannerChain? _chain;
    private readonly IIncidentNotifier? _notifier;
    private readonly ScanMetrics _metrics;
    private readonly ClusterLeases _leases;
    private readonly Channel<Guid> _queue = Channel.CreateUnbounded<Guid>();
    private readonly ConcurrentDictionary<Guid, byte> _queued = new();
    private readonly ConcurrentDictionary<Guid, HeldScan> _held = new();
    private readonly ConcurrentDictionary<Guid, TaskCompletionSource<ReleaseState>> _waiters = new();
    private readonly ServerBuffers? _buffers;
    private int _outage;

    /// <summary>Creates the service; the chain and notifier are taken from <paramref name="services"/> if registered.</summary>
    public ScanService(
        IMetadataStore metadata,
        IObjectStore store,
        KeyRing keys,
        IAuditTrail audit,
        ReleaseDecisions decisions,
        ContentSettings settings,
        TimeProvider time,
        ScanMetrics metrics,
        ClusterLeases leases,
        ILogger<ScanService> logger,
        IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(services);
        _metadata = metadata;
        _store = store;
        _keys = keys;
        _audit = audit;
        _decisions = decisions;
        _time = time;
        _logger = logger;
        _settings = settings;
        _settings.ValidateRelease();
        _chain = services.GetService<IScannerChain>();
        _notifier = services.GetService<IIncidentNotifier>();
        _metrics = metrics;
        _leases = leases;
        metrics.Observe(() => _queued.Count, () => _held.Count, () => _chain is not null && Volatile.Read(ref _outage) == 0);
        _buffers = services.GetService<ServerBuffers>();
    }

    /// <summary>Whether a scanner chain is configured (false only when embedded without one: versions are then released unscanned).</summary>
    public bool HasScanner => _chain is not null;

    /// <summary>Queues <paramref name="versionId"/> for a scan (once: a version already queued or being scanned is not queued again).</summary>
    public void Submit(Guid versionId)
    {
        if (_queued.TryAdd(versionId, 0) && !_queue.Writer.TryWrite(versionId))
        {
            _queued.TryRemove(versionId, out _);
        }
    }

    /// <summary>
    /// Queues a just-committed version and waits up to <c>Content:InlineScanWaitSeconds</c> for its scan, so that a client
    /// that pushes and then downloads at once finds the file released. Returns the version's state then: still
    /// <see cref="ReleaseState.PendingScan"/> when the wait ran out or a scanner could not decide (the scan goes on).
    /// </summary>
    public async Task<ReleaseState> SubmitAndWaitAsync(Guid versionId, CancellationToken cancellationToken) =>
        (await SubmitAndWaitAsync([versionId], cancellationToken).ConfigureAwait(false))[0];

    /// <summary>
    /// <see cref="SubmitAndWaitAsync(Guid, CancellationToken)"/> for the versions a batch upload committed together: one
    /// database read checks them all, and one wait (the same limit) covers them all. States are in the order of the ids.
    /// </summary>
    public async Task<ReleaseState[]> SubmitAndWaitAsync(IReadOnlyList<Guid> versionIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(versionIds);
        var states = new ReleaseState[versionIds.Count];
        Array.Fill(states, ReleaseState.PendingScan);
        var wait = TimeSpan.FromSeconds(_settings.InlineScanWaitSeconds);

        // Not started, or stopping: nobody would scan them now; the sweep at the next start will.
        if (wait <= TimeSpan.Zero || ExecuteTask is null or { IsCompleted: true })
        {
            foreach (var id in versionIds)
            {
                Submit(id);
            }

            return states;
        }

        var decided = new TaskCompletionSource<ReleaseState>[versionIds.Count];
        for (var i = 0; i < decided.Length; i++)
        {
            decided[i] = new TaskCompletionSource<ReleaseState>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters[versionIds[i]] = decided[i];
        }

        try
        {
            foreach (var id in versionIds)
            {
                Submit(id);
            }

            // The sweep may have scanned some between the commit and the registration above.
            var now = await _metadata.GetVersionsAsync(versionIds, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < decided.Length; i++)
            {
                if (!now.TryGetValue(versionIds[i], out var version) || version.State != ReleaseState.PendingScan || _held.ContainsKey(versionIds[i]))
                {
                    decided[i].TrySetResult(version?.State ?? ReleaseState.PendingScan);
                }
            }

            try
            {
                // Request time is wall-clock time, whatever clock the service decides expiry by.
                await Task.WhenAll(decided.Select(d => d.Task)).WaitAsync(wait, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Those not decided yet answer pending-scan; their scans go on.
            }

            for (var i = 0; i < decided.Length; i++)
            {
                if (decided[i].Task.IsCompletedSuccessfully)
                {
                    states[i] = decided[i].Task.Result;
                }
            }

            return states;
        }
        finally
        {
            for (var i = 0; i < decided.Length; i++)
            {
                _waiters.TryRemove(new KeyValuePair<Guid, TaskCompletionSource<ReleaseState>>(versionIds[i], decided[i]));
            }
        }
    }

    /// <summary>
    /// One sweep: queues the versions pending a scan whose retry time has come, rejects approvals past their expiry, and
    /// forgets held versions that were deleted or superseded. Runs every <c>Content:ScanSweepSeconds</c>, first at start,
    /// on the node holding <see cref="LeaseNames.ScanSweep"/> only (docs/cluster.md): on the others it does nothing, and
    /// their own commits are still scanned inline (<see cref="SubmitAndWaitAsync(Guid, CancellationToken)"/>). Returns
    /// false when another node holds the lease.
    /// </summary>
    /// <exception cref="LeaseLostException">The lease was lost part-way; the approvals rejected before stay rejected.</exception>
    public async Task<bool> SweepAsync(CancellationToken cancellationToken)
    {
        if (await _leases.HoldAsync(LeaseNames.ScanSweep, cancellationToken).ConfigureAwait(false) is not { } lease)
        {
            return false;
        }

        var now = _time.GetUtcNow();
        var pending = await _metadata.ListVersionsInStateAsync(ReleaseState.PendingScan, SweepBatch, cancellationToken).ConfigureAwait(false);
        foreach (var version in pending)
        {
            if (!_held.TryGetValue(version.VersionId, out var held) || held.NextAttempt <= now)
            {
                Submit(version.VersionId);
            }
        }

        if (pending.Count < SweepBatch)
        {
            var stillPending = pending.Select(v => v.VersionId).ToHashSet();
            foreach (var id in _held.Keys.Where(id => !stillPending.Contains(id)))
            {
                _held.TryRemove(id, out _);
            }
        }

        foreach (var version in await _metadata.ListVersionsInStateAsync(ReleaseState.PendingApproval, SweepBatch, cancellationToken).ConfigureAwait(false))
        {
            if (version.ApprovalExpiresAt is not { } expires || expires > now)
            {
                continue;
            }

            // The decision itself is a compare-and-set of the release state; the token keeps a stale holder from trying.
            await lease.EnsureCurrentAsync(cancellationToken).ConfigureAwait(false);
            if (await _decisions.ExpireAsync(version, cancellationToken).ConfigureAwait(false))
            {
                _logger.LogInformation("Version {Version} of {Path}: approval expired; rejected", version.VersionId, version.Path);
            }
        }

        return true;
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        if (_chain is null)
        {
            // Information, not a warning: only an embedding without a chain gets here, and every release says so in the audit trail.
            _logger.LogInformation("No content scanner is configured: committed files are released unscanned (embedding only; turbomft serve always scans)");
        }

        var workers = Enumerable.Range(0, _settings.ScanConcurrency).Select(_ => WorkAsync(stoppingToken)).ToList();
        workers.Add(SweepLoopAsync(stoppingToken));
        try
        {
            await Task.WhenAll(workers).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: versions being scanned stay pending and are scanned at the next start.
        }
        finally
        {
            foreach (var waiter in _waiters.Values)
            {
                waiter.TrySetResult(ReleaseState.PendingScan);
            }
        }
    }

    private async Task SweepLoopAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(_settings.ScanSweepSeconds), _time);
        do
        {
            try
            {
                await SweepAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // One failed sweep must not stop later ones.
                _logger.LogError(e, "Sweeping for versions to scan failed");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    /// <summary>
    /// One worker: takes the ids queued now (up to <see cref="ReleaseBatch"/>), scans them one by one, and releases those
    /// scanned clean together (one transaction, one audit fsync), so a batch upload is not released file by file.
    /// </summary>
    private async Task WorkAsync(CancellationToken stoppingToken)
    {
        var reader = _queue.Reader;
        var taken = new List<Guid>(ReleaseBatch);
        var clean = new List<ScannedClean>(ReleaseBatch);
        while (await reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
        {
            taken.Clear();
            clean.Clear();
            while (taken.Count < ReleaseBatch && reader.TryRead(out var id))
            {
                taken.Add(id);
            }

            foreach (var versionId in taken)
            {
                var state = ReleaseState.PendingScan;
                ScannedClean? release = null;
                try
                {
                    (state, release) = await ScanAsync(versionId, stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    // The store or the audit log failed, not a scanner: try again later, as for a held version.
                    _logger.LogError(e, "Version {Version}: scan could not be completed; it stays pending", versionId);
                    ScheduleRetry(versionId);
                }
                finally
                {
                    if (release is null)
                    {
                        Finish(versionId, state);
                    }
                    else
                    {
                        clean.Add(release);
                    }
                }
            }

            if (clean.Count > 0)
            {
                await ReleaseCleanAsync(clean, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    private async Task ReleaseCleanAsync(List<ScannedClean> clean, CancellationToken stoppingToken)
    {
        var states = new ReleaseState[clean.Count];
        Array.Fill(states, ReleaseState.PendingScan);
        try
        {
            var released = await _decisions.ReleaseScannedAsync(clean, stoppingToken).ConfigureAwait(false);
            for (var i = 0; i < clean.Count; i++)
            {
                states[i] = released[i] ? ReleaseState.Released : await StateOfAsync(clean[i].Version.VersionId, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            _logger.LogError(e, "Releasing {Count} versions scanned clean failed; they stay pending", clean.Count);
            foreach (var scan in clean)
            {
                ScheduleRetry(scan.Version.VersionId);
            }
        }
        finally
        {
            for (var i = 0; i < clean.Count; i++)
            {
                Finish(clean[i].Version.VersionId, states[i]);
            }
        }
    }

    /// <summary>The version's scan is over for now: it may be queued again, and a commit waiting for it learns its state.</summary>
    private void Finish(Guid versionId, ReleaseState state)
    {
        _queued.TryRemove(versionId, out _);
        if (_waiters.TryGetValue(versionId, out var waiter))
        {
            waiter.TrySetResult(state);
        }
    }

    /// <summary>Scans one version and decides, except a clean scan needing no approval: that is returned, for <see cref="ReleaseCleanAsync"/>.</summary>
    private async Task<(ReleaseState State, ScannedClean? Release)> ScanAsync(Guid versionId, CancellationToken cancellationToken)
    {
        var version = await _metadata.GetVersionAsync(versionId, cancellationToken).ConfigureAwait(false);
        if (version is null || !version.IsCurrent || version.State != ReleaseState.PendingScan)
        {
            _held.TryRemove(versionId, out _);
            return (version?.State ?? ReleaseState.PendingScan, null);
        }

        if (_chain is null)
        {
            var released = await _decisions.ReleaseScannedAsync(version, ReleaseState.PendingScan,
                $"version {versionId}: unscanned, no content scanner is configured", cancellationToken).ConfigureAwait(false);
            return (released ? ReleaseState.Released : await StateOfAsync(versionId, cancellationToken).ConfigureAwait(false), null);
        }

        var subject = new ScanSubject(
            RemotePath.Parse(version.Path),
            version.Size,
            version.Digest,
            WholeFileSha256.Hex(version.Sha256));
        ScanReport report;
        var started = Stopwatch.GetTimestamp();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(_settings.ScanServiceTimeoutSeconds));
        try
        {
            report = await _chain.ScanAsync(subject, ScanSources.PlaintextOf(version, _store, _keys, _buffers?.ForScans(version.ChunkSize)), timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            report = new ScanReport([new ScanVerdict("scanner-chain", "-", ScanOutcome.Error, null, $"the scan did not finish within {_settings.ScanServiceTimeoutSeconds:0.###} s")]);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The chain promises not to throw for a scanner's failure; if it does anyway, that is an undecided scan.
            report = new ScanReport([new ScanVerdict("scanner-chain", "-", ScanOutcome.Error, null, $"{e.GetType().Name}: {e.Message}")]);
        }

        _metrics.Scanned(report.Outcome, Stopwatch.GetElapsedTime(started));
        var now = _time.GetUtcNow();
        if (report.Outcome == ScanOutcome.Error)
        {
            return (await HoldAsync(version, report, now, cancellationToken).ConfigureAwait(false), null);
        }

        ScannersAnswer();
        _held.TryRemove(versionId, out _);
        var infected = report.Outcome == ScanOutcome.Infected;
        var policy = _chain.PolicyFor(subject.Path);
        if (!infected && !policy.RequireApproval)
        {
            // Recorded and released with the other clean scans this worker took (ReleaseCleanAsync).
            return (ReleaseState.PendingScan, new ScannedClean(version, report.Verdicts, $"version {versionId}: clean; {Describe(report)}", $"version {versionId}: scanned clean by {Scanners(report)}"));
        }

        await _metadata.RecordVerdictsAsync(versionId, report.Verdicts, now, cancellationToken).ConfigureAwait(false);
        await _audit.AppendDurableAsync(
            ReleaseDecisions.Event("scan.verdict", AuditOutcome.Success, ReleaseCaller.System, version, $"version {versionId}: {(infected ? "infected" : "clean")}; {Describe(report)}"),
            CancellationToken.None).ConfigureAwait(false);
        if (infected)
        {
            return (await QuarantineAsync(version, report, now, cancellationToken).ConfigureAwait(false), null);
        }

        var expires = policy.ApprovalExpiry is { } expiry ? now + expiry : (DateTimeOffset?)null;
        if (!await _metadata.SetReleaseStateAsync(versionId, ReleaseState.PendingScan, new ReleaseStateChange(ReleaseState.PendingApproval, now) { ApprovalExpiresAt = expires }, cancellationToken)
            .ConfigureAwait(false))
        {
            return (await StateOfAsync(versionId, cancellationToken).ConfigureAwait(false), null);
        }

        await _audit.AppendDurableAsync(
            ReleaseDecisions.Event("approval.requested", AuditOutcome.Success, ReleaseCaller.System, version,
                $"version {versionId}: scanned clean; waits for a second person with approve on {policy.Area} (uploader {version.UploadedBy ?? "unknown"}); expires {(expires is { } at ? at.ToString("u", System.Globalization.CultureInfo.InvariantCulture) : "never")}"),
            CancellationToken.None).ConfigureAwait(false);
        return (ReleaseState.PendingApproval, null);
    }

    private async Task<ReleaseState> QuarantineAsync(FileVersion version, ScanReport report, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (!await _metadata.SetReleaseStateAsync(version.VersionId, ReleaseState.PendingScan, new ReleaseStateChange(ReleaseState.Quarantined, now), cancellationToken).ConfigureAwait(false))
        {
            _logger.LogWarning("Version {Version} of {Path} was found infected but had left pending-scan (deleted or superseded)", version.VersionId, version.Path);
            return await StateOfAsync(version.VersionId, cancellationToken).ConfigureAwait(false);
        }

        _metrics.Quarantined();
        var findings = ReleaseDecisions.Findings(report.Verdicts);
        await _audit.AppendDurableAsync(
            ReleaseDecisions.Event("file.quarantined", AuditOutcome.Success, ReleaseCaller.System, version, $"version {version.VersionId}: {findings}"),
            CancellationToken.None).ConfigureAwait(false);
        _logger.LogWarning("Version {Version} of {Path} quarantined: {Findings}", version.VersionId, version.Path, findings);

        // A finding by the file-type policy alone is a policy violation; anything else is treated as malware.
        var infected = report.Verdicts.Where(v => v.Outcome == ScanOutcome.Infected).ToList();
        var typeOnly = infected.All(v => v.Scanner == "file-type");
        Raise(new Incident(
            typeOnly ? "file-type-denied" : "malware-found",
            typeOnly ? "warning" : "critical",
            now,
            $"{(typeOnly ? "File type denied" : "Malware found")} in {version.Path}: {findings}; the file is quarantined",
            version.Path,
            version.Digest,
            version.UploadedBy,
            version.VersionId.ToString("D"),
            new Dictionary<string, string>
            {
                ["versionId"] = version.VersionId.ToString("D"),
                ["scanner"] = string.Join(",", infected.Select(v => v.Scanner)),
                ["scannerVersion"] = string.Join(",", infected.Select(v => v.ScannerVersion)),
                ["signature"] = string.Join(",", infected.Select(v => v.Finding ?? string.Empty)),
                ["size"] = version.Size.ToString(System.Globalization.CultureInfo.InvariantCulture),
            }));
        return ReleaseState.Quarantined;
    }

    private async Task<ReleaseState> HoldAsync(FileVersion version, ScanReport report, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // The outage starts with the hold, before the durable audit write, so a scrape never sees a held file and an available scanner.
        var outageStarts = Interlocked.Exchange(ref _outage, 1) == 0;
        var first = ScheduleRetry(version.VersionId);
        var describe = Describe(report);
        if (first)
        {
            await _metadata.RecordVerdictsAsync(version.VersionId, report.Verdicts, now, cancellationToken).ConfigureAwait(false);
            await _audit.AppendDurableAsync(
                ReleaseDecisions.Event("scan.held", AuditOutcome.Failure, ReleaseCaller.System, version, $"version {version.VersionId}: held, a scanner could not decide; {describe}"),
                CancellationToken.None).ConfigureAwait(false);
        }

        if (outageStarts)
        {
            _logger.LogError("A content scanner could not decide ({Report}); files are held pending until it answers again", describe);
            var failing = report.Verdicts.Where(v => v.Outcome == ScanOutcome.Error).ToList();
            Raise(new Incident(
                "scanner-unavailable",
                "error",
                now,
                $"Content scanning is unavailable ({describe}); uploads are held, not released, until it recovers",
                version.Path,
                version.Digest,
                null,
                version.VersionId.ToString("D"),
                new Dictionary<string, string>
                {
                    ["scanner"] = string.Join(",", failing.Select(v => v.Scanner)),
                    ["scannerVersion"] = string.Join(",", failing.Select(v => v.ScannerVersion)),
                    ["reason"] = string.Join("; ", failing.Select(v => v.Detail ?? "no detail")),
                }));
        }

        return ReleaseState.PendingScan;
    }

    // Schedules the next attempt as a due time the sweep honours (ContentSettings.ScanRetryBackoff); true on a version's first hold.
    private bool ScheduleRetry(Guid versionId)
    {
        var now = _time.GetUtcNow();
        var backoff = _settings.ScanRetryBackoff();
        var first = false;
        _held.AddOrUpdate(
            versionId,
            _ =>
            {
                first = true;
                return new HeldScan(1, now + backoff.Delay(0));
            },
            (_, held) => new HeldScan(held.Attempts + 1, now + backoff.Delay(held.Attempts)));
        return first;
    }

    // A decided scan ends an outage: every held version is due at once instead of at its backed-off time.
    private void ScannersAnswer()
    {
        if (Interlocked.Exchange(ref _outage, 0) == 1)
        {
            _logger.LogWarning("Content scanners answer again; rescanning {Count} held file(s)", _held.Count);
            foreach (var id in _held.Keys)
            {
                _held.AddOrUpdate(id, _ => new HeldScan(0, DateTimeOffset.MinValue), (_, held) => held with { NextAttempt = DateTimeOffset.MinValue });
                Submit(id);
            }
        }
    }

    private void Raise(Incident incident)
    {
        _logger.LogWarning("Incident {Kind} ({Severity}): {Summary}", incident.Kind, incident.Severity, incident.Summary);
        try
        {
            _notifier?.Raise(incident);
        }
        catch (Exception e)
        {
            // Raise must not throw; if an implementation does, the decision already made stands.
            _logger.LogError(e, "The incident notifier failed to take incident {Kind}", incident.Kind);
        }
    }

    private async Task<ReleaseState> StateOfAsync(Guid versionId, CancellationToken cancellationToken) =>
        (await _metadata.GetVersionAsync(versionId, cancellationToken).ConfigureAwait(false))?.State ?? ReleaseState.PendingScan;

    private static string Scanners(ScanReport report) =>
        report.Verdicts.Count == 0 ? "no scanner (none applies to this area)" : string.Join(", ", report.Verdicts.Select(v => $"{v.Scanner} {v.ScannerVersion}"));

    private static string Describe(ScanReport report) =>
        report.Verdicts.Count == 0
            ? "no scanner applies"
            : string.Join("; ", report.Verdicts.Select(v =>
                $"{v.Scanner} {v.ScannerVersion}: {ReleaseDecisions.OutcomeName(v.Outcome)}{(v.Finding is null ? string.Empty : " " + v.Finding)}{(v.Detail is null ? string.Empty : $" ({v.Detail})")}"));

    private sealed record HeldScan(int Attempts, DateTimeOffset NextAttempt);
}
