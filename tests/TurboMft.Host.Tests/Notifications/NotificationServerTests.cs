using System.Net;
using System.Runtime.Versioning;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TurboMft.Host.Audit;
using TurboMft.Host.Cli;
using TurboMft.Host.Http;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Notifications;
using TurboMft.Host.Server;
using TurboMft.Host.Tests.Server;

namespace TurboMft.Host.Tests.Notifications;

/// <summary>The incident sources of a real server (repeated authentication failures, a tampered audit chain) and <c>turbomft notify test</c>, received by a real webhook endpoint.</summary>
[UnsupportedOSPlatform("windows")]
public sealed class NotificationServerTests : IAsyncLifetime
{
    private const string Secret = "9d2f7c1e4b8a6d3f0e5c2b9a7d4f1e8c6b3a0d7f4e1c8b5a2f9e6d3c0b7a4f1e";

    private readonly string _dir = Directory.CreateTempSubdirectory("tmf-notify-server-").FullName;
    private readonly CapturingLoggerProvider _logs = new();
    private WebhookReceiver _receiver = null!;
    private string _secretFile = null!;

    public async ValueTask InitializeAsync()
    {
        _receiver = await WebhookReceiver.StartAsync();
        _secretFile = SecretFiles.Write(_dir, Secret);
    }

    public async ValueTask DisposeAsync()
    {
        await _receiver.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Five_bad_tokens_from_one_address_send_one_auth_failures_incident()
    {
        await using var server = await StartAsync();
        using var intruder = ServerFixture.CreateClient(server.Server.Fingerprint, "tmf_not-a-real-token", HttpVersion.Version11);
        for (var i = 0; i < 6; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await intruder.GetAsync(server.Url("/v1/info"))).StatusCode);
        }

