using Microsoft.Extensions.Logging;
using TurboMft.Engine.Protocol;
using TurboMft.Engine.Storage;
using TurboMft.Host.Audit;
using TurboMft.Host.Metadata;

namespace TurboMft.Host.Release;

/// <summary>
/// Every change of a version's release state after its scan, and the audit records that go with it
/// (docs/content-security.md, "Release states", "Quarantine", "Approvals"): release (after a clean scan, an approval or an
/// admin's release from quarantine), approval and rejection (four-eyes), expiry, and deletion from quarantine. Each is a
/// compare-and-set on the metadata store followed by a durable audit record; a release whose record cannot be written is
/// undone, so no version stays downloadable without its audit record. Used by the endpoints, the scan service and the
/// offline CLI alike.
/// </summary>
public sealed class ReleaseDecisions(
    IMetadataStore metadata, IObjectStore store, IAuditTrail audit, TimeProvider time, ILogger<ReleaseDecisions> logger, IEnumerable<IVersionObserver>? observers = null)
{
    /// <summary>Most versions a listing returns.</summary>
    public const int ListLimit = 10_000;

    /// <summary>The version, current or superseded, or null when there is none or it was deleted.</summary>
    public Task<FileVersion?> GetAsync(Guid versionId, CancellationToken cancellationToken) => metadata.GetVersionAsync(versionId, cancellationToken);

    /// <summary>The versions in <paramref name="state"/> that <paramref name="visible"/> accepts, oldest first, with their verdicts.</summary>
    public async Task<HeldVersionList> ListAsync(ReleaseState state, Func<FileVersion, bool> visible, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(visible);
        var views = new List<HeldVersionView>();
        foreach (var version in (await metadata.ListVersionsInStateAsync(state, ListLimit, cancellationToken).ConfigureAwait(false)).Where(visible))
        {
            views.Add(await ViewAsync(version, cancellationToken).ConfigureAwait(false));
        }

        return new HeldVersionList(views);
    }

    /// <summary>The view of a version with its recorded verdicts.</summary>
    public async Task<HeldVersionView> ViewAsync(FileVersion version, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(version);
        var verdicts = await metadata.ListVerdictsAsync(version.VersionId, cancellationToken).ConfigureAwait(false);
        return View(version, verdicts);
    }

    /// <summary>The view of a version with the given verdicts.</summary>
    public static HeldVersionView View(FileVersion version, IReadOnlyList<RecordedVerdict> verdicts)
    {
        ArgumentNullException.ThrowIfNull(version);
        ArgumentNullException.ThrowIfNull(verdicts);
        return new HeldVersionView(
            version.VersionId,
            version.Path,
            version.Size,
            version.Digest,
            version.State.ToName(),
            version.UploadedBy,
            version.CommittedAt,
            version.IsCurrent,
            version.ApprovalExpiresAt,
            [.. verdicts.Select(v => VerdictView(v.Verdict, v.ScannedAt))],
            version.Decision is { } d ? new DecisionView(d.Decision, d.By, d.Reason, d.At) : null);
    }

    /// <summary>A verdict as the API shows it.</summary>
    public static VerdictView VerdictView(ScanVerdict verdict, DateTimeOffset? scannedAt)
    {
        ArgumentNullException.ThrowIfNull(verdict);
        return new(verdict.Scanner, verdict.ScannerVersion, OutcomeName(verdict.Outcome), verdict.Finding, verdict.Detail, scannedAt);
    }

    /// <summary>
    /// Four-eyes: approves (releases) or rejects a version pending approval. The caller's <c>approve</c> permission on the
    /// version's path is checked by the endpoint; here the caller must not be its uploader, the version must still be
    /// pending approval and unexpired, and a rejection needs a reason. Audited durably as <c>approval.approved</c> or
    /// <c>approval.rejected</c> (a refused self-approval as a denied record).
    /// </summary>
    /// <exception cref="ReleaseException">The decision is refused.</exception>
    public async Task<FileVersion> DecideAsync(ReleaseCaller caller, FileVersion version, bool approve, string? reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(version);
        var action = approve ? "approval.approved" : "approval.rejected";
        reason = CheckReason(reason, required: !approve, approve ? "approve" : "reject");
        if (version.State != ReleaseState.PendingApproval)
        {
            throw NotIn(version, ReleaseState.PendingApproval);
        }

        if (version.UploadedBy is { } uploader && string.Equals(uploader, caller.Identity, StringComparison.Ordinal))
        {
            audit.Append(Event(action, AuditOutcome.Denied, caller, version, $"version {version.VersionId}: self-approval refused; a second person with approve on the area must decide"));
            throw new ReleaseException(ReleaseError.SelfApproval,
                $"You uploaded version {version.VersionId} of '{version.Path}', so you may not {(approve ? "approve" : "reject")} it: another person with approve on its area must decide (four-eyes).");
        }

        var now = time.GetUtcNow();
        if (version.ApprovalExpiresAt is { } expires && expires <= now)
        {
            throw new ReleaseException(ReleaseError.ApprovalExpired,
                $"The approval of version {version.VersionId} of '{version.Path}' expired at {expires:u}; it is being rejected. Upload the file again to ask anew.", version.State);
        }

        var decision = new ReleaseDecision(approve ? ReleaseDecision.Approved : ReleaseDecision.Rejected, caller.Identity, reason, now);
        var detail = $"version {version.VersionId}: {(approve ? "approved" : "rejected")} by {caller.Identity}{ReasonText(reason)}";
        if (!await ChangeAsync(version, ReleaseState.PendingApproval, new ReleaseStateChange(approve ? ReleaseState.Released : ReleaseState.Rejected, now) { Decision = decision },
            Event(action, AuditOutcome.Success, caller, version, detail), cancellationToken).ConfigureAwait(false))
        {
            throw await ConflictAsync(version.VersionId, ReleaseState.PendingApproval, cancellationToken).ConfigureAwait(false);
        }

        return await metadata.GetVersionAsync(version.VersionId, cancellationToken).ConfigureAwait(false) ?? version;
    }

    /// <summary>
    /// An admin releases a quarantined version (a deliberate act: a scanner found something in it). It must be the current
    /// version of its path and a reason is required. Audited durably as <c>file.released</c> with the findings and reason.
    /// </summary>
    /// <exception cref="ReleaseException">The release is refused.</exception>
    public async Task<FileVersion> ReleaseFromQuarantineAsync(ReleaseCaller caller, Guid versionId, string? reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        reason = CheckReason(reason, required: true, "release a quarantined version");
        var version = await metadata.GetVersionAsync(versionId, cancellationToken).ConfigureAwait(false) ?? throw NotFound(versionId);
        if (version.State != ReleaseState.Quarantined)
        {
            throw NotIn(version, ReleaseState.Quarantined);
        }

        if (!version.IsCurrent)
        {
            throw new ReleaseException(ReleaseError.Superseded,
                $"Version {versionId} of '{version.Path}' was superseded by a newer upload, so releasing it would make nothing downloadable; delete it instead.", version.State);
        }

        var now = time.GetUtcNow();
        var findings = await FindingsAsync(versionId, cancellationToken).ConfigureAwait(false);
        var detail = $"version {versionId}: released from quarantine by {caller.Identity} despite {findings}{ReasonText(reason)}";
        if (!await ChangeAsync(version, ReleaseState.Quarantined,
            new ReleaseStateChange(ReleaseState.Released, now) { Decision = new ReleaseDecision(ReleaseDecision.ReleasedFromQuarantine, caller.Identity, reason, now) },
            Event("file.released", AuditOutcome.Success, caller, version, detail), cancellationToken).ConfigureAwait(false))
        {
            throw await ConflictAsync(versionId, ReleaseState.Quarantined, cancellationToken).ConfigureAwait(false);
        }

        return await metadata.GetVersionAsync(versionId, cancellationToken).ConfigureAwait(false) ?? version;
    }

    /// <summary>An admin deletes a quarantined version: its metadata is marked deleted, its container removed, and a durable <c>file.delete</c> record names the findings.</summary>
    /// <exception cref="ReleaseException">The version does not exist or is not quarantined.</exception>
    public async Task<FileVersion> DeleteFromQuarantineAsync(ReleaseCaller caller, Guid versionId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var findings = await FindingsAsync(versionId, cancellationToken).ConfigureAwait(false);
        var deleted = await metadata.DeleteVersionAsync(versionId, ReleaseState.Quarantined, cancellationToken).ConfigureAwait(false)
            ?? throw await ConflictAsync(versionId, ReleaseState.Quarantined, cancellationToken).ConfigureAwait(false);

        store.Delete(deleted.ObjectKey);
        await audit.AppendDurableAsync(
            Event("file.delete", AuditOutcome.Success, caller, deleted, $"version {versionId}: quarantined version deleted by {caller.Identity} ({findings})"),
            cancellationToken).ConfigureAwait(false);
        return deleted with { IsCurrent = false };
    }

    /// <summary>Releases a version the scan service found clean (or, with no scanner configured, did not scan), from <paramref name="from"/>.</summary>
    /// <returns>False when another decision came first.</returns>
    internal Task<bool> ReleaseScannedAsync(FileVersion version, ReleaseState from, string detail, CancellationToken cancellationToken) =>
        ChangeAsync(version, from, new ReleaseStateChange(ReleaseState.Released, time.GetUtcNow()),
            Event("file.released", AuditOutcome.Success, ReleaseCaller.System, version, detail), cancellationToken);

    /// <summary>
    /// Releases several versions scanned clean at once (actor system): their verdicts and states in one transaction, their
    /// <c>scan.verdict</c> and <c>file.released</c> records with one fsync (the log keeps order, so the last record's
    /// durability covers the others). If the log cannot be written, the releases are undone, as for one. Returns, in order,
    /// whether each was released (false: it left pending-scan meanwhile).
    /// </summary>
    internal async Task<IReadOnlyList<bool>> ReleaseScannedAsync(IReadOnlyList<ScannedClean> scans, CancellationToken cancellationToken)
    {
        var at = time.GetUtcNow();
        var released = await metadata.RecordVerdictsAndReleaseAsync([.. scans.Select(s => (s.Version.VersionId, s.Verdicts))], at, cancellationToken).ConfigureAwait(false);
        var records = new List<AuditEvent>(2 * scans.Count);
        for (var i = 0; i < scans.Count; i++)
        {
            records.Add(Event("scan.verdict", AuditOutcome.Success, ReleaseCaller.System, scans[i].Version, scans[i].VerdictDetail));
            if (released[i])
            {
                records.Add(Event("file.released", AuditOutcome.Success, ReleaseCaller.System, scans[i].Version, scans[i].ReleaseDetail));
            }
        }

        try
        {
            for (var i = 0; i < records.Count - 1; i++)
            {
                audit.Append(records[i]);
            }

            await audit.AppendDurableAsync(records[^1], CancellationToken.None).ConfigureAwait(false);
        }
        catch (AuditUnavailableException e)
        {
            for (var i = 0; i < scans.Count; i++)
            {
                if (released[i])
                {
                    var undone = await metadata.SetReleaseStateAsync(scans[i].Version.VersionId, ReleaseState.Released, new ReleaseStateChange(ReleaseState.PendingScan, at), CancellationToken.None).ConfigureAwait(false);
                    logger.LogCritical("Version {Version} of {Path}: the file.released record could not be written ({Reason}); the release was {Undone}",
                        scans[i].Version.VersionId, scans[i].Version.Path, e.Message, undone ? "undone" : "NOT undone (it changed meanwhile)");
                }
            }

            throw;
        }

        for (var i = 0; i < scans.Count; i++)
        {
            if (released[i])
            {
                var version = scans[i].Version with { State = ReleaseState.Released, ReleasedAt = at };
                foreach (var observer in observers ?? [])
                {
                    await observer.ReleasedAsync(version, CancellationToken.None).ConfigureAwait(false);
                }
            }
        }

        return released;
    }

    /// <summary>Rejects a version whose approval expired (actor system), audited as <c>approval.rejected</c>.</summary>
    /// <returns>False when a person decided first.</returns>
    internal Task<bool> ExpireAsync(FileVersion version, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var detail = $"version {version.VersionId}: rejected automatically, no approval by {version.ApprovalExpiresAt:u}";
        return ChangeAsync(version, ReleaseState.PendingApproval,
            new ReleaseStateChange(ReleaseState.Rejected, now) { Decision = new ReleaseDecision(ReleaseDecision.Expired, ReleaseCaller.SystemIdentity, "approval expired", now) },
            Event("approval.rejected", AuditOutcome.Success, ReleaseCaller.System, version, detail), cancellationToken);
    }

    /// <summary>An audit event about a version.</summary>
    internal static AuditEvent Event(string action, string outcome, ReleaseCaller caller, FileVersion version, string detail) => new()
    {
        Action = action,
        Actor = caller.Actor,
        Outcome = outcome,
        Path = version.Path,
        Size = version.Size,
        Digest = version.Digest,
        CorrelationId = caller.CorrelationId ?? version.VersionId.ToString("D"),
        Detail = detail,
    };

    /// <summary>The outcome's lower-case name.</summary>
    internal static string OutcomeName(ScanOutcome outcome) => outcome switch
    {
        ScanOutcome.Clean => "clean",
        ScanOutcome.Infected => "infected",
        _ => "error",
    };

    /// <summary>"clamav ClamAV 1.4.2/27500 found Eicar-Signature; …" for the infected verdicts.</summary>
    internal static string Findings(IEnumerable<ScanVerdict> verdicts)
    {
        var found = verdicts.Where(v => v.Outcome == ScanOutcome.Infected).Select(v => $"{v.Scanner} {v.ScannerVersion} found {v.Finding ?? "(unnamed)"}").ToList();
        return found.Count == 0 ? "no recorded finding" : string.Join("; ", found);
    }

    private async Task<string> FindingsAsync(Guid versionId, CancellationToken cancellationToken) =>
        Findings((await metadata.ListVerdictsAsync(versionId, cancellationToken).ConfigureAwait(false)).Select(v => v.Verdict));

    // Compare-and-set, then the durable record; if the record cannot be written, a release is undone (fail closed). The
    // record is not cancelled once the state changed: a cancelled append would leave it unknown whether to undo.
    private async Task<bool> ChangeAsync(FileVersion version, ReleaseState from, ReleaseStateChange change, AuditEvent record, CancellationToken cancellationToken)
    {
        if (!await metadata.SetReleaseStateAsync(version.VersionId, from, change, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        try
        {
            await audit.AppendDurableAsync(record, CancellationToken.None).ConfigureAwait(false);
        }
        catch (AuditUnavailableException e) when (change.State == ReleaseState.Released)
        {
            var restored = new ReleaseStateChange(from, change.At) { ApprovalExpiresAt = version.ApprovalExpiresAt, Decision = version.Decision };
            var undone = await metadata.SetReleaseStateAsync(version.VersionId, ReleaseState.Released, restored, CancellationToken.None).ConfigureAwait(false);
            logger.LogCritical("Version {Version} of {Path}: the {Action} record could not be written ({Reason}); the release was {Undone}",
                version.VersionId, version.Path, record.Action, e.Message, undone ? "undone" : "NOT undone (it changed meanwhile)");
            throw;
        }

        if (change.State == ReleaseState.Released)
        {
            var released = version with { State = ReleaseState.Released, ReleasedAt = change.At };
            foreach (var observer in observers ?? [])
            {
                await observer.ReleasedAsync(released, CancellationToken.None).ConfigureAwait(false);
            }
        }

        return true;
    }

    private async Task<ReleaseException> ConflictAsync(Guid versionId, ReleaseState needed, CancellationToken cancellationToken) =>
        await metadata.GetVersionAsync(versionId, cancellationToken).ConfigureAwait(false) is { } now ? NotIn(now, needed) : NotFound(versionId);

    private static string? CheckReason(string? reason, bool required, string what)
    {
        reason = string.IsNullOrWhiteSpace(reason) ? null : reason.Trim();
        if (required && reason is null)
        {
            throw new ReleaseException(ReleaseError.InvalidRequest, $"A reason is required to {what}: send {{\"reason\": \"…\"}}.");
        }

        if (reason is { Length: > ReleaseDecision.MaxReasonLength })
        {
            throw new ReleaseException(ReleaseError.InvalidRequest, $"The reason has {reason.Length} characters; at most {ReleaseDecision.MaxReasonLength} are kept.");
        }

        return reason;
    }

    private static string ReasonText(string? reason) => reason is null ? string.Empty : "; reason: " + reason;

    private static ReleaseException NotFound(Guid versionId) =>
        new(ReleaseError.VersionNotFound, $"No version {versionId} (or it was deleted).");

    private static ReleaseException NotIn(FileVersion version, ReleaseState needed) =>
        new(ReleaseError.StateConflict, $"Version {version.VersionId} of '{version.Path}' is {version.State.ToName()}, not {needed.ToName()}.", version.State);
}

/// <summary>A version scanned clean whose area needs no approval, with what its audit records say.</summary>
internal sealed record ScannedClean(FileVersion Version, IReadOnlyList<ScanVerdict> Verdicts, string VerdictDetail, string ReleaseDetail);
