using System.Numerics;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace TurboMft.Host.Notifications;

/// <summary>
/// Sends incidents out (docs/content-security.md, "Incident notifications"): to the server log always, and to the signed
/// webhook and syslog when configured. <see cref="Raise"/> only stamps an id and queues: each channel has its own bounded
/// queue (the oldest incident is dropped and counted when one is full) and its own delivery loop, so a receiver that is
/// down delays nothing else.
/// </summary>
public sealed class IncidentNotifier : BackgroundService, IIncidentNotifier
{
    private readonly List<Lane> _lanes;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private long _dropped;

    /// <summary>Creates the notifier for <paramref name="targets"/>.</summary>
    public IncidentNotifier(NotificationTargets targets, TimeProvider time, ILoggerFactory loggers)
        : this(CreateChannels(targets, time, loggers), targets?.MaxQueued ?? 0, time, loggers)
    {
    }

    internal IncidentNotifier(IReadOnlyList<IncidentChannel> channels, int maxQueued, TimeProvider time, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(channels);
        ArgumentNullException.ThrowIfNull(loggers);
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _logger = loggers.CreateLogger<IncidentNotifier>();
        _lanes = [.. channels.Select(c => new Lane(this, c, maxQueued))];
    }

    /// <summary>The channels, in delivery order: <c>log</c>, then <c>webhook</c> and <c>syslog</c> when configured.</summary>
    public IReadOnlyList<string> Channels => [.. _lanes.Select(l => l.Channel.Name)];

    /// <summary>Incidents dropped so far, summed over channels (a full queue, or raised while stopping).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>How long <see cref="StopAsync"/> lets queued incidents go out before it cancels what is left (default 5 s).</summary>
    internal TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Queues <paramref name="incident"/> for every channel; never blocks, never throws.</summary>
    public void Raise(Incident incident) => Queue(incident, null);

    /// <summary>Like <see cref="Raise"/>, and returns a receipt that tells what became of the incident on each channel.</summary>
    public IncidentReceipt RaiseTracked(Incident incident)
    {
        var tracker = new DeliveryTracker(Channels);
        var id = Queue(incident, tracker);
        return new IncidentReceipt(id, tracker, _time);
    }

    /// <summary>Closes the queues, gives what is queued <see cref="DrainTimeout"/> to go out, then cancels the rest (logged).</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var lane in _lanes)
        {
            lane.Queue.Writer.TryComplete();
        }

