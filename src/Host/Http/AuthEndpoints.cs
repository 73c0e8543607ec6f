using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TurboMft.Engine.Protocol;
using TurboMft.Host.Access;
using TurboMft.Host.Audit;

namespace TurboMft.Host.Http;

/// <summary>
/// <c>POST /v1/auth/token</c>: the only use of a password (docs/security.md, "Passwords"). Anonymous by necessity, so its
/// failures are throttled like every other failed authentication (<see cref="AuthenticationGate"/>), and a user's own recent
/// failures bar the password before it is checked; audited as <c>auth.login</c>.
/// </summary>
public static class AuthEndpoints
{
    /// <summary>Lifetime of a login token when the request names none.</summary>
    public static TimeSpan DefaultLoginLifetime { get; } = TimeSpan.FromHours(12);

    /// <summary>Maps the endpoint.</summary>
    public static IEndpointRouteBuilder MapAuthEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/v1/auth/token", LoginAsync)
            .WithSummary("Exchange a user's password for an API token (12 h unless expiresInHours says otherwise; scope may only narrow).")
            .AllowAnonymousAccess()
            .AddEndpointFilter(RefusalProblems.FilterAsync);
        return routes;
    }

    private static async Task<IResult> LoginAsync(
        HttpContext context,
        AccessAuthenticator access,
        IAuditTrail audit,
        AuthenticationGate gate,
        CancellationToken cancellationToken)
    {
        var request = await AdminEndpoints.ReadAsync<LoginRequest>(context, "{\"user\", \"password\", \"label\"?, \"expiresInHours\"?, \"permissions\"?, \"areas\"?}", cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrEmpty(request.User) || string.IsNullOrEmpty(request.Password))
        {
            return Problems.BadRequest("invalid-request", "user and password are required.");
        }

        // The user's own recent failures (from this address, or from all together) bar the password before it is checked.
        var identity = ClaimedIdentity.User(request.User);
        var actor = AuditActors.For(context) with { User = request.User };
        if (gate.BeforeCheck(context, identity) is { } barred)
        {
            audit.Append(AuditActors.Event(context, "auth.login", AuditOutcome.Denied) with { Actor = actor, Detail = "throttled" });
            return barred;
        }

        var tokenRequest = AccessAdminApi.ToTokenRequest(new IssueTokenRequest(request.User, request.Label, request.ExpiresInHours, request.Permissions, request.Areas));
        tokenRequest = tokenRequest with { ExpiresIn = tokenRequest.ExpiresIn ?? DefaultLoginLifetime };
        var result = await access.LoginAsync(request.User, request.Password, tokenRequest, cancellationToken).ConfigureAwait(false);
        if (result.Token is not { } token)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            var failure = AuditActors.Event(context, "auth.login", AuditOutcome.Failure) with { Actor = actor, Detail = result.FailureReason };
            return await gate.FailedAsync(
                context,
                identity,
                failure,
                CredentialKind.Password,
                Problems.Result(StatusCodes.Status401Unauthorized, "unauthorized", "Authentication required", "Wrong user name or password.")).ConfigureAwait(false);
        }

        gate.Succeeded(context, identity);
        await audit.AppendDurableAsync(
            AuditActors.Event(context, "auth.login", AuditOutcome.Success) with { Actor = actor with { TokenId = token.Id }, Detail = "token issued" },
            cancellationToken).ConfigureAwait(false);
        context.Response.Headers.CacheControl = "no-store";
        return Results.Json(new IssuedTokenView(token.Id, token.Secret, token.User, token.ExpiresAt));
    }
}