        var request = await _receiver.WaitForAsync(r => r.Kind == "auth-failures", TimeSpan.FromSeconds(5));
        Assert.True(ReceiverSide.Verify(request.Headers["TurboMft-Signature"], request.Body, Secret, DateTimeOffset.UtcNow));
        var body = request.Json;
        Assert.Equal("warning", body.GetProperty("severity").GetString());
        Assert.Equal("127.0.0.1", body.GetProperty("actor").GetString());
        var details = body.GetProperty("details");
        Assert.Equal(("5", "15", "unknown-token", "auth.failure"), (details.GetProperty("failures").GetString(), details.GetProperty("windowMinutes").GetString(), details.GetProperty("reason").GetString(), details.GetProperty("action").GetString()));
        Assert.False(string.IsNullOrEmpty(body.GetProperty("correlationId").GetString()));
        Assert.Single(await RequestsBeforeMarkerAsync(server), r => r.Kind == "auth-failures");
    }

    [Fact]
    public async Task One_edited_byte_in_a_stopped_servers_audit_log_is_reported_at_the_next_start_and_the_server_still_serves()
    {
        var server = await StartAsync();
        await using (server)
        {
            await server.RestartAsync(EditFirstRecord);

            var request = await _receiver.WaitForAsync(r => r.Kind == AuditWatch.IncidentKind, TimeSpan.FromSeconds(10));
            Assert.True(ReceiverSide.Verify(request.Headers["TurboMft-Signature"], request.Body, Secret, DateTimeOffset.UtcNow));
            var body = request.Json;
            Assert.Equal("critical", body.GetProperty("severity").GetString());
            var details = body.GetProperty("details");
            Assert.Equal(("edited", "audit-000001.jsonl", "1", "1"), (details.GetProperty("break").GetString(), details.GetProperty("file").GetString(), details.GetProperty("line").GetString(), details.GetProperty("seq").GetString()));
            Assert.StartsWith("audit log broken: edited at audit-000001.jsonl line 1 (seq 1)", body.GetProperty("summary").GetString(), StringComparison.Ordinal);

            // The writer only refuses a bad last record: the server is up and serving.
            Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync(server.Url("/v1/info"))).StatusCode);
            var broken = Assert.Single(BrokenRecords(server));
            Assert.Equal(body.GetProperty("correlationId").GetString(), broken.CorrelationId);
            Assert.StartsWith("edited at audit-000001.jsonl line 1 (seq 1): ", broken.Detail, StringComparison.Ordinal);

            // Next start: raised again (the break is still there) under the same correlation id, but recorded only once.
            await server.RestartAsync();
            var again = await _receiver.WaitForAsync(r => r.Kind == AuditWatch.IncidentKind && r.Id != request.Id, TimeSpan.FromSeconds(10));
            Assert.Equal(broken.CorrelationId, again.Json.GetProperty("correlationId").GetString());
            Assert.Single(BrokenRecords(server));
            Assert.Contains(_logs.Entries, e => e.Level == LogLevel.Critical && e.Text.Contains("The audit log is broken: edited at audit-000001.jsonl line 1", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task A_sound_audit_log_raises_nothing()
    {
        // Verified at start only, so the server's own check has a task that ends: awaited, then a marker incident sent after it.
        await using var server = await StartAsync(serverSettings: settings => settings.AuditVerifyIntervalMinutes = 0);
        await server.RestartAsync();
        var watch = new AuditWatch(server.Server.Data, server.Server.Services.GetRequiredService<IAuditReader>(), new Access.RecordingAuditTrail(), new RecordingNotifier(), new AuditWatchSettings(10), TimeProvider.System, new Microsoft.Extensions.Logging.Abstractions.NullLogger<AuditWatch>());
        Assert.Null(await watch.CheckAsync(CancellationToken.None));
        var serversWatch = server.Server.Services.GetServices<IHostedService>().OfType<AuditWatch>().Single();
        await serversWatch.ExecuteTask!.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        Assert.DoesNotContain(await RequestsBeforeMarkerAsync(server), r => r.Kind == AuditWatch.IncidentKind);
    }

    [Fact]
    public async Task Notify_test_reports_each_channel_and_the_receivers_get_the_test_incident()
    {
        using var syslog = SyslogReceiver.Udp();
        await using var server = await StartAsync(n => n.SyslogTarget = syslog.Target);

        var (code, output, error) = await RunCliAsync(server, "notify", "test", "--json");

        Assert.True(code == 0, output + error);
        using var result = System.Text.Json.JsonDocument.Parse(output);
        var channels = result.RootElement.GetProperty("channels").EnumerateArray().ToDictionary(c => c.GetProperty("channel").GetString()!, c => c.GetProperty("status").GetString());
        Assert.Equal(new Dictionary<string, string?> { ["log"] = "delivered", ["syslog"] = "delivered", ["webhook"] = "delivered" }, channels);
        var id = result.RootElement.GetProperty("incidentId").GetString();
        var correlation = result.RootElement.GetProperty("correlationId").GetString();
        var request = await _receiver.WaitForAsync(r => r.Kind == NotificationEndpoints.TestKind);
        Assert.Equal((id, correlation, "admin"), (request.Id, request.Json.GetProperty("correlationId").GetString(), request.Json.GetProperty("actor").GetString()));
        var line = SyslogMessage.Parse(await syslog.NextAsync());
        Assert.Equal(("test", id), (line.MsgId, line.Data["incident@32473"]["id"]));
        await WaitForAuditAsync(server, "notify.test");

        var (textCode, text, _) = await RunCliAsync(server, "notify", "test");
        Assert.Equal(0, textCode);
        Assert.Matches("(?m)^webhook  delivered  HTTP 200 from http://127.0.0.1:[0-9]+ after 1 attempt$", text);
    }

    [Fact]
    public async Task Notify_test_without_a_channel_fails_and_says_what_to_configure()
    {
        await using var server = await ServerFixture.StartAsync();
        var (code, output, error) = await RunCliAsync(server, "notify", "test");
        Assert.Equal(1, code);
        Assert.Contains("log  delivered  written to the server log", output, StringComparison.Ordinal);
        Assert.Contains("no notification channel is configured (Notifications.WebhookUrl, Notifications.SyslogTarget)", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_notification_settings_stop_the_server_before_it_opens_anything()
    {
        var data = DataDirectory.Open(Path.Combine(_dir, "data"));
        var settings = new ServerSettings { Data = data.Root, Listen = "127.0.0.1:0" };
        settings.Notifications.WebhookUrl = "http://siem.example/hook";
        settings.Notifications.WebhookSecretFile = _secretFile;
        var error = Assert.Throws<ArgumentException>(() => TurboMftServer.Create(settings, data, _ => { }));
        Assert.StartsWith("Notifications.WebhookUrl is plain http to siem.example", error.Message, StringComparison.Ordinal);

        // Nothing held: the audit log opens.
        await AuditLog.Open(data).DisposeAsync();
    }

    private static void EditFirstRecord(string dataPath)
    {
        var file = Path.Combine(dataPath, "audit", "audit-000001.jsonl");
        var bytes = File.ReadAllBytes(file);
        var at = bytes.AsSpan().IndexOf("\"server.start\""u8);
        Assert.True(at > 0 && at < bytes.AsSpan().IndexOf((byte)'\n'), "server.start is the first record");
        bytes[at + 10] = (byte)'A'; // "server.stArt": one byte, still valid JSON
        File.WriteAllBytes(file, bytes);
    }

    private static List<AuditRecord> BrokenRecords(ServerFixture server) =>
        [.. new AuditFileReader(Path.Combine(server.DataPath, "audit")).Read().Where(r => r.Action == AuditWatch.BrokenAction)];

    private static async Task WaitForAuditAsync(ServerFixture server, string action)
    {
        for (var i = 0; i < 100 && !new AuditFileReader(Path.Combine(server.DataPath, "audit")).Read().Any(r => r.Action == action); i++)
        {
            await Task.Delay(50);
        }

        Assert.Contains(new AuditFileReader(Path.Combine(server.DataPath, "audit")).Read(), r => r.Action == action);
    }

    private static async Task<(int Code, string Output, string Error)> RunCliAsync(ServerFixture server, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await TurboMftCommand.RunAsync(
            [.. args, "--server", server.Address.GetLeftPart(UriPartial.Authority), "--pin", server.Server.Fingerprint, "--token-file", Path.Combine(server.DataPath, "admin.token")],
            output,
            error);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>
    /// Sends the test incident through the server (<c>turbomft notify test</c>) and waits until the webhook has it. The
    /// server's notifier sends in the order raised, so every incident raised before came before it: what is returned is all there will be.
    /// </summary>
    private async Task<List<ReceivedWebhook>> RequestsBeforeMarkerAsync(ServerFixture server)
    {
        var (code, output, error) = await RunCliAsync(server, "notify", "test", "--json");
        Assert.True(code == 0, output + error);
        using var result = System.Text.Json.JsonDocument.Parse(output);
        var id = result.RootElement.GetProperty("incidentId").GetString();
        await _receiver.WaitForAsync(r => r.Id == id);
        var requests = _receiver.Requests;
        var at = requests.ToList().FindIndex(r => r.Id == id);
        return [.. requests.Take(at)];
    }

    private Task<ServerFixture> StartAsync(Action<NotificationSettings>? configure = null, Action<ServerSettings>? serverSettings = null) => ServerFixture.StartAsync(
        configure: settings =>
        {
            serverSettings?.Invoke(settings);
            settings.Notifications = new NotificationSettings
            {
                WebhookUrl = _receiver.Url.ToString(),
                WebhookSecretFile = _secretFile,
                RetryInitialSeconds = 0.05,
                RetryMaxDelaySeconds = 0.2,
            };
            configure?.Invoke(settings.Notifications);
        },
        logging: builder => builder.AddProvider(_logs).SetMinimumLevel(LogLevel.Information));

    private sealed class RecordingNotifier : IIncidentNotifier
    {
        public List<Incident> Raised { get; } = [];

        public void Raise(Incident incident) => Raised.Add(incident);
    }
}