        if (ExecuteTask is { } running)
        {
            await Task.WhenAny(running, Task.Delay(DrainTimeout, _time, cancellationToken)).ConfigureAwait(false);
        }

        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        foreach (var lane in _lanes)
        {
            var left = 0;
            while (lane.Queue.Reader.TryRead(out var item))
            {
                item.Tracker?.Set(new IncidentDeliveryOutcome(lane.Channel.Name, DeliveryStatus.Dropped, "the server stopped"));
                left++;
            }

            if (left > 0)
            {
                _logger.LogWarning("{Count} incidents were not delivered to {Channel}: the server stopped before they went out", left, lane.Channel.Name);
            }
        }
    }

    /// <summary>Releases the channels' clients and sockets.</summary>
    public override void Dispose()
    {
        base.Dispose();
        foreach (var lane in _lanes)
        {
            lane.Channel.Dispose();
        }
    }

    /// <summary>One delivery loop per channel.</summary>
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(_lanes.Select(lane => Task.Run(() => lane.RunAsync(stoppingToken), CancellationToken.None)));

    private static List<IncidentChannel> CreateChannels(NotificationTargets targets, TimeProvider time, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(loggers);
        var host = Environment.MachineName;
        var channels = new List<IncidentChannel> { new LogChannel(loggers.CreateLogger<IncidentNotifier>()) };
        if (targets.Webhook is { } webhook)
        {
            channels.Add(new WebhookChannel(webhook, targets.Retry, host, time, loggers.CreateLogger<WebhookChannel>()));
        }

        if (targets.Syslog is { } syslog)
        {
            channels.Add(new SyslogChannel(syslog, targets.Retry, host, time, loggers.CreateLogger<SyslogChannel>()));
        }

        return channels;
    }

    private string Queue(Incident incident, DeliveryTracker? tracker)
    {
        // Time-ordered and unique; the same on every channel and every retry, so a receiver can drop duplicates.
        var id = Guid.CreateVersion7(_time.GetUtcNow()).ToString();
        if (incident is null)
        {
            return id;
        }

        var item = new QueuedIncident(id, incident, tracker);
        foreach (var lane in _lanes)
        {
            if (!lane.Queue.Writer.TryWrite(item))
            {
                lane.Dropped(item, "raised while the server was stopping");
            }
        }

        return id;
    }

    /// <summary>A channel with its queue.</summary>
    private sealed class Lane
    {
        private readonly IncidentNotifier _owner;
        private long _dropped;

        public Lane(IncidentNotifier owner, IncidentChannel channel, int maxQueued)
        {
            _owner = owner;
            Channel = channel;
            Queue = System.Threading.Channels.Channel.CreateBounded<QueuedIncident>(
                new BoundedChannelOptions(Math.Max(1, maxQueued)) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
                item => Dropped(item, "the queue was full"));
        }

        public IncidentChannel Channel { get; }

        public Channel<QueuedIncident> Queue { get; }

        public void Dropped(QueuedIncident item, string why)
        {
            item.Tracker?.Set(new IncidentDeliveryOutcome(Channel.Name, DeliveryStatus.Dropped, why));
            Interlocked.Increment(ref _owner._dropped);
            var count = Interlocked.Increment(ref _dropped);
            if (BitOperations.IsPow2(count))
            {
                // Off the raising thread: Raise must not wait for a logger.
                ThreadPool.QueueUserWorkItem(
                    static state => state.Logger.LogWarning(
                        "Incident {Id} ({Kind}) was dropped for {Channel}: {Why}; {Count} dropped for this channel so far (Notifications.MaxQueued)",
                        state.Item.Id,
                        state.Item.Incident.Kind,
                        state.Channel,
                        state.Why,
                        state.Count),
                    (Logger: _owner._logger, Item: item, Channel: Channel.Name, Why: why, Count: count),
                    preferLocal: false);
            }
        }

        public async Task RunAsync(CancellationToken stoppingToken)
        {
            try
            {
                await foreach (var item in Queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
                {
                    IncidentDeliveryOutcome outcome;
                    try
                    {
                        outcome = await Channel.DeliverAsync(item, stoppingToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                    {
                        item.Tracker?.Set(new IncidentDeliveryOutcome(Channel.Name, DeliveryStatus.Dropped, "the server stopped during delivery"));
                        _owner._logger.LogWarning("Incident {Id} ({Kind}) was not delivered to {Channel}: the server stopped during delivery", item.Id, item.Incident.Kind, Channel.Name);
                        throw;
                    }
                    catch (Exception e)
                    {
                        // A channel's bug must not end the loop: the next incident still goes out.
                        _owner._logger.LogError(e, "Incident {Id} ({Kind}) could not be delivered to {Channel}", item.Id, item.Incident.Kind, Channel.Name);
                        outcome = new IncidentDeliveryOutcome(Channel.Name, DeliveryStatus.Failed, e.Message);
                    }

                    item.Tracker?.Set(outcome);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                // Stopped; StopAsync reports what is left.
            }
        }
    }

    /// <summary>The server log, at warning level: always there, the only channel when none is configured.</summary>
    private sealed class LogChannel(ILogger logger) : IncidentChannel
    {
        public override string Name => "log";

        public override Task<IncidentDeliveryOutcome> DeliverAsync(QueuedIncident item, CancellationToken cancellationToken)
        {
            var incident = item.Incident;
            logger.LogWarning(
                "Incident {Id} {Kind} ({Severity}): {Summary} [path {Path}, actor {Actor}, correlation {CorrelationId}]",
                item.Id,
                incident.Kind,
                incident.Severity,
                incident.Summary,
                incident.Path ?? "-",
                incident.Actor ?? "-",
                incident.CorrelationId ?? "-");
            return Task.FromResult(new IncidentDeliveryOutcome(Name, DeliveryStatus.Delivered, "written to the server log"));
        }
    }
}
