using System.Collections.Concurrent;

namespace TurboMft.Host.Notifications;

/// <summary>Outcome names of a delivery.</summary>
public static class DeliveryStatus
{
    /// <summary>The channel took it: a 2xx from the webhook, a line handed to the syslog socket, a log entry.</summary>
    public const string Delivered = "delivered";

    /// <summary>Refused for good (a 4xx from the webhook) or retried until the retry window closed.</summary>
    public const string Failed = "failed";

    /// <summary>Pushed out of a full queue, or raised while the server was stopping.</summary>
    public const string Dropped = "dropped";

    /// <summary>Not finished yet (still queued or being retried).</summary>
    public const string Pending = "pending";
}

/// <summary>What became of one incident on one channel.</summary>
/// <param name="Channel"><c>log</c>, <c>webhook</c> or <c>syslog</c>.</param>
/// <param name="Status">One of <see cref="DeliveryStatus"/>.</param>
/// <param name="Detail">For a person: HTTP status and attempts, the error, where it went.</param>
public sealed record IncidentDeliveryOutcome(string Channel, string Status, string Detail);

/// <summary>An incident with the id it travels under (the webhook's <c>id</c> and <c>TurboMft-Incident-Id</c>, syslog's <c>id</c>).</summary>
internal sealed class QueuedIncident(string id, Incident incident, DeliveryTracker? tracker)
{
    public string Id { get; } = id;

    public Incident Incident { get; } = incident;

    /// <summary>Who waits for the outcomes (the test endpoint); usually nobody.</summary>
    public DeliveryTracker? Tracker { get; } = tracker;
}

/// <summary>Collects the outcome of one incident on every channel.</summary>
internal sealed class DeliveryTracker(IReadOnlyList<string> channels)
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<IncidentDeliveryOutcome>> _outcomes = new(
        channels.Select(c => KeyValuePair.Create(c, new TaskCompletionSource<IncidentDeliveryOutcome>(TaskCreationOptions.RunContinuationsAsynchronously))));

    public void Set(IncidentDeliveryOutcome outcome)
    {
        if (_outcomes.TryGetValue(outcome.Channel, out var done))
        {
            done.TrySetResult(outcome);
        }
    }

    /// <summary>The outcome on every channel, waiting at most <paramref name="timeout"/>; unfinished ones are <see cref="DeliveryStatus.Pending"/>.</summary>
    public async Task<IReadOnlyList<IncidentDeliveryOutcome>> WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAll(_outcomes.Values.Select(v => v.Task)).WaitAsync(timeout, time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Reported per channel below.
        }

        return [.. _outcomes.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => o.Value.Task.IsCompletedSuccessfully
            ? o.Value.Task.Result
            : new IncidentDeliveryOutcome(o.Key, DeliveryStatus.Pending, $"not done after {timeout.TotalSeconds:0} s; still queued or being retried (see the server log)"))];
    }
}

/// <summary>An incident that was queued, and a way to learn what became of it.</summary>
public sealed class IncidentReceipt
{
    private readonly DeliveryTracker _tracker;
    private readonly TimeProvider _time;

    internal IncidentReceipt(string id, DeliveryTracker tracker, TimeProvider time)
    {
        Id = id;
        _tracker = tracker;
        _time = time;
    }

    /// <summary>The incident's id.</summary>
    public string Id { get; }

    /// <summary>Waits up to <paramref name="timeout"/> for every channel's outcome.</summary>
    public Task<IReadOnlyList<IncidentDeliveryOutcome>> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        _tracker.WaitAsync(timeout, _time, cancellationToken);
}

/// <summary>One way out for incidents. Delivers one at a time, retrying as its transport needs.</summary>
internal abstract class IncidentChannel : IDisposable
{
    /// <summary><c>log</c>, <c>webhook</c>, <c>syslog</c>.</summary>
    public abstract string Name { get; }

    /// <summary>Delivers (with retries) and returns the outcome, already logged; throws only when <paramref name="cancellationToken"/> fires.</summary>
    public abstract Task<IncidentDeliveryOutcome> DeliverAsync(QueuedIncident item, CancellationToken cancellationToken);

    /// <summary>Releases sockets and clients.</summary>
    public virtual void Dispose()
    {
    }
}
