namespace TurboMft.Host.Cluster;

/// <summary>
/// The leases of the embedded server: in memory, by <see cref="TimeProvider"/>. With one node in the process every claim
/// of it is granted; the rules are those of the shared store all the same (the contract suite runs against both).
/// </summary>
public sealed class LocalLeaseStore(TimeProvider time) : ILeaseStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _leases = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public Task<ClusterLease?> ClaimAsync(string name, string holder, Guid instance, TimeSpan term, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(holder);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(term, TimeSpan.Zero);
        var now = time.GetUtcNow();
        lock (_gate)
        {
            _leases.TryGetValue(name, out var found);
            // Its own holding, lapsed or not: nobody took it over in between, so the token stays.
            if (found is not null && found.Instance == instance)
            {
                var renewed = found.Lease with { Holder = holder, ExpiresAt = now + term };
                _leases[name] = found with { Lease = renewed };
                return Task.FromResult<ClusterLease?>(renewed);
            }

            if (found is not null && found.Lease.ExpiresAt > now)
            {
                return Task.FromResult<ClusterLease?>(null);
            }

            var claimed = new ClusterLease(name, holder, (found?.Lease.Token ?? 0) + 1, now, now + term);
            _leases[name] = new Entry(claimed, instance);
            return Task.FromResult<ClusterLease?>(claimed);
        }
    }

    /// <inheritdoc />
    public Task<bool> IsCurrentAsync(string name, long token, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            return Task.FromResult(_leases.TryGetValue(name, out var found) && found.Instance is not null && found.Lease.Token == token && found.Lease.ExpiresAt > now);
        }
    }

    /// <inheritdoc />
    public Task<bool> ReleaseAsync(string name, long token, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (!_leases.TryGetValue(name, out var found) || found.Instance is null || found.Lease.Token != token || found.Lease.ExpiresAt <= now)
            {
                return Task.FromResult(false);
            }

            _leases[name] = new Entry(found.Lease with { ExpiresAt = now }, null);
            return Task.FromResult(true);
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<ClusterLease>> ListAsync(CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            return Task.FromResult<IReadOnlyList<ClusterLease>>(
                [.. _leases.Values.Where(e => e.Instance is not null && e.Lease.ExpiresAt > now).Select(e => e.Lease).OrderBy(l => l.Name, StringComparer.Ordinal)]);
        }
    }

    // Instance null: released (the token is kept for the next holder).
    private sealed record Entry(ClusterLease Lease, Guid? Instance);
}
