using Microsoft.Extensions.DependencyInjection;
using TurboMft.Engine.Crypto;
using TurboMft.Host.Audit;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Access;

/// <summary>Registers access control.</summary>
public static class AccessServices
{
    /// <summary>
    /// The open access store (<paramref name="access"/>, any provider of the port), the authenticator over it (<see cref="AccessAuthenticator"/>),
    /// peers' sealed secrets, the admin API, and the failed-authentication throttle with <paramref name="throttle"/> and its metrics.
    /// </summary>
    public static TurboMftBuilder AddAccess(this TurboMftBuilder builder, IAccessStore access, KeyRing keys, AuthenticationThrottleSettings throttle)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(access);
        builder.Services.AddSingleton(throttle);
        builder.Services.AddSingleton<AuthenticationThrottle>();
        builder.Services.AddSingleton<SecurityMetrics>();
        builder.Services.AddSingleton(access);
        // Made now, so that a bad client CA file stops the start; from a factory, so that the container disposes it.
        var authenticator = new AccessAuthenticator(access);
        builder.Services.AddSingleton(_ => authenticator);
        builder.Services.AddSingleton<IAccessAuthenticator>(provider => provider.GetRequiredService<AccessAuthenticator>());
        builder.Services.AddSingleton(provider => new AccessAdministration(access, provider.GetRequiredService<IAuditTrail>()));
        builder.Services.AddSingleton(new PeerSecrets(keys));
        builder.Services.AddSingleton<AccessAdminApi>();
        return builder;
    }
}
