using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using TurboMft.Host.Server;

namespace TurboMft.Host.Auth;

/// <summary>
/// The one authentication path for every route: <c>Authorization: Bearer &lt;token&gt;</c>, compared in constant time
/// against the admin token's hash. Only <c>/healthz</c> is anonymous. No other scheme, header or source address is
/// trusted (DESIGN.md, "Security"). Replaced by users, tokens and roles in the access-control milestone.
/// </summary>
public sealed class AdminTokenAuthentication(RequestDelegate next, AdminToken token)
{
    /// <summary>Authenticates the request or answers 401.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Request.Path.Equals("/healthz", StringComparison.Ordinal) || token.Matches(context.Request.Headers.Authorization.ToString()))
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        context.Response.Headers.WWWAuthenticate = "Bearer";
        await Problems.Unauthorized().ExecuteAsync(context).ConfigureAwait(false);
    }
}

/// <summary>The admin token, held only as its SHA-256.</summary>
public sealed class AdminToken(string token)
{
    private readonly byte[] _hash = SHA256.HashData(Encoding.UTF8.GetBytes(token));

    /// <summary>True when <paramref name="authorization"/> is exactly <c>Bearer &lt;token&gt;</c>; constant time in the token.</summary>
    public bool Matches(string authorization)
    {
        const string Scheme = "Bearer ";
        if (!authorization.StartsWith(Scheme, StringComparison.Ordinal))
        {
            return false;
        }

        Span<byte> presented = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(authorization[Scheme.Length..].Trim()), presented);
        return CryptographicOperations.FixedTimeEquals(presented, _hash);
    }
}
