namespace TurboMft.Host.Cluster;

/// <summary>
/// Named leases with fencing tokens (docs/cluster.md, "Background work under leases"): in the shared database when several
/// nodes share one (<see cref="PostgresLeaseStore"/>), in memory for the one embedded node (<see cref="LocalLeaseStore"/>).
/// </summary>
/// <remarks>
/// A holder is a node name and the instance id of its process: a node restarted under the same name is a new holder,
/// so its claim waits for the old holding to lapse and gets a new token. Expiry is decided by the store's one clock.
/// </remarks>
public interface ILeaseStore
{
    /// <summary>
    /// Claims <paramref name="name"/> for <paramref name="holder"/> (instance <paramref name="instance"/>) for
    /// <paramref name="term"/>, or renews it when this instance holds it already (the token stays). Returns the holding,
    /// or null when another holder's holding has not lapsed. A new holding gets the last token of the name plus one.
    /// </summary>
    Task<ClusterLease?> ClaimAsync(string name, string holder, Guid instance, TimeSpan term, CancellationToken cancellationToken = default);

    /// <summary>True when <paramref name="token"/> is the token of an unexpired holding of <paramref name="name"/>: the check a write under the lease makes.</summary>
    Task<bool> IsCurrentAsync(string name, long token, CancellationToken cancellationToken = default);

    /// <summary>Ends the holding of <paramref name="name"/> with <paramref name="token"/> at once (a clean stop); the token is kept, so the next holder's is larger. False when it was not current.</summary>
    Task<bool> ReleaseAsync(string name, long token, CancellationToken cancellationToken = default);

    /// <summary>Every lease held now (unexpired by the store's clock), by name.</summary>
    Task<IReadOnlyList<ClusterLease>> ListAsync(CancellationToken cancellationToken = default);
}
