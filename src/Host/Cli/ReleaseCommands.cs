using System.CommandLine;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Client;
using TurboMft.Engine.Protocol;
using TurboMft.Host.Audit;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Metadata;
using TurboMft.Host.Release;
using TurboMft.Host.Server;

namespace TurboMft.Host.Cli;

/// <summary>
/// <c>turbomft quarantine list|release|delete</c> (admin: against a server with <c>--server URL</c>, or offline on a
/// stopped server's data directory with <c>--data DIR</c>, audited as system) and <c>turbomft approvals
/// list|approve|reject</c> (an approver's token, against a server): docs/content-security.md, "Quarantine" and "Approvals".
/// </summary>
internal static class ReleaseCommands
{
    public static IEnumerable<Command> Create(AdminCliContext context) => [QuarantineCommand(context), ApprovalsCommand(context)];

    private static Command QuarantineCommand(AdminCliContext context)
    {
        var list = new Command("list", "List quarantined versions with the scanners' findings (including versions superseded by a newer upload).");
        RunQuarantine(list, context, needsAudit: false, async (_, session, json, ct) =>
        {
            var versions = await session.ListAsync(ct).ConfigureAwait(false);
            await WriteAsync(context, json, new HeldVersionList(versions), Listing(versions, approvals: false)).ConfigureAwait(false);
        });

        var releaseId = VersionArgument();
        var releaseReason = Reason(required: true, "Why the findings may be ignored (audited), e.g. a confirmed false positive and its ticket.");
        var release = new Command("release", "Release a quarantined version despite its findings: it becomes downloadable. A deliberate act; the reason is audited.") { releaseId, releaseReason };
        RunQuarantine(release, context, needsAudit: true, async (parse, session, json, ct) =>
        {
            var view = await session.ReleaseAsync(ParseId(parse.GetRequiredValue(releaseId)), parse.GetRequiredValue(releaseReason), ct).ConfigureAwait(false);
            await WriteAsync(context, json, view, $"released {view.Path} (version {view.VersionId}) from quarantine").ConfigureAwait(false);
        });

        var deleteId = VersionArgument();
        var delete = new Command("delete", "Delete a quarantined version and its encrypted container.") { deleteId };
        RunQuarantine(delete, context, needsAudit: true, async (parse, session, json, ct) =>
        {
            var id = ParseId(parse.GetRequiredValue(deleteId));
            await session.DeleteAsync(id, ct).ConfigureAwait(false);
            await WriteAsync(context, json, new { deleted = id }, $"deleted quarantined version {id}").ConfigureAwait(false);
        });

        return new Command("quarantine", "Files a scanner found something in: list, release with a reason, or delete (admin).") { list, release, delete };
    }

    private static Command ApprovalsCommand(AdminCliContext context)
    {
        var list = new Command("list", "List files waiting for approval in the areas where your token holds approve.");
        RunApprovals(list, context, async (_, client, json, ct) =>
        {
            var versions = await client.ListApprovalsAsync(ct).ConfigureAwait(false);
            await WriteAsync(context, json, new HeldVersionList(versions), Listing(versions, approvals: true)).ConfigureAwait(false);
        });

        var approveId = VersionArgument();
        var approveReason = Reason(required: false, "Optional note kept with the approval.");
        var approve = new Command("approve", "Approve a file: it is released and downloadable. Not allowed for the file's uploader (four-eyes).") { approveId, approveReason };
        RunApprovals(approve, context, async (parse, client, json, ct) =>
        {
            var view = await client.ApproveAsync(ParseId(parse.GetRequiredValue(approveId)), parse.GetValue(approveReason), ct).ConfigureAwait(false);
            await WriteAsync(context, json, view, $"approved {view.Path} (version {view.VersionId}): {view.State}").ConfigureAwait(false);
        });

        var rejectId = VersionArgument();
        var rejectReason = Reason(required: true, "Why it is rejected (audited and shown to the uploader's administrators).");
        var reject = new Command("reject", "Reject a file: it stays stored but is never released.") { rejectId, rejectReason };
        RunApprovals(reject, context, async (parse, client, json, ct) =>
        {
            var view = await client.RejectAsync(ParseId(parse.GetRequiredValue(rejectId)), parse.GetRequiredValue(rejectReason), ct).ConfigureAwait(false);
            await WriteAsync(context, json, view, $"rejected {view.Path} (version {view.VersionId})").ConfigureAwait(false);
        });

        return new Command("approvals", "Four-eyes release: list, approve or reject files waiting for a second person.") { list, approve, reject };
    }

