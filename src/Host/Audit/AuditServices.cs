using Microsoft.Extensions.DependencyInjection;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Audit;

/// <summary>Registers the audit trail.</summary>
public static class AuditServices
{
    /// <summary>
    /// The open audit log as the trail every feature appends to, its store (<see cref="IAuditStore"/>, and as <see cref="IAuditReader"/> to read records), and its
    /// periodic verification (<see cref="AuditWatch"/>).
    /// </summary>
    public static TurboMftBuilder AddAudit(this TurboMftBuilder builder, AuditLog audit, AuditWatchSettings watch)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(audit);
        ArgumentNullException.ThrowIfNull(watch);
        builder.Services.AddSingleton(audit);
        builder.Services.AddSingleton<IAuditTrail>(audit);
        builder.Services.AddSingleton(audit.Store);
        builder.Services.AddSingleton<IAuditReader>(audit.Store);
        builder.Services.AddSingleton(watch);
        builder.Services.AddHostedService<AuditWatch>();
        return builder;
    }
}
