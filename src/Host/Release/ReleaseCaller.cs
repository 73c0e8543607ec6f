using TurboMft.Host.Access;
using TurboMft.Host.Audit;

namespace TurboMft.Host.Release;

/// <summary>Who acts on a held version, for the four-eyes check and the audit trail.</summary>
/// <param name="Identity">The uploader-comparable identity: a user name, <c>peer:NAME</c>, or <c>system</c>.</param>
/// <param name="Actor">The audit actor (name, token id, address).</param>
/// <param name="CorrelationId">The request's correlation id, if any.</param>
public sealed record ReleaseCaller(string Identity, AuditActor Actor, string? CorrelationId)
{
    /// <summary>The server itself (the scan service, expiry) or an offline command on the data directory.</summary>
    public static ReleaseCaller System { get; } = new(SystemIdentity, AuditActor.System, null);

    /// <summary>The identity of automatic and offline decisions.</summary>
    public const string SystemIdentity = "system";

    /// <summary>
    /// The name recorded as a version's uploader (<c>FileVersion.UploadedBy</c>) and compared with an approver's: the user
    /// name, or <c>peer:NAME</c> for a peer site (names cannot contain ':', so the two never collide).
    /// </summary>
    public static string IdentityOf(Principal principal)
    {
        ArgumentNullException.ThrowIfNull(principal);
        return principal.Kind == PrincipalKind.Peer ? "peer:" + principal.Name : principal.Name;
    }
}
