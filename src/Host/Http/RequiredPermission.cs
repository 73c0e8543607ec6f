using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using TurboMft.Engine.Storage;
using TurboMft.Host.Access;

namespace TurboMft.Host.Http;

/// <summary>Where the path that a permission is checked against comes from.</summary>
public enum PathSource
{
    /// <summary>The whole tree ("/"): administration, server-wide reads.</summary>
    Root,

    /// <summary>The raw request target after <see cref="RequiredPermission.RoutePrefix"/> (e.g. "/v1/files/").</summary>
    Route,

    /// <summary>
    /// Known only inside the handler (a JSON body, an upload session, a query filter). The middleware admits the request
    /// only if the permission is held on some area; the handler must then call <see cref="AccessContext.Allows"/> on the
    /// real path before touching anything.
    /// </summary>
    Deferred,
}

/// <summary>
/// Endpoint metadata: the permission an endpoint needs. Every endpoint carries one (or <see cref="AnonymousAccess"/>);
/// the authorization middleware denies endpoints without either (fail closed).
/// </summary>
public sealed record RequiredPermission(Permission Permission, PathSource Source, string? RoutePrefix = null);

/// <summary>Endpoint metadata: reachable without credentials (only <c>/healthz</c> and the password login).</summary>
public sealed class AnonymousAccess
{
    /// <summary>The one instance.</summary>
    public static AnonymousAccess Instance { get; } = new();

    private AnonymousAccess()
    {
    }
}

/// <summary>Declares endpoints' permissions.</summary>
public static class AccessEndpointConventions
{
    /// <summary>Requires <paramref name="permission"/> on the path from <paramref name="source"/>.</summary>
    public static TBuilder RequirePermission<TBuilder>(this TBuilder builder, Permission permission, PathSource source = PathSource.Root, string? routePrefix = null)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (source == PathSource.Route && routePrefix is null)
        {
            throw new ArgumentException("A route path source needs its prefix.", nameof(routePrefix));
        }

        return builder.WithMetadata(new RequiredPermission(permission, source, routePrefix));
    }

    /// <summary>Lets the endpoint be reached without credentials.</summary>
    public static TBuilder AllowAnonymousAccess<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(AnonymousAccess.Instance);
}

/// <summary>The authenticated principal of a request, and the deferred permission check.</summary>
public static class AccessContext
{
    private static readonly object PrincipalKey = new();

    /// <summary>The request's principal; set by the authentication middleware before any endpoint runs.</summary>
    public static Principal GetPrincipal(this HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Items.TryGetValue(PrincipalKey, out var value) && value is Principal principal
            ? principal
            : throw new InvalidOperationException("The request has no authenticated principal.");
    }

    /// <summary>The request's principal, or null before authentication.</summary>
    public static Principal? TryGetPrincipal(this HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Items.TryGetValue(PrincipalKey, out var value) ? value as Principal : null;
    }

    /// <summary>Sets the request's principal (authentication middleware only).</summary>
    public static void SetPrincipal(this HttpContext context, Principal principal)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Items[PrincipalKey] = principal;
    }

    /// <summary>True when the request's principal holds <paramref name="permission"/> on <paramref name="path"/>.</summary>
    public static bool Allows(this HttpContext context, Permission permission, RemotePath path) =>
        context.GetPrincipal().Grants.Allows(permission, path);
}