    private static void RunQuarantine(Command command, AdminCliContext context, bool needsAudit, Func<ParseResult, IQuarantineSession, bool, CancellationToken, Task> action)
    {
        var server = ServerOption();
        var data = new Option<string?>("--data") { Description = "Act on this data directory directly instead (the server must be stopped; audited as system).", HelpName = "DIR" };
        var access = new ServerAccessOptions();
        var json = CliOptions.Json();
        command.Options.Add(server);
        access.AddTo(command);
        command.Options.Add(data);
        command.Options.Add(json);
        command.Validators.Add(r =>
        {
            if ((r.GetResult(server) is null) == (r.GetResult(data) is null))
            {
                r.AddError("Name exactly one of --server URL (a running server) and --data DIR (its data directory, offline).");
            }
        });
        command.SetAction((parse, cancellationToken) => CliErrors.GuardAsync(context.Error, async () =>
        {
            IQuarantineSession session = parse.GetValue(data) is { } directory
                ? await OfflineQuarantineSession.OpenAsync(directory, needsAudit ? context.OfflineAudit : null, needsAudit, cancellationToken).ConfigureAwait(false)
                : new OnlineQuarantineSession(new TurboMftReleaseClient(ClientOptions(parse, server, access)));
            await using (session.ConfigureAwait(false))
            {
                await action(parse, session, parse.GetValue(json), cancellationToken).ConfigureAwait(false);
            }

            return ExitCodes.Ok;
        }));
    }

    private static void RunApprovals(Command command, AdminCliContext context, Func<ParseResult, TurboMftReleaseClient, bool, CancellationToken, Task> action)
    {
        var server = ServerOption();
        server.Required = true;
        var access = new ServerAccessOptions();
        var json = CliOptions.Json();
        command.Options.Add(server);
        access.AddTo(command);
        command.Options.Add(json);
        command.SetAction((parse, cancellationToken) => CliErrors.GuardAsync(context.Error, async () =>
        {
            using var client = new TurboMftReleaseClient(ClientOptions(parse, server, access));
            await action(parse, client, parse.GetValue(json), cancellationToken).ConfigureAwait(false);
            return ExitCodes.Ok;
        }));
    }

    private static Option<string?> ServerOption() =>
        new("--server") { Description = "The server, https://host:port; needs --ca or --pin and a token (--token-file or TURBOMFT_TOKEN).", HelpName = "URL" };

    private static TurboMftClientOptions ClientOptions(ParseResult parse, Option<string?> server, ServerAccessOptions access)
    {
        var url = TransferUrl.Parse(parse.GetValue(server)!);
        if (url.RemotePath != RemotePaths.Root)
        {
            throw new ArgumentException($"--server '{parse.GetValue(server)}' has a path; give only https://host:port.");
        }

        return new TurboMftClientOptions
        {
            BaseAddress = url.BaseAddress,
            Token = access.ReadToken(parse),
            CaCertificatePath = parse.GetValue(access.Ca)?.FullName,
            PinSha256 = parse.GetValue(access.Pin),
        };
    }

    private static Argument<string> VersionArgument() => new("VERSION") { Description = "The version id, as the list shows it." };

    private static Option<string> Reason(bool required, string description) =>
        new("--reason") { Description = description, HelpName = "TEXT", Required = required };

    private static Guid ParseId(string text) =>
        Guid.TryParse(text, out var id) ? id : throw new ArgumentException($"'{text}' is not a version id; copy it from the list (e.g. 0193a1b2-…).");

    private static async Task WriteAsync<T>(AdminCliContext context, bool json, T value, string text) =>
        await context.Output.WriteLineAsync(json ? CliJson.Serialize(value) : text.TrimEnd('\n')).ConfigureAwait(false);

    private static string Listing(IReadOnlyList<HeldVersionView> versions, bool approvals)
    {
        if (versions.Count == 0)
        {
            return approvals ? "no files wait for your approval" : "quarantine is empty";
        }

        return AccessCommands.Table(
            approvals ? ["VERSION", "PATH", "SIZE", "UPLOADED BY", "COMMITTED", "EXPIRES"] : ["VERSION", "PATH", "SIZE", "UPLOADED BY", "COMMITTED", "CURRENT", "FINDINGS"],
            versions.Select(v => approvals
                ? new[] { v.VersionId.ToString(), v.Path, ByteSize.Format(v.Size), v.UploadedBy ?? "-", AccessCommands.Time(v.CommittedAt), AccessCommands.Time(v.ApprovalExpiresAt) }
                : [v.VersionId.ToString(), v.Path, ByteSize.Format(v.Size), v.UploadedBy ?? "-", AccessCommands.Time(v.CommittedAt), v.Current ? "yes" : "no (superseded)",
                    string.Join("; ", v.Verdicts.Where(d => d.Outcome == "infected").Select(d => $"{d.Scanner} {d.ScannerVersion}: {d.Finding}"))]));
    }

