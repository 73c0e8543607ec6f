using Microsoft.Extensions.DependencyInjection;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Notifications;

/// <summary>Registers incident notification.</summary>
public static class NotificationServices
{
    /// <summary>The incident notifier (a hosted service) sending to <paramref name="targets"/>, and its port <see cref="IIncidentNotifier"/>.</summary>
    public static TurboMftBuilder AddNotifications(this TurboMftBuilder builder, NotificationTargets targets)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(targets);
        builder.Services.AddSingleton(targets);
        builder.Services.AddSingleton<IncidentNotifier>();
        builder.Services.AddSingleton<IIncidentNotifier>(provider => provider.GetRequiredService<IncidentNotifier>());
        builder.Services.AddHostedService(provider => provider.GetRequiredService<IncidentNotifier>());
        return builder;
    }
}
