using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Polly;

namespace TurboMft.Host.Notifications;

/// <summary>
/// Incidents as RFC 5424 lines (docs/content-security.md, "Syslog"): facility 4 (security/authorization), severity from the
/// incident, APP-NAME <c>turbomft</c>, MSGID the kind, <c>[incident@32473 id kind path digest actor correlationId]</c> and
/// <c>[details@32473 …]</c> as structured data, MSG the summary.
/// </summary>
public static class IncidentSyslog
{
    /// <summary>Facility 4, security/authorization: incidents are alerts, kept apart from the audit export's facility 13.</summary>
    public const int Facility = 4;

    /// <summary>The SD-ID of the incident's fields (32473: the documentation enterprise number of RFC 5612).</summary>
    public const string StructuredDataId = "incident@32473";

    /// <summary>The SD-ID of the incident's details, one SD-PARAM each.</summary>
    public const string DetailsId = "details@32473";

    /// <summary>The RFC 5424 severity number of a severity name (<c>critical</c> 2, <c>error</c> 3, <c>warning</c> 4, …); unknown names count as warning.</summary>
    public static int Severity(string? name) => name?.ToLowerInvariant() switch
    {
        "emergency" or "emerg" => 0,
        "alert" => 1,
        "critical" or "crit" => 2,
        "error" or "err" => 3,
        "warning" or "warn" => 4,
        "notice" => 5,
        "informational" or "info" => 6,
        "debug" => 7,
        _ => 4,
    };

    /// <summary>One line, without framing or newline.</summary>
    public static string Format(string id, Incident incident, string host, int? processId)
    {
        ArgumentNullException.ThrowIfNull(incident);
        var line = new SyslogLine(Facility, Severity(incident.Severity), incident.Time, host, SyslogLine.AppName, processId?.ToString(CultureInfo.InvariantCulture), incident.Kind)
            .Element(StructuredDataId)
            .Param("id", id)
            .Param("kind", incident.Kind)
            .Param("path", incident.Path)
            .Param("digest", incident.Digest)
            .Param("actor", incident.Actor)
            .Param("correlationId", incident.CorrelationId);
        if (incident.Details is { Count: > 0 } details)
        {
            line.Element(DetailsId);
            foreach (var (name, value) in details)
            {
                line.Param(name, value);
            }
        }

        return line.Message(incident.Summary);
    }
}

/// <summary>
/// Sends <see cref="IncidentSyslog"/> lines over UDP (a datagram each), TCP (RFC 6587 octet counting on one kept
/// connection) or a Unix datagram socket. A failed send drops the socket and is retried on <see cref="DeliveryRetry"/>'s
/// schedule with a new one. "Delivered" means handed to the transport: syslog has no acknowledgement.
/// </summary>
internal sealed class SyslogChannel : IncidentChannel
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);
    private readonly SyslogDestination _destination;
    private readonly string _host;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline<bool> _pipeline;
    private Socket? _socket;

    public SyslogChannel(SyslogDestination destination, RetrySchedule retry, string host, TimeProvider time, ILogger logger)
    {
        _destination = destination;
        _host = host;
        _time = time;
        _logger = logger;
        _pipeline = DeliveryRetry.Build<bool>(retry, time, logger, Name, o => o.Exception is not null, o => o.Exception?.Message ?? "sent");
    }

    public override string Name => "syslog";

    public override async Task<IncidentDeliveryOutcome> DeliverAsync(QueuedIncident item, CancellationToken cancellationToken)
    {
        var line = Encoding.UTF8.GetBytes(IncidentSyslog.Format(item.Id, item.Incident, _host, Environment.ProcessId));
        var (outcome, attempts) = await DeliveryRetry.RunAsync(_pipeline, _time, item, ct => SendAsync(line, ct), cancellationToken).ConfigureAwait(false);
        if (outcome.Exception is { } e)
        {
            _logger.LogWarning("Incident {Id} ({Kind}) not sent to syslog {Target}: given up after {Attempts} attempts (Notifications.RetryForHours); last: {Reason}", item.Id, item.Incident.Kind, _destination, attempts, e.Message);
            return new IncidentDeliveryOutcome(Name, DeliveryStatus.Failed, $"given up after {attempts} attempts to {_destination}; last: {e.Message}");
        }

        _logger.LogInformation("Incident {Id} ({Kind}) sent to syslog {Target} after {Attempts} attempt(s)", item.Id, item.Incident.Kind, _destination, attempts);
        return new IncidentDeliveryOutcome(Name, DeliveryStatus.Delivered, $"sent to {_destination}");
    }

    public override void Dispose()
    {
        _socket?.Dispose();
        _socket = null;
    }

    private async ValueTask<bool> SendAsync(byte[] line, CancellationToken cancellationToken)
    {
        try
        {
            var socket = await ConnectedAsync(cancellationToken).ConfigureAwait(false);
            if (_destination.Transport == SyslogTransport.Tcp)
            {
                // RFC 6587 3.4.1: MSG-LEN SP SYSLOG-MSG, no trailer.
                var frame = new byte[line.Length + 12];
                var prefix = Encoding.ASCII.GetBytes(line.Length.ToString(CultureInfo.InvariantCulture) + " ", frame);
                line.CopyTo(frame, prefix);
                await socket.SendAsync(frame.AsMemory(0, prefix + line.Length), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await socket.SendAsync(line, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            }

            return true;
        }
        catch
        {
            // The next attempt starts with a fresh socket (reconnect, new resolution).
            Dispose();
            throw;
        }
    }

    private async ValueTask<Socket> ConnectedAsync(CancellationToken cancellationToken)
    {
        if (_socket is { } open)
        {
            // A TCP collector that closed its end shows as readable with nothing to read.
            if (_destination.Transport != SyslogTransport.Tcp || !(open.Poll(0, SelectMode.SelectRead) && open.Available == 0))
            {
                return open;
            }

            Dispose();
        }

        var socket = _destination.Transport switch
        {
            SyslogTransport.Unix => new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified),
            SyslogTransport.Udp => new Socket(SocketType.Dgram, ProtocolType.Udp),
            _ => new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true },
        };
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(ConnectTimeout);
            if (_destination.Transport == SyslogTransport.Unix)
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(_destination.SocketPath!), timeout.Token).ConfigureAwait(false);
            }
            else
            {
                await socket.ConnectAsync(_destination.Host!, _destination.Port, timeout.Token).ConfigureAwait(false);
            }
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        _socket = socket;
        return socket;
    }
}
