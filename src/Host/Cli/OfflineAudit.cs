using TurboMft.Host.Audit;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Cli;

/// <summary>Opens the audit trail of a data directory for an offline command; the trail is disposed after the command if it is <see cref="IAsyncDisposable"/>.</summary>
public delegate ValueTask<IAuditTrail> OfflineAuditOpener(DataDirectory data, CancellationToken cancellationToken);

/// <summary>
/// The one seam through which offline administration (<c>turbomft user|token|role|peer … --data DIR</c>) reaches the data
/// directory's audit log: every change it makes is audited like one made through the server. <see cref="AuditLog.Open(DataDirectory, AuditLogOptions?, TimeProvider?)"/>
/// throws <see cref="AuditUnavailableException"/> while a running server holds the log, so offline changes never race a server.
/// </summary>
public static class OfflineAudit
{
    /// <summary>The opener the <c>turbomft</c> executable uses.</summary>
    public static OfflineAuditOpener Default { get; } = (data, _) => ValueTask.FromResult<IAuditTrail>(AuditLog.Open(data));
}
