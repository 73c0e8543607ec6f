using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TurboMft.Engine.Protocol;
using TurboMft.Host.Access;
using TurboMft.Host.Cluster;

namespace TurboMft.Host.Http;

/// <summary>
/// The administration API under <c>/v1/admin</c> (docs/protocol.md, "Administration"): users, tokens, roles, grants and peers.
/// Every endpoint requires the admin permission on "/" (docs/security.md, "How a request is authenticated": every endpoint that changes configuration or peers);
/// each change is audited by <see cref="AccessAdministration"/>. Refusals are problem+json with stable types.
/// </summary>
public static class AdminEndpoints
{
    /// <summary>Largest request body accepted (the bodies are a few hundred bytes).</summary>
    public const int MaxBodyBytes = 64 * 1024;

    /// <summary>Maps the endpoints.</summary>
    public static IEndpointRouteBuilder MapAdminEndpoints(this IEndpointRouteBuilder routes)
    {
        var admin = routes.MapGroup("/v1/admin");
        admin.RequirePermission(Permission.Admin);
        admin.AddEndpointFilter(RefusalProblems.FilterAsync);

        admin.MapGet("/nodes", async (INodeRegistry registry, ILeaseStore leases, TimeProvider time, CancellationToken ct) =>
        {
            var now = time.GetUtcNow();
            var nodes = await registry.ListAsync(ct).ConfigureAwait(false);
            var held = (await leases.ListAsync(ct).ConfigureAwait(false)).ToLookup(l => l.Holder, StringComparer.Ordinal);
            return Results.Json(new NodeListing(registry.Self?.Name ?? string.Empty, [.. nodes.Select(n => new NodeStatus(
                n.Name, n.Site, n.Version, n.StartedAt, n.HeartbeatAt, n.IsLive(now), [.. held[n.Name].Select(l => new NodeLease(l.Name, l.Token, l.AcquiredAt, l.ExpiresAt))]))]));
        }).WithSummary("List the nodes of the service with their last heartbeat and the leases each holds (docs/cluster.md).");
        admin.MapGet("/users", (AccessAdminApi api, CancellationToken ct) => Json(api.ListUsersAsync(ct)))
            .WithSummary("List users with their grants (never a password hash).");
        admin.MapPost("/users", async (HttpContext context, AccessAdminApi api, CancellationToken ct) =>
        {
            var request = await ReadAsync<AddUserRequest>(context, "{\"name\", \"password\"?, \"roles\"?: [{\"role\", \"area\"}]}", ct).ConfigureAwait(false);
            var user = await api.AddUserAsync(Caller(context), request, ct).ConfigureAwait(false);
            return Results.Created($"/v1/admin/users/{user.Name}", user);
        }).WithSummary("Add a user, optionally with a password and grants.");
        admin.MapPost("/users/{name}/disable", async (string name, HttpContext context, AccessAdminApi api, CancellationToken ct) =>
        {
            await api.SetUserEnabledAsync(Caller(context), name, false, ct).ConfigureAwait(false);
            return Results.NoContent();
        }).WithSummary("Disable a user: its tokens and password stop working. Refused for the last admin.");
        admin.MapPost("/users/{name}/enable", async (string name, HttpContext context, AccessAdminApi api, CancellationToken ct) =>
        {
            await api.SetUserEnabledAsync(Caller(context), name, true, ct).ConfigureAwait(false);
            return Results.NoContent();
        }).WithSummary("Enable a user again.");
        admin.MapPut("/users/{name}/password", async (string name, HttpContext context, AccessAdminApi api, CancellationToken ct) =>
        {
            var request = await ReadAsync<SetPasswordRequest>(context, "{\"password\"}", ct).ConfigureAwait(false);
            await api.SetPasswordAsync(Caller(context), name, request, ct).ConfigureAwait(false);
            return Results.NoContent();
        }).WithSummary("Set a user's password (used only to obtain tokens).");

        admin.MapGet("/tokens", (string? user, AccessAdminApi api, CancellationToken ct) => Json(api.ListTokensAsync(user, ct)))
            .WithSummary("List tokens, optionally of one user (never a secret).");
        admin.MapPost("/tokens", async (HttpContext context, AccessAdminApi api, CancellationToken ct) =>
        {
            var request = await ReadAsync<IssueTokenRequest>(context, "{\"user\", \"label\"?, \"expiresInHours\"?, \"permissions\"?, \"areas\"?}", ct).ConfigureAwait(false);
            var issued = await api.IssueTokenAsync(Caller(context), request, ct).ConfigureAwait(false);
            context.Response.Headers.CacheControl = "no-store";
            return Results.Created($"/v1/admin/tokens/{issued.Id}", issued);
        }).WithSummary("Issue a token for a user, optionally narrowed; the secret is in this answer only.");
        admin.MapDelete("/tokens/{id}", async (string id, HttpContext context, AccessAdminApi api, CancellationToken ct) =>
        {
            await api.RevokeTokenAsync(Caller(context), id, ct).ConfigureAwait(false);
            return Results.NoContent();
        }).WithSummary("Revoke a token.");

        admin.MapGet("/roles", (AccessAdminApi api, CancellationToken ct) => Json(api.ListRolesAsync(ct)))
            .WithSummary("List the built-in and custom roles.");
        admin.MapPost("/roles", async (HttpContext context, AccessAdminApi api, CancellationToken ct) =>
        {
            var request = await ReadAsync<AddRoleRequest>(context, "{\"name\", \"permissions\": \"list,read\"}", ct).ConfigureAwait(false);
            var role = await api.AddRoleAsync(Caller(context), request, ct).ConfigureAwait(false);
            return Results.Created($"/v1/admin/roles/{role.Name}", role);
        }).WithSummary("Add a custom role.");

        admin.MapGet("/grants", (AccessAdminApi api, CancellationToken ct) => Json(api.ListGrantsAsync(ct)))
            .WithSummary("List grants.");
        admin.MapPost("/grants", async (HttpContext context, AccessAdminApi api, CancellationToken ct) =>
        {
            var request = await ReadAsync<GrantRequest>(context, GrantShape, ct).ConfigureAwait(false);
            await api.GrantAsync(Caller(context), request, ct).ConfigureAwait(false);
            return Results.NoContent();
        }).WithSummary("Grant a role on an area to a user or a peer.");
        admin.MapDelete("/grants", async (HttpContext context, AccessAdminApi api, CancellationToken ct) =>
        {
            var query = context.Request.Query;
            var request = query.ContainsKey("role")
                ? new GrantRequest(query["role"], query["user"], query["peer"], query["area"])
                : await ReadAsync<GrantRequest>(context, GrantShape, ct).ConfigureAwait(false);
            await api.RevokeGrantAsync(Caller(context), request, ct).ConfigureAwait(false);
            return Results.NoContent();
        }).WithSummary("Revoke a grant (JSON body, or ?role=&user=|peer=&area=). Refused for the last admin on /.");

        admin.MapGet("/peers", (AccessAdminApi api, CancellationToken ct) => Json(api.ListPeersAsync(ct)))
            .WithSummary("List peer sites.");
        admin.MapPost("/peers", async (HttpContext context, AccessAdminApi api, CancellationToken ct) =>
        {
            var request = await ReadAsync<AddPeerRequest>(context, "{\"name\", \"fingerprint\": \"sha256:…\" | \"commonName\"}", ct).ConfigureAwait(false);
            var peer = await api.AddPeerAsync(Caller(context), request, ct).ConfigureAwait(false);
            return Results.Created($"/v1/admin/peers/{peer.Name}", peer);
        }).WithSummary("Register a peer site by certificate fingerprint or by the common name of a certificate from the client CA.");
        admin.MapPost("/peers/{name}/disable", async (string name, HttpContext context, AccessAdminApi api, CancellationToken ct) =>
        {
            await api.SetPeerEnabledAsync(Caller(context), name, false, ct).ConfigureAwait(false);
            return Results.NoContent();
        }).WithSummary("Disable a peer.");
        admin.MapPost("/peers/{name}/enable", async (string name, HttpContext context, AccessAdminApi api, CancellationToken ct) =>
        {
            await api.SetPeerEnabledAsync(Caller(context), name, true, ct).ConfigureAwait(false);
            return Results.NoContent();
        }).WithSummary("Enable a peer again.");
        admin.MapDelete("/peers/{name}", async (string name, HttpContext context, AccessAdminApi api, CancellationToken ct) =>
        {
            await api.RemovePeerAsync(Caller(context), name, ct).ConfigureAwait(false);
            return Results.NoContent();
        }).WithSummary("Remove a peer and its grants.");
        return routes;
    }

    private const string GrantShape = "{\"role\", \"user\" | \"peer\", \"area\"}";

    private static AdminCaller Caller(HttpContext context) => new(AuditActors.For(context), context.TraceIdentifier);

    private static async Task<IResult> Json<T>(Task<T> list) => Results.Json(await list.ConfigureAwait(false));

    /// <summary>Reads a small JSON body into a plain record; a malformed one is refused as <c>invalid-request</c>.</summary>
    internal static Task<T> ReadAsync<T>(HttpContext context, string shape, CancellationToken cancellationToken)
        where T : class => JsonBody.ReadAsync<T>(context, shape, MaxBodyBytes, cancellationToken);
}
