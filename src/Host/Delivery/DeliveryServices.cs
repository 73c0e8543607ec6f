using Microsoft.Extensions.DependencyInjection;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Delivery;

/// <summary>Registers the read side.</summary>
public static class DeliveryServices
{
    /// <summary>Downloads (<see cref="FileDelivery"/>), reading containers from the object store.</summary>
    public static TurboMftBuilder AddDelivery(this TurboMftBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<FileDelivery>();
        return builder;
    }
}
