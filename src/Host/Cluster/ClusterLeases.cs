using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace TurboMft.Host.Cluster;

/// <summary>
/// The leases this node holds or wants (docs/cluster.md, "Background work under leases"). Work that must run once per
/// cluster asks <see cref="HoldAsync"/> before each round and does nothing when another node holds the lease; from its
/// first ask the lease is wanted, and every <see cref="ClusterLease.RenewInterval"/> this service renews those held and
/// claims those free, so a killed holder's work moves within <see cref="ClusterLease.Term"/> plus one interval. A clean
/// stop releases every lease at once (after the work using them stopped: this service is registered before it).
/// </summary>
/// <remarks>
/// Leases are claimed under the node's name once it has joined the registry (<see cref="Joined"/>): before that,
/// <see cref="HoldAsync"/> waits. A holding is taken for lost when a renewal is refused, or when renewals failed for a
/// whole term measured on this node's clock from before the last successful claim was sent (so it never outlives the
/// store's expiry); work in progress sees <see cref="HeldLease.Lost"/> and every write checks <see cref="HeldLease.EnsureCurrentAsync"/>.
/// </remarks>
public sealed class ClusterLeases(ILeaseStore store, TimeProvider time, ILogger<ClusterLeases> logger) : BackgroundService
{
    private readonly TaskCompletionSource<string> _joined = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<string, HeldLease?> _wanted = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _claims = new(1, 1);
    private bool _failing;

    /// <summary>This process's instance id: a node restarted under the same name is a new holder.</summary>
    public Guid Instance { get; } = Guid.NewGuid();

    /// <summary>The node name leases are held under, once joined.</summary>
    public string? Holder => _joined.Task.IsCompletedSuccessfully ? _joined.Task.Result : null;

    /// <summary>The store the leases are kept in.</summary>
    public ILeaseStore Store => store;

    /// <summary>The leases this node holds now, by name.</summary>
    public IReadOnlyList<HeldLease> Held => [.. _wanted.Values.OfType<HeldLease>().Where(l => l.IsValid).OrderBy(l => l.Name, StringComparer.Ordinal)];

    /// <summary>The node joined the registry as <paramref name="nodeName"/>: leases may be claimed under that name now.</summary>
    public void Joined(string nodeName)
    {
        ArgumentException.ThrowIfNullOrEmpty(nodeName);
        _joined.TrySetResult(nodeName);
    }

    /// <summary>The node's name, once it has joined.</summary>
    public Task<string> NodeNameAsync(CancellationToken cancellationToken) => _joined.Task.WaitAsync(cancellationToken);

