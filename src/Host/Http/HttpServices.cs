using Microsoft.Extensions.DependencyInjection;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Http;

/// <summary>Registers what the HTTP edge needs beyond the features.</summary>
public static class HttpServices
{
    /// <summary>The failed-authentication gate the access middleware and the login endpoint put in front of the access store.</summary>
    public static TurboMftBuilder AddHttpApi(this TurboMftBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<AuthenticationGate>();
        return builder;
    }
}
