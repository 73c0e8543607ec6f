using System.Net.Http.Headers;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using TurboMft.Engine.Storage;
using TurboMft.Host.Access;
using TurboMft.Host.Audit;

namespace TurboMft.Host.Http;

/// <summary>
/// The one authentication and authorization path for every route (docs/security.md):
/// <list type="number">
/// <item>endpoints marked <see cref="AnonymousAccess"/> (<c>/healthz</c>, the password login) pass untouched;</item>
/// <item>otherwise the request must carry exactly one credential: <c>Authorization: Bearer &lt;token&gt;</c>, or, without
/// an Authorization header, a TLS client certificate registered to a peer. Any other scheme, a bad token or an unknown
/// certificate is 401; no header, forwarded-for or loopback address is ever trusted;</item>
/// <item>the endpoint's <see cref="RequiredPermission"/> is checked against the principal's grants before the handler
/// runs, so a denial is the same 403 whether or not the path exists. An endpoint without the metadata is denied, except
/// routing's own method rejection, which answers 405 with Allow (a route that exists for other methods).</item>
/// </list>
/// Failures are audited and throttled by <see cref="AuthenticationGate"/>; a valid credential is never delayed.
/// </summary>
public sealed class AccessMiddleware(
    RequestDelegate next,
    IAccessAuthenticator authenticator,
    IAuditTrail audit,
    AuthenticationGate gate,
    ILogger<AccessMiddleware> logger)
{
    private const string BearerScheme = "Bearer";

    /// <summary>The display name of routing's method-rejection endpoint (Microsoft.AspNetCore.Routing, HttpMethodMatcherPolicy).</summary>
    private const string MethodRejectionDisplayName = "405 HTTP Method Not Supported";

    /// <summary>Authenticates and authorizes the request, or answers 401/403.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var endpoint = context.GetEndpoint();
        if (endpoint?.Metadata.GetMetadata<AnonymousAccess>() is not null)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        Principal? principal;
        IResult? refusal;
        try
        {
            (principal, refusal) = await AuthenticateAsync(context).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away while its failure's answer was held: nobody is left to answer.
            return;
        }

        if (principal is null)
        {
            await refusal!.ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        context.SetPrincipal(principal);
        if (endpoint is null)
        {
            // No such route: the routing's own 404/405 follows, for authenticated callers only.
            await next(context).ConfigureAwait(false);
            return;
        }

        var required = endpoint.Metadata.GetMetadata<RequiredPermission>();
        if (required is null && IsMethodRejection(endpoint))
        {
            // The route exists for other methods: routing's own 405 endpoint sets the status and Allow; the body says why.
            await endpoint.RequestDelegate!(context).ConfigureAwait(false);
            var allow = context.Response.Headers.Allow.ToString();
            await Problems.MethodNotAllowed($"{context.Request.Method} is not served on {context.Request.Path}; allowed: {allow}.").ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        if (required is null)
        {
            logger.LogError("Endpoint {Endpoint} declares no permission; denied", endpoint.DisplayName);
            await AccessResults.Deny(context, null, Permission.Admin).ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        RemotePath? path = null;
        bool allowed;
        switch (required.Source)
        {
            case PathSource.Route:
                if (!RequestPaths.TryGet(context, required.RoutePrefix!, out path, out var pathError))
                {
                    await Problems.BadPath(pathError).ExecuteAsync(context).ConfigureAwait(false);
                    return;
                }

                allowed = required.Permission == Permission.None || principal.Grants.Allows(required.Permission, path);
                break;
            case PathSource.Deferred:
                allowed = required.Permission == Permission.None || principal.Grants.HoldsAnywhere(required.Permission);
                break;
            default:
                path = RemotePath.Root;
                allowed = required.Permission == Permission.None || principal.Grants.Allows(required.Permission, path);
                break;
        }

        if (!allowed)
        {
            await AccessResults.Deny(context, path, required.Permission).ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        await next(context).ConfigureAwait(false);
    }

    /// <summary>
    /// True for the endpoint ASP.NET Core routing selects when a route matches the path but not the method
    /// (<c>HttpMethodMatcherPolicy</c>): no metadata at all, a delegate that only sets 405 and Allow, and this display name.
    /// </summary>
    internal static bool IsMethodRejection(Endpoint endpoint) =>
        endpoint.DisplayName == MethodRejectionDisplayName && endpoint.Metadata.Count == 0 && endpoint.RequestDelegate is not null;

    private async Task<(Principal? Principal, IResult? Refusal)> AuthenticateAsync(HttpContext context)
    {
        AuthenticationOutcome outcome;
        var credential = CredentialKind.None;
        var identity = ClaimedIdentity.None;
        var authorization = context.Request.Headers.Authorization;
        string? token = null;
        if (authorization.Count > 0)
        {
            if (authorization.Count == 1
                && AuthenticationHeaderValue.TryParse(authorization[0], out var header)
                && header.Scheme.Equals(BearerScheme, StringComparison.OrdinalIgnoreCase)
                && header.Parameter is { Length: > 0 } parameter)
            {
                credential = CredentialKind.Token;
                token = parameter;
                identity = ClaimedIdentity.Token(parameter);
            }
        }
        else if (context.Connection.ClientCertificate is { } certificate)
        {
            credential = CredentialKind.Certificate;
            identity = ClaimedIdentity.Certificate(certificate.RawData);
        }

        // Only this credential's own failures bar it before the check: a valid one is never slowed by others' (a NAT).
        if (gate.BeforeCheck(context, identity) is { } barred)
        {
            return (null, barred);
        }

        if (token is not null)
        {
            outcome = await authenticator.AuthenticateTokenAsync(token, context.RequestAborted).ConfigureAwait(false);
        }
        else if (credential == CredentialKind.Certificate)
        {
            outcome = await authenticator.AuthenticatePeerAsync(context.Connection.ClientCertificate!, context.RequestAborted).ConfigureAwait(false);
        }
        else
        {
            outcome = AuthenticationOutcome.Failure(authorization.Count > 0 ? "unsupported-credentials" : "no-credentials");
        }

        if (outcome.Principal is { } principal)
        {
            gate.Succeeded(context, identity);
            AuditOncePerConnection(context, principal);
            return (principal, null);
        }

        var failure = AuditActors.Event(context, "auth.failure", AuditOutcome.Failure) with { Detail = outcome.FailureReason };
        context.Response.Headers.WWWAuthenticate = BearerScheme;
        return (null, await gate.FailedAsync(context, identity, failure, credential, Problems.Unauthorized()).ConfigureAwait(false));
    }

    // A record per request would drown the trail (a 1 GiB push is hundreds of chunk requests); one per connection and
    // credential says who connected, and every audited action names its actor anyway.
    private void AuditOncePerConnection(HttpContext context, Principal principal)
    {
        var items = context.Features.Get<IConnectionItemsFeature>()?.Items;
        var key = "turbomft.authenticated:" + (principal.TokenId ?? "peer:" + principal.Name);
        if (items is not null)
        {
            lock (items)
            {
                if (!items.TryAdd(key, true))
                {
                    return;
                }
            }
        }

        audit.Append(AuditActors.Event(context, "auth.success", AuditOutcome.Success, null) with
        {
            Actor = AuditActors.For(context, principal),
            Detail = principal.Kind == PrincipalKind.Peer ? "client-certificate" : "bearer",
        });
    }
}
