using System.Diagnostics;
using System.Runtime.Versioning;
using Microsoft.Extensions.Logging;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Notifications;

namespace TurboMft.Host.Tests.Notifications;

/// <summary>The notifier against real receivers on loopback: a Kestrel webhook endpoint and UDP/TCP syslog collectors.</summary>
[UnsupportedOSPlatform("windows")]
public sealed class IncidentNotifierTests : IAsyncLifetime
{
    private const string Secret = "3f1c0e5a9b7d4c2e8f6a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d1e";

    private readonly string _dir = Directory.CreateTempSubdirectory("tmf-notify-").FullName;
    private readonly CapturingLoggerProvider _logs = new();
    private readonly List<IncidentNotifier> _notifiers = [];
    private WebhookReceiver _receiver = null!;

    public async ValueTask InitializeAsync() => _receiver = await WebhookReceiver.StartAsync();

    public async ValueTask DisposeAsync()
    {
        foreach (var notifier in _notifiers)
        {
            await notifier.StopAsync(CancellationToken.None);
            notifier.Dispose();
        }

        await _receiver.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task An_incident_reaches_the_webhook_within_seconds_signed_with_every_field()
    {
        var notifier = await StartAsync();
        var time = new DateTimeOffset(2026, 11, 26, 12, 0, 0, 123, TimeSpan.Zero);
        var raised = Stopwatch.StartNew();
        var receipt = notifier.RaiseTracked(new Incident(
            "malware-found", "critical", time, "Eicar-Signature in /ot/plant1/in/x.bin", "/ot/plant1/in/x.bin", "sha256-tree:00ff", "alice", "0HN1:00000001",
            new Dictionary<string, string> { ["scanner"] = "clamav", ["signature"] = "Eicar-Signature" }));

        var request = await _receiver.WaitForAsync(_ => true, TimeSpan.FromSeconds(5));
        Assert.True(raised.Elapsed < TimeSpan.FromSeconds(3), $"took {raised.Elapsed}");
        Assert.Equal("application/json", request.Headers["Content-Type"]);
        Assert.Equal(receipt.Id, request.Id);
        Assert.True(ReceiverSide.Verify(request.Headers["TurboMft-Signature"], request.Body, Secret, DateTimeOffset.UtcNow));
        Assert.Matches("^t=[0-9]+,v1=[0-9a-f]{64}$", request.Headers["TurboMft-Signature"]);

        var body = request.Json;
        Assert.Equal(
            ["id", "kind", "severity", "time", "summary", "path", "digest", "actor", "correlationId", "details", "source"],
            body.EnumerateObject().Select(p => p.Name));
        Assert.Equal(receipt.Id, body.GetProperty("id").GetString());
        Assert.Equal("malware-found", body.GetProperty("kind").GetString());
        Assert.Equal("critical", body.GetProperty("severity").GetString());
        Assert.Equal("2026-11-26T12:00:00.123Z", body.GetProperty("time").GetString());
        Assert.Equal("Eicar-Signature in /ot/plant1/in/x.bin", body.GetProperty("summary").GetString());
        Assert.Equal("/ot/plant1/in/x.bin", body.GetProperty("path").GetString());
        Assert.Equal("sha256-tree:00ff", body.GetProperty("digest").GetString());
        Assert.Equal("alice", body.GetProperty("actor").GetString());
        Assert.Equal("0HN1:00000001", body.GetProperty("correlationId").GetString());
        Assert.Equal("Eicar-Signature", body.GetProperty("details").GetProperty("signature").GetString());
        Assert.Equal("TurboMft", body.GetProperty("source").GetProperty("product").GetString());
        Assert.Equal(Environment.MachineName, body.GetProperty("source").GetProperty("host").GetString());

        var outcomes = await receipt.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal([("log", "delivered"), ("webhook", "delivered")], outcomes.Select(o => (o.Channel, o.Status)));
    }

    [Fact]
    public async Task The_signature_depends_on_the_secret_the_body_and_the_time()
    {
        var notifier = await StartAsync();
        notifier.Raise(new Incident("auth-failures", "warning", DateTimeOffset.UtcNow, "5 failed authentications", Actor: "192.0.2.7"));
        var request = await _receiver.WaitForAsync(_ => true);
        var header = request.Headers["TurboMft-Signature"];

        Assert.True(ReceiverSide.Verify(header, request.Body, Secret, DateTimeOffset.UtcNow));
        Assert.False(ReceiverSide.Verify(header, request.Body, Secret[..^1] + "0", DateTimeOffset.UtcNow));
        Assert.False(ReceiverSide.Verify(header, request.Body, "another secret of at least thirty-two characters", DateTimeOffset.UtcNow));
        var edited = request.Body.ToArray();
        edited[Array.IndexOf(edited, (byte)'5')] = (byte)'4';
        Assert.False(ReceiverSide.Verify(header, edited, Secret, DateTimeOffset.UtcNow));
        Assert.False(ReceiverSide.Verify(header, request.Body, Secret, DateTimeOffset.UtcNow.AddMinutes(6)));
    }

    [Fact]
    public async Task A_500_then_200_is_delivered_after_one_retry_exactly_once()
    {
        _receiver.Script.Enqueue(500);
        var notifier = await StartAsync();
        var receipt = notifier.RaiseTracked(new Incident("malware-found", "critical", DateTimeOffset.UtcNow, "found"));

        var outcomes = await receipt.WaitAsync(TimeSpan.FromSeconds(10));

        var requests = await RequestsBeforeMarkerAsync(notifier);
        Assert.Equal([500, 200], requests.Select(r => r.Answered));
        Assert.All(requests, r => Assert.Equal(receipt.Id, r.Id));
        Assert.Equal(requests[0].Body, requests[1].Body);
        Assert.All(requests, r => Assert.True(ReceiverSide.Verify(r.Headers["TurboMft-Signature"], r.Body, Secret, DateTimeOffset.UtcNow)));
        var webhook = outcomes.Single(o => o.Channel == "webhook");
        Assert.Equal(DeliveryStatus.Delivered, webhook.Status);
        Assert.Contains("after 2 attempts", webhook.Detail, StringComparison.Ordinal);
        Assert.Contains(_logs.Entries, e => e.Level == LogLevel.Warning && e.Text.Contains("failed 1 time(s), last: HTTP 500", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_429_waits_for_its_Retry_After_even_beyond_the_backoff_cap()
    {
        _receiver.Script.Enqueue(429);
        _receiver.RetryAfter = "2";
        var notifier = await StartAsync(s => s.RetryMaxDelaySeconds = 0.1);
        var receipt = notifier.RaiseTracked(new Incident("test", "info", DateTimeOffset.UtcNow, "retry after"));

        var outcomes = await receipt.WaitAsync(TimeSpan.FromSeconds(10));
        var requests = _receiver.Requests;
        Assert.Equal([429, 200], requests.Select(r => r.Answered));
        Assert.InRange((requests[1].At - requests[0].At).TotalSeconds, 1.9, 5);
        Assert.Equal(DeliveryStatus.Delivered, outcomes.Single(o => o.Channel == "webhook").Status);
    }

    [Fact]
    public async Task A_4xx_other_than_408_and_429_is_final_and_logged()
    {
        _receiver.Script.Enqueue(400);
        var notifier = await StartAsync();
        var receipt = notifier.RaiseTracked(new Incident("test", "info", DateTimeOffset.UtcNow, "refused"));

        var outcomes = await receipt.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Single(await RequestsBeforeMarkerAsync(notifier));
        var webhook = outcomes.Single(o => o.Channel == "webhook");
        Assert.Equal(DeliveryStatus.Failed, webhook.Status);
        Assert.Contains("HTTP 400", webhook.Detail, StringComparison.Ordinal);
        Assert.Contains(_logs.Entries, e => e.Level == LogLevel.Warning && e.Text.Contains("refused for good", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_receiver_that_stays_down_is_retried_until_the_window_closes_and_reported_with_the_count()
    {
        // A port nobody listens on: connection refused on every attempt.
        using var closed = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        closed.Start();
        var port = ((System.Net.IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        var notifier = await StartAsync(s =>
        {
            s.WebhookUrl = $"http://127.0.0.1:{port}/hook";
            s.RetryForHours = 1.0 / 3600;
        });

        var receipt = notifier.RaiseTracked(new Incident("test", "info", DateTimeOffset.UtcNow, "nobody home"));
        var webhook = (await receipt.WaitAsync(TimeSpan.FromSeconds(10))).Single(o => o.Channel == "webhook");

        Assert.Equal(DeliveryStatus.Failed, webhook.Status);
        Assert.Matches("given up after [0-9]+ attempts", webhook.Detail);
        Assert.Contains(_logs.Entries, e => e.Level == LogLevel.Warning && e.Text.Contains("failed 2 time(s)", StringComparison.Ordinal));
        Assert.Contains(_logs.Entries, e => e.Level == LogLevel.Warning && e.Text.Contains("not delivered to the webhook: given up", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_https_receiver_is_trusted_by_its_pin_and_a_wrong_pin_delivers_nothing()
    {
        var certificatePath = Path.Combine(_dir, "receiver.crt");
        var keyPath = Path.Combine(_dir, "receiver.key");
        TlsCertificate.CreateSelfSigned(certificatePath, keyPath);
        using var certificate = TlsCertificate.Load(certificatePath, keyPath);
        await using var https = await WebhookReceiver.StartAsync(certificate);
        var pinned = await StartAsync(s =>
        {
            s.WebhookUrl = https.Url.ToString();
            s.WebhookPin = TlsCertificate.Fingerprint(certificate);
        });
        var wrong = await StartAsync(s =>
        {
            s.WebhookUrl = https.Url.ToString();
            s.WebhookPin = "sha256:" + new string('0', 64);
            s.RetryForHours = 0;
        });

        var delivered = (await pinned.RaiseTracked(new Incident("test", "info", DateTimeOffset.UtcNow, "pinned")).WaitAsync(TimeSpan.FromSeconds(10))).Single(o => o.Channel == "webhook");
        var refused = (await wrong.RaiseTracked(new Incident("test", "info", DateTimeOffset.UtcNow, "wrong pin")).WaitAsync(TimeSpan.FromSeconds(10))).Single(o => o.Channel == "webhook");

        Assert.Equal(DeliveryStatus.Delivered, delivered.Status);
        Assert.StartsWith("https://", https.Url.ToString(), StringComparison.Ordinal);
        Assert.Equal(DeliveryStatus.Failed, refused.Status);
        Assert.Contains("SSL", refused.Detail, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(["pinned"], https.Requests.Select(r => r.Json.GetProperty("summary").GetString()));
    }

    [Fact]
    public async Task Raise_never_blocks_when_the_queue_is_full_and_keeps_the_newest()
    {
        _receiver.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var notifier = await StartAsync(s =>
        {
            s.MaxQueued = 10;
            s.WebhookTimeoutSeconds = 60;
        });

        notifier.Raise(new Incident("test", "info", DateTimeOffset.UtcNow, "n=first"));
        await WaitUntilAsync(() => notifier.Dropped == 0 && _receiver.Requests.Count == 0 && LogCount("n=first") == 1 && _receiver.Held == 1); // the first is in flight, held by the gate
        var raising = Stopwatch.StartNew();
        for (var i = 0; i < 10_000; i++)
        {
            notifier.Raise(new Incident("test", "info", DateTimeOffset.UtcNow, $"n={i}"));
        }

        raising.Stop();
        Assert.True(raising.Elapsed < TimeSpan.FromSeconds(1), $"10,000 Raise calls took {raising.Elapsed}");
        Assert.True(notifier.Dropped >= 10_000 - 10, $"dropped {notifier.Dropped}");

        _receiver.Gate.SetResult();
        await WaitUntilAsync(() => _receiver.Requests.Count >= 11);
        var summaries = (await RequestsBeforeMarkerAsync(notifier)).Select(r => r.Json.GetProperty("summary").GetString()).ToList();
        Assert.Equal(["n=first", .. Enumerable.Range(9_990, 10).Select(i => $"n={i}")], summaries);
        Assert.Contains(_logs.Entries, e => e.Level == LogLevel.Warning && e.Text.Contains("dropped for webhook: the queue was full", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_syslog_line_over_udp_is_rfc_5424_with_the_incident_as_structured_data()
    {
        using var syslog = SyslogReceiver.Udp();
        var notifier = await StartAsync(s =>
        {
            s.WebhookUrl = null;
            s.WebhookSecretFile = null;
            s.SyslogTarget = syslog.Target;
        });
        var receipt = notifier.RaiseTracked(new Incident(
            "malware-found", "critical", new DateTimeOffset(2026, 11, 26, 12, 0, 0, 123, TimeSpan.Zero), "Eicar-Signature in /ot/a]b\"c.bin",
            "/ot/a]b\"c.bin", "sha256-tree:00ff", "alice", "0HN1:00000001", new Dictionary<string, string> { ["signature"] = "Eicar-Signature", ["scanner version"] = "1.4\n" }));

        var message = SyslogMessage.Parse(await syslog.NextAsync());

        Assert.Equal((4 * 8) + 2, message.Pri); // facility 4 (security/authorization), severity 2 (critical)
        Assert.Equal("2026-11-26T12:00:00.123Z", message.Time);
        Assert.Equal(("turbomft", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), "malware-found"), (message.App, message.ProcId, message.MsgId));
        var incident = message.Data["incident@32473"];
        Assert.Equal(receipt.Id, incident["id"]);
        Assert.Equal("malware-found", incident["kind"]);
        Assert.Equal("/ot/a]b\"c.bin", incident["path"]);
        Assert.Equal("sha256-tree:00ff", incident["digest"]);
        Assert.Equal("alice", incident["actor"]);
        Assert.Equal("0HN1:00000001", incident["correlationId"]);
        Assert.Equal("Eicar-Signature", message.Data["details@32473"]["signature"]);
        Assert.Equal("1.4?", message.Data["details@32473"]["scanner_version"]);
        Assert.Equal("Eicar-Signature in /ot/a]b\"c.bin", message.Msg);
        Assert.Equal(DeliveryStatus.Delivered, (await receipt.WaitAsync(TimeSpan.FromSeconds(5))).Single(o => o.Channel == "syslog").Status);
    }

    [Fact]
    public async Task Syslog_over_tcp_frames_each_line_by_octet_counting()
    {
        using var syslog = SyslogReceiver.Tcp();
        var notifier = await StartAsync(s =>
        {
            s.WebhookUrl = null;
            s.WebhookSecretFile = null;
            s.SyslogTarget = syslog.Target;
        });
        notifier.Raise(new Incident("auth-failures", "warning", DateTimeOffset.UtcNow, "first été"));
        notifier.Raise(new Incident("audit-chain-broken", "critical", DateTimeOffset.UtcNow, "second"));

        var first = SyslogMessage.Parse(await syslog.NextAsync());
        var second = SyslogMessage.Parse(await syslog.NextAsync());
        Assert.Equal(((4 * 8) + 4, "auth-failures", "first été"), (first.Pri, first.MsgId, first.Msg));
        Assert.Equal(((4 * 8) + 2, "audit-chain-broken", "second"), (second.Pri, second.MsgId, second.Msg));
    }

    [Fact]
    public async Task The_webhook_and_syslog_are_independent_a_dead_webhook_does_not_hold_syslog_back()
    {
        using var syslog = SyslogReceiver.Udp();
        _receiver.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var notifier = await StartAsync(s =>
        {
            s.SyslogTarget = syslog.Target;
            s.WebhookTimeoutSeconds = 60;
        });
        notifier.Raise(new Incident("test", "info", DateTimeOffset.UtcNow, "one"));
        notifier.Raise(new Incident("test", "info", DateTimeOffset.UtcNow, "two"));

        Assert.Equal("one", SyslogMessage.Parse(await syslog.NextAsync()).Msg);
        Assert.Equal("two", SyslogMessage.Parse(await syslog.NextAsync()).Msg);
        Assert.Empty(_receiver.Requests);
        _receiver.Gate.SetResult();
        await WaitUntilAsync(() => _receiver.Requests.Count == 2);
    }

    [Fact]
    public async Task The_secret_never_appears_in_the_log_whatever_happens()
    {
        _receiver.Script.Enqueue(503);
        _receiver.Script.Enqueue(400);
        var notifier = await StartAsync();
        var receipts = new[]
        {
            notifier.RaiseTracked(new Incident("test", "info", DateTimeOffset.UtcNow, "retried then delivered")),
            notifier.RaiseTracked(new Incident("test", "info", DateTimeOffset.UtcNow, "refused")),
        };
        foreach (var receipt in receipts)
        {
            await receipt.WaitAsync(TimeSpan.FromSeconds(10));
        }

        var tooShort = Path.Combine(_dir, "short.secret");
        await File.WriteAllTextAsync(tooShort, "short-secret-value", TestContext.Current.CancellationToken);
        File.SetUnixFileMode(tooShort, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var refused = Assert.Throws<ArgumentException>(() => new NotificationSettings { WebhookUrl = _receiver.Url.ToString(), WebhookSecretFile = tooShort }.Resolve(null));
        var fromEnvironment = Assert.Throws<ArgumentException>(() => new NotificationSettings { WebhookUrl = _receiver.Url.ToString() }.Resolve("env-secret-too-short"));

        Assert.Contains(_logs.Entries, e => e.Text.Contains("HTTP 503", StringComparison.Ordinal));
        Assert.Contains(_logs.Entries, e => e.Text.Contains("HTTP 400", StringComparison.Ordinal));
        Assert.DoesNotContain(Secret, _logs.AllText, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret[..16], _logs.AllText, StringComparison.Ordinal);
        Assert.DoesNotContain("short-secret-value", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("env-secret-too-short", fromEnvironment.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, notifier.ToString() ?? string.Empty, StringComparison.Ordinal);
    }

    /// <summary>
    /// Raises a marker incident and waits until the webhook has it. The notifier sends in the order raised, so every request
    /// for an incident raised earlier, retries included, came before the marker: what is returned is all there will be.
    /// </summary>
    private async Task<List<ReceivedWebhook>> RequestsBeforeMarkerAsync(IncidentNotifier notifier)
    {
        var marker = notifier.RaiseTracked(new Incident("test", "info", DateTimeOffset.UtcNow, "marker"));
        Assert.Equal(DeliveryStatus.Delivered, (await marker.WaitAsync(TimeSpan.FromSeconds(10))).Single(o => o.Channel == "webhook").Status);
        var requests = _receiver.Requests;
        Assert.Equal(marker.Id, requests[^1].Id);
        return [.. requests.Take(requests.Count - 1)];
    }

    private int LogCount(string text) => _logs.Entries.Count(e => e.Text.Contains(text, StringComparison.Ordinal));

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(10), "condition not met within 10 s");
            await Task.Delay(20);
        }
    }

    private async Task<IncidentNotifier> StartAsync(Action<NotificationSettings>? configure = null)
    {
        var settings = new NotificationSettings
        {
            WebhookUrl = _receiver.Url.ToString(),
            WebhookSecretFile = File.Exists(Path.Combine(_dir, "webhook.secret")) ? Path.Combine(_dir, "webhook.secret") : SecretFiles.Write(_dir, Secret),
            RetryInitialSeconds = 0.05,
            RetryMaxDelaySeconds = 0.2,
        };
        configure?.Invoke(settings);
        var loggers = LoggerFactory.Create(b => b.AddProvider(_logs).SetMinimumLevel(LogLevel.Trace));
        var notifier = new IncidentNotifier(settings.Resolve(null), TimeProvider.System, loggers) { DrainTimeout = TimeSpan.FromMilliseconds(200) };
        _notifiers.Add(notifier);
        await notifier.StartAsync(CancellationToken.None);
        return notifier;
    }
}