    /// <summary>Where a quarantine command acts: a server, or a stopped server's data directory.</summary>
    private interface IQuarantineSession : IAsyncDisposable
    {
        Task<IReadOnlyList<HeldVersionView>> ListAsync(CancellationToken cancellationToken);

        Task<HeldVersionView> ReleaseAsync(Guid versionId, string reason, CancellationToken cancellationToken);

        Task DeleteAsync(Guid versionId, CancellationToken cancellationToken);
    }

    private sealed class OnlineQuarantineSession(TurboMftReleaseClient client) : IQuarantineSession
    {
        public Task<IReadOnlyList<HeldVersionView>> ListAsync(CancellationToken cancellationToken) => client.ListQuarantineAsync(cancellationToken);

        public Task<HeldVersionView> ReleaseAsync(Guid versionId, string reason, CancellationToken cancellationToken) => client.ReleaseFromQuarantineAsync(versionId, reason, cancellationToken);

        public Task DeleteAsync(Guid versionId, CancellationToken cancellationToken) => client.DeleteFromQuarantineAsync(versionId, cancellationToken);

        public ValueTask DisposeAsync()
        {
            client.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>The data directory's metadata and objects through <see cref="ReleaseDecisions"/>, as the server would, acting as system.</summary>
    private sealed class OfflineQuarantineSession(IMetadataStore metadata, IAuditTrail? audit, ReleaseDecisions decisions) : IQuarantineSession
    {
        public static async Task<OfflineQuarantineSession> OpenAsync(string directory, OfflineAuditOpener? openAudit, bool needsAudit, CancellationToken cancellationToken)
        {
            var data = DataDirectory.OpenExisting(directory);
            if (needsAudit && openAudit is null)
            {
                throw new AuditUnavailableException("Offline quarantine changes (--data) must write to the data directory's audit log, which this build cannot open; use --server URL.");
            }

            // The audit log first: it is locked while a server runs, so an offline change never races one.
            var audit = needsAudit ? await openAudit!(data, cancellationToken).ConfigureAwait(false) : null;
            try
            {
                var metadata = await OfflineStores.OpenMetadataAsync(data, cancellationToken).ConfigureAwait(false);
                var decisions = new ReleaseDecisions(metadata, OfflineStores.Objects(data), audit ?? NoAudit.Instance, TimeProvider.System,
                    Microsoft.Extensions.Logging.Abstractions.NullLogger<ReleaseDecisions>.Instance);
                return new OfflineQuarantineSession(metadata, audit, decisions);
            }
            catch
            {
                if (audit is IAsyncDisposable disposable)
                {
                    await disposable.DisposeAsync().ConfigureAwait(false);
                }

                throw;
            }
        }

        public async Task<IReadOnlyList<HeldVersionView>> ListAsync(CancellationToken cancellationToken) =>
            (await decisions.ListAsync(ReleaseState.Quarantined, _ => true, cancellationToken).ConfigureAwait(false)).Versions;

        public async Task<HeldVersionView> ReleaseAsync(Guid versionId, string reason, CancellationToken cancellationToken) =>
            await decisions.ViewAsync(await decisions.ReleaseFromQuarantineAsync(ReleaseCaller.System, versionId, reason, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);

        public Task DeleteAsync(Guid versionId, CancellationToken cancellationToken) => decisions.DeleteFromQuarantineAsync(ReleaseCaller.System, versionId, cancellationToken);

        public async ValueTask DisposeAsync()
        {
            if (audit is IAsyncDisposable disposable)
            {
                await disposable.DisposeAsync().ConfigureAwait(false);
            }

            await metadata.DisposeAsync().ConfigureAwait(false);
        }
    }

    // Listing changes nothing and needs no audit log (so it also works while a server runs); anything else is refused.
    private sealed class NoAudit : IAuditTrail
    {
        public static NoAudit Instance { get; } = new();

        public ValueTask AppendDurableAsync(AuditEvent auditEvent, CancellationToken cancellationToken = default) =>
            throw new AuditUnavailableException("This offline command opened no audit log and may not change anything.");

        public void Append(AuditEvent auditEvent) =>
            throw new AuditUnavailableException("This offline command opened no audit log and may not change anything.");
    }
}
