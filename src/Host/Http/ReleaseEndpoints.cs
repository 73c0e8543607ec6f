using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TurboMft.Engine.Protocol;
using TurboMft.Engine.Storage;
using TurboMft.Host.Access;
using TurboMft.Host.Metadata;
using TurboMft.Host.Release;

namespace TurboMft.Host.Http;

/// <summary>
/// Held files (docs/protocol.md, "Quarantine" and "Approvals"): <c>/v1/quarantine</c> for admins (list, release with a
/// reason, delete) and <c>/v1/approvals</c> for approvers (list, approve, reject; four-eyes). Every endpoint declares its
/// permission; decisions are audited durably by <see cref="ReleaseDecisions"/>. Refusals are problem+json with stable types.
/// </summary>
public static class ReleaseEndpoints
{
    /// <summary>Largest request body accepted (a reason is at most 1000 characters).</summary>
    public const int MaxBodyBytes = 16 * 1024;

    /// <summary>Maps the endpoints.</summary>
    public static IEndpointRouteBuilder MapReleaseEndpoints(this IEndpointRouteBuilder routes)
    {
        // Quarantine is the whole server's business: admin on "/".
        var quarantine = routes.MapGroup("/v1/quarantine");
        quarantine.RequirePermission(Permission.Admin);
        quarantine.AddEndpointFilter(RefusalProblems.FilterAsync);
        quarantine.MapGet(string.Empty, (ReleaseDecisions decisions, CancellationToken ct) => Json(decisions.ListAsync(ReleaseState.Quarantined, _ => true, ct)))
            .WithSummary("List quarantined versions (current or superseded) with the scanners' verdicts.");
        quarantine.MapPost("/{versionId:guid}/release", async (Guid versionId, HttpContext context, ReleaseDecisions decisions, CancellationToken ct) =>
        {
            var request = await ReadAsync(context, ct).ConfigureAwait(false);
            var released = await decisions.ReleaseFromQuarantineAsync(ReleaseCallers.For(context), versionId, request.Reason, ct).ConfigureAwait(false);
            return Results.Json(await decisions.ViewAsync(released, ct).ConfigureAwait(false));
        }).WithSummary("Release a quarantined version (the current one of its path) despite its findings; a reason is required and audited.");
        quarantine.MapDelete("/{versionId:guid}", async (Guid versionId, HttpContext context, ReleaseDecisions decisions, CancellationToken ct) =>
        {
            await decisions.DeleteFromQuarantineAsync(ReleaseCallers.For(context), versionId, ct).ConfigureAwait(false);
            return Results.NoContent();
        }).WithSummary("Delete a quarantined version and its container.");

        // Approvals: approve on some area to reach them; on the version's own path before anything changes.
        var approvals = routes.MapGroup("/v1/approvals");
        approvals.RequirePermission(Permission.Approve, PathSource.Deferred);
        approvals.AddEndpointFilter(RefusalProblems.FilterAsync);
        approvals.MapGet(string.Empty, (HttpContext context, ReleaseDecisions decisions, CancellationToken ct) =>
        {
            var grants = context.GetPrincipal().Grants;
            return Json(decisions.ListAsync(ReleaseState.PendingApproval, v => grants.Allows(Permission.Approve, RemotePath.Parse(v.Path)), ct));
        }).WithSummary("List versions waiting for approval in the areas where the caller holds approve.");
        approvals.MapPost("/{versionId:guid}/approve", (Guid versionId, HttpContext context, ReleaseDecisions decisions, CancellationToken ct) =>
            DecideAsync(versionId, approve: true, context, decisions, ct))
            .WithSummary("Approve (release) a version pending approval; not by its uploader. Optional reason.");
        approvals.MapPost("/{versionId:guid}/reject", (Guid versionId, HttpContext context, ReleaseDecisions decisions, CancellationToken ct) =>
            DecideAsync(versionId, approve: false, context, decisions, ct))
            .WithSummary("Reject a version pending approval; not by its uploader. A reason is required.");
        return routes;
    }

    private static async Task<IResult> DecideAsync(Guid versionId, bool approve, HttpContext context, ReleaseDecisions decisions, CancellationToken cancellationToken)
    {
        var request = await ReadAsync(context, cancellationToken).ConfigureAwait(false);
        var version = await decisions.GetAsync(versionId, cancellationToken).ConfigureAwait(false)
            ?? throw new ReleaseException(ReleaseError.VersionNotFound, $"No version {versionId} (or it was deleted).");
        if (AccessResults.Check(context, Permission.Approve, version.Path) is { } denied)
        {
            return denied;
        }

        var decided = await decisions.DecideAsync(ReleaseCallers.For(context), version, approve, request.Reason, cancellationToken).ConfigureAwait(false);
        return Results.Json(await decisions.ViewAsync(decided, cancellationToken).ConfigureAwait(false));
    }

    private static async Task<IResult> Json<T>(Task<T> value) => Results.Json(await value.ConfigureAwait(false));

    // An empty body is no reason.
    private static Task<ReleaseReasonRequest> ReadAsync(HttpContext context, CancellationToken cancellationToken) =>
        JsonBody.ReadAsync(context, "{\"reason\": \"…\"}", MaxBodyBytes, cancellationToken, whenEmpty: new ReleaseReasonRequest(null));
}
