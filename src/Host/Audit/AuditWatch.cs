using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Notifications;

namespace TurboMft.Host.Audit;

/// <summary>
/// Verifies the running server's audit chain at start and every <see cref="AuditWatchSettings.VerifyIntervalMinutes"/>
/// (docs/audit.md, "Watch"). A break raises an <c>audit-chain-broken</c> incident (critical) once per distinct break and
/// server run, and is recorded as a durable <c>audit.broken</c> record once per break for good. Verification only reads
/// the store, line by line (<see cref="AuditVerifier"/> over <see cref="IAuditReader"/>), on a pool thread: the writer is never held up.
/// </summary>
public sealed class AuditWatch(DataDirectory data, IAuditReader reader, IAuditTrail audit, IIncidentNotifier notifier, AuditWatchSettings settings, TimeProvider time, ILogger<AuditWatch> logger)
    : BackgroundService
{
    /// <summary>The incident kind.</summary>
    public const string IncidentKind = "audit-chain-broken";

    /// <summary>The audit action recorded for a break.</summary>
    public const string BrokenAction = "audit.broken";

    private readonly HashSet<string> _reported = [];

    /// <summary>How long to wait before verifying a second time to confirm a break (a line the writer is still appending looks like a cut end).</summary>
    internal TimeSpan ConfirmDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Verifies once; when a break is confirmed, records and raises it unless this run already did. Returns the break, if any.</summary>
    public async Task<AuditBreak?> CheckAsync(CancellationToken cancellationToken)
    {
        var found = await Task.Run(Verify, cancellationToken).ConfigureAwait(false);
        for (var attempt = 0; found is not null && attempt < 3; attempt++)
        {
            await Task.Delay(ConfirmDelay, time, cancellationToken).ConfigureAwait(false);
            var again = await Task.Run(Verify, cancellationToken).ConfigureAwait(false);
            if (again is not null && Identity(again) == Identity(found))
            {
                if (_reported.Add(Identity(again)))
                {
                    await ReportAsync(again, cancellationToken).ConfigureAwait(false);
                }

                return again;
            }

            logger.LogDebug("Audit verification saw {Break}, which did not persist (a record being appended)", found.ToString());
            found = again;
        }

        return null;
    }

    /// <summary>Checks at start, then every interval (0: at start only).</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromMinutes(settings.VerifyIntervalMinutes);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await CheckAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or AuditKeyException)
            {
                logger.LogError("The audit log in {Directory} could not be verified: {Reason}", data.AuditPath, e.Message);
            }

            if (interval <= TimeSpan.Zero)
            {
                return;
            }

            await Task.Delay(interval, time, stoppingToken).ConfigureAwait(false);
        }
    }

    /// <summary>What makes two reports the same break: kind and place, not the message.</summary>
    private static string Identity(AuditBreak broken) =>
        $"{broken.KindName} at {broken.File}{(broken.Line > 0 ? " line " + broken.Line.ToString(CultureInfo.InvariantCulture) : string.Empty)} (seq {broken.Seq.ToString(CultureInfo.InvariantCulture)})";

    private AuditBreak? Verify()
    {
        using var key = data.LoadAuditKey();
        return AuditVerifier.Verify(reader, key).Break;
    }

    private async Task ReportAsync(AuditBreak broken, CancellationToken cancellationToken)
    {
        var identity = Identity(broken);
        logger.LogCritical("The audit log is broken: {Break}; run `turbomft audit verify` and investigate (docs/audit.md, \"Verification\")", broken.ToString());
        var correlationId = await Task.Run(() => EarlierRecord(identity), cancellationToken).ConfigureAwait(false);
        if (correlationId is null)
        {
            correlationId = "audit-break-" + Guid.NewGuid().ToString("N")[..16];
            try
            {
                await audit.AppendDurableAsync(
                    new AuditEvent { Action = BrokenAction, Actor = AuditActor.System, Outcome = AuditOutcome.Failure, Detail = broken.ToString(), CorrelationId = correlationId },
                    cancellationToken).ConfigureAwait(false);
            }
            catch (AuditUnavailableException e)
            {
                logger.LogError("{Action} could not be recorded: {Reason}", BrokenAction, e.Message);
            }
        }

        notifier.Raise(new Incident(
            IncidentKind,
            "critical",
            time.GetUtcNow(),
            $"audit log broken: {broken}",
            CorrelationId: correlationId,
            Details: new Dictionary<string, string>
            {
                ["break"] = broken.KindName,
                ["file"] = broken.File,
                ["line"] = broken.Line.ToString(CultureInfo.InvariantCulture),
                ["seq"] = broken.Seq.ToString(CultureInfo.InvariantCulture),
                ["message"] = broken.Message,
            }));
    }

    /// <summary>The correlation id of an authentic <c>audit.broken</c> record already written for this break (an earlier run), if any.</summary>
    private string? EarlierRecord(string identity)
    {
        using var key = data.LoadAuditKey();
        return reader.Read()
            .Where(r => r.Action == BrokenAction && r.Detail is { } detail && detail.StartsWith(identity + ":", StringComparison.Ordinal) && AuditChain.HasValidHmac(r.Line, key))
            .Select(r => r.CorrelationId ?? string.Empty)
            .FirstOrDefault();
    }
}