    /// <summary>
    /// The holding of <paramref name="name"/> if this node has it now; null when another node holds it. The first ask
    /// claims it at once (one round trip) and makes it wanted; later asks answer from memory, except for a holding past
    /// its term here, which is claimed again (renewed with its token when nobody took it over).
    /// </summary>
    public async ValueTask<HeldLease?> HoldAsync(string name, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (_wanted.TryGetValue(name, out var held) && (held is null || held.IsValid))
        {
            return held;
        }

        // Asked first, or held but past its term here (renewals failed or the process stalled): claim now, one round trip.
        var holder = await NodeNameAsync(cancellationToken).ConfigureAwait(false);
        _wanted.TryAdd(name, null);
        return await ClaimAsync(name, holder, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One round: renews every lease held and claims every lease wanted that is free. Runs every <see cref="ClusterLease.RenewInterval"/>.</summary>
    public async Task RenewAsync(CancellationToken cancellationToken)
    {
        if (Holder is not { } holder)
        {
            return;
        }

        foreach (var name in _wanted.Keys)
        {
            try
            {
                await ClaimAsync(name, holder, cancellationToken).ConfigureAwait(false);
                _failing = false;
            }
            catch (IOException e)
            {
                if (!_failing)
                {
                    logger.LogWarning("Node {Node}: renewing lease {Lease} failed: {Reason}", holder, name, e.Message);
                }

                _failing = true;
                if (_wanted.TryGetValue(name, out var held) && held is { IsValid: false, IsLost: false })
                {
                    held.Lose();
                    logger.LogWarning("Node {Node}: lease {Lease} (token {Token}) lapsed while the lease store could not be reached; its work stops here", holder, name, held.Token);
                }
            }
        }
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await NodeNameAsync(stoppingToken).ConfigureAwait(false);
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(ClusterLease.RenewInterval, time, stoppingToken).ConfigureAwait(false);
                await RenewAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: StopAsync releases what is held.
        }
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        foreach (var held in _wanted.Values.OfType<HeldLease>().Where(l => !l.IsLost))
        {
            held.Lose();
            try
            {
                // The next holder need not wait out the term.
                await store.ReleaseAsync(held.Name, held.Token, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                logger.LogWarning("Lease {Lease} could not be released ({Reason}); another node takes it over once its term has run out", held.Name, e.Message);
            }
        }
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        base.Dispose();
        _claims.Dispose();
        foreach (var held in _wanted.Values.OfType<HeldLease>())
        {
            held.Dispose();
        }
    }

    private async Task<HeldLease?> ClaimAsync(string name, string holder, CancellationToken cancellationToken)
    {
        await _claims.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Measured from before the claim is sent, the local holding ends no later than the store's.
            var sent = time.GetUtcNow();
            var lease = await store.ClaimAsync(name, holder, Instance, ClusterLease.Term, cancellationToken).ConfigureAwait(false);
            _wanted.TryGetValue(name, out var previous);
            if (previous is not null && lease is not null && previous.Token == lease.Token && !previous.IsLost)
            {
                previous.Extend(sent + ClusterLease.Term);
                return previous;
            }

            if (previous is { IsLost: false })
            {
                previous.Lose();
                logger.LogWarning("Node {Node}: lease {Lease} (token {Token}) was taken over by another node; its work stops here", holder, name, previous.Token);
            }

            if (lease is null)
            {
                _wanted[name] = null;
                return null;
            }

            var held = new HeldLease(store, lease, sent + ClusterLease.Term, time);
            _wanted[name] = held;
            logger.LogInformation("Node {Node} holds lease {Lease} (token {Token})", holder, name, lease.Token);
            return held;
        }
        finally
        {
            _claims.Release();
        }
    }
}

/// <summary>A lease this node holds (<see cref="ClusterLeases.HoldAsync"/>): its token, and the checks a write under it makes.</summary>
public sealed class HeldLease : IDisposable
{
    private readonly ILeaseStore _store;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _lost = new();
    private long _validUntil;

    internal HeldLease(ILeaseStore store, ClusterLease lease, DateTimeOffset validUntil, TimeProvider time)
    {
        _store = store;
        _time = time;
        Name = lease.Name;
        Token = lease.Token;
        _validUntil = validUntil.ToUnixTimeMilliseconds();
    }

    /// <summary>The lease's name.</summary>
    public string Name { get; }

    /// <summary>The fencing token of this holding.</summary>
    public long Token { get; }

    /// <summary>Cancelled once the holding is lost: work under it stops.</summary>
    public CancellationToken Lost => _lost.Token;

    /// <summary>True once the holding was lost (taken over, lapsed, or released at stop).</summary>
    public bool IsLost => _lost.IsCancellationRequested;

    /// <summary>True while not lost and within its term as this node measures it.</summary>
    public bool IsValid => !IsLost && _time.GetUtcNow().ToUnixTimeMilliseconds() < Interlocked.Read(ref _validUntil);

    /// <summary>
    /// The fencing check before a write under the lease: throws when the holding is no longer current in the store (another
    /// node's token is larger, or it lapsed). One indexed read on the shared store.
    /// </summary>
    /// <exception cref="LeaseLostException">The holding is lost; the write must not be made.</exception>
    public async Task EnsureCurrentAsync(CancellationToken cancellationToken)
    {
        if (IsValid && await _store.IsCurrentAsync(Name, Token, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        Lose();
        throw new LeaseLostException($"Lease {Name} (token {Token}) is no longer held by this node (it lapsed or another node took it over); the write under it was not made.");
    }

    /// <inheritdoc />
    public void Dispose() => _lost.Dispose();

    internal void Extend(DateTimeOffset validUntil) => Interlocked.Exchange(ref _validUntil, validUntil.ToUnixTimeMilliseconds());

    internal void Lose()
    {
        try
        {
            _lost.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Disposed with the service: lost already for everyone.
        }
    }
}
