using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using TurboMft.Engine.Client;
using TurboMft.Host.Access;
using TurboMft.Host.Http;
using TurboMft.Host.Notifications;
using TurboMft.Host.Tests.Release;
using TurboMft.Host.Tests.Server;

namespace TurboMft.Host.Tests.Access;

/// <summary>
/// The failed-authentication throttle met as an attacker sharing an address with valid users would meet it (a NAT, a load
/// balancer): a flood of bad tokens slows the flood, never a valid token from the same address, and holds back only a
/// bounded number of answers; a password attacked from many addresses is barred for that user only.
/// </summary>
public sealed class AuthenticationFloodTests
{
    [Fact]
    public async Task A_valid_token_stays_fast_while_the_same_address_floods_1000_bad_tokens()
    {
        var incidents = new RecordingIncidentNotifier();
        await using var server = await ServerFixture.StartAsync(
            configure: settings => settings.Throttle.MaxHeldRequests = 8,
            services: services => services.AddSingleton<IIncidentNotifier>(incidents));
        using (var content = new ByteArrayContent([1, 2, 3]))
        {
            Assert.Equal(HttpStatusCode.Created, (await server.Client.PutAsync(server.Url("/v1/files/u/a.bin"), content)).StatusCode);
        }

        using var connections = new KestrelConnections(server.Address.Port);

        // Half the flood repeats one token, half sends a new one each time; 40 requests in flight, all from 127.0.0.1.
        using var flooder = ServerFixture.CreateClient(server.Server.Fingerprint, null, HttpVersion.Version11, maxConnections: 40);
        var answers = new ConcurrentBag<(HttpStatusCode Status, TimeSpan Took, string? RetryAfter)>();
        var firstRejection = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var flood = Parallel.ForEachAsync(Enumerable.Range(0, 1000), new ParallelOptions { MaxDegreeOfParallelism = 40 }, async (i, cancellationToken) =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, server.Url("/v1/files?prefix=/u"));
            request.Headers.Authorization = new("Bearer", i % 2 == 0 ? "tmf_the-flooding-token" : "tmf_guess-" + i);
            var started = Stopwatch.GetTimestamp();
            using var response = await flooder.SendAsync(request, cancellationToken);
            answers.Add((response.StatusCode, Stopwatch.GetElapsedTime(started), response.Headers.RetryAfter?.Delta?.TotalSeconds.ToString("0")));
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                firstRejection.TrySetResult();
            }
        });

        // Valid requests from the same address, one after another while the flood is being refused.
        await firstRejection.Task.WaitAsync(TimeSpan.FromSeconds(60));
        var valid = new List<TimeSpan>();
        for (var i = 0; i < 20; i++)
        {
            var started = Stopwatch.GetTimestamp();
            using var response = await server.Client.GetAsync(server.Url("/v1/files?prefix=/u"));
            valid.Add(Stopwatch.GetElapsedTime(started));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var floodStillRunning = !flood.IsCompleted;
        await flood;

        valid.Sort();
        Assert.True(valid[valid.Count / 2] < TimeSpan.FromMilliseconds(200), $"median of valid requests {valid[valid.Count / 2].TotalMilliseconds:0} ms; all: {string.Join(", ", valid.Select(v => v.TotalMilliseconds.ToString("0")))}");
        Assert.True(valid[^1] < TimeSpan.FromSeconds(2), $"slowest valid request {valid[^1].TotalMilliseconds:0} ms: held like a failure");
        Assert.True(floodStillRunning || answers.Count == 1000);

        // The flood was slowed: some answers held back (at least the first delay), the rest refused at once with Retry-After.
        Assert.Equal(1000, answers.Count);
        Assert.All(answers, a => Assert.True(a.Status is HttpStatusCode.Unauthorized or HttpStatusCode.TooManyRequests, a.Status.ToString()));
        var rejected = answers.Where(a => a.Status == HttpStatusCode.TooManyRequests).ToList();
        Assert.True(rejected.Count > 500, $"{rejected.Count} of 1000 refused with 429");
        Assert.All(rejected, a => Assert.True(int.Parse(a.RetryAfter!) >= 1, a.RetryAfter));
        Assert.Contains(answers, a => a.Status == HttpStatusCode.Unauthorized && a.Took >= TimeSpan.FromMilliseconds(250));

        // Held answers never passed the bound; none is held now.
        var throttle = server.Server.Services.GetRequiredService<AuthenticationThrottle>();
        Assert.InRange(throttle.PeakHeld, 1, 8);
        Assert.Equal(0, throttle.Held);

        // The server never had more connections than the clients opened (40 flooding, the admin's, the first PUT's).
        Assert.InRange(connections.Peak, 1, 44);

        // The flooding token is still refused at once; the valid one is not; the address's incident went out.
        using (var request = new HttpRequestMessage(HttpMethod.Get, server.Url("/v1/files?prefix=/u")))
        {
            request.Headers.Authorization = new("Bearer", "tmf_the-flooding-token");
            var started = Stopwatch.GetTimestamp();
            using var response = await flooder.SendAsync(request);
            await UploadProtocolTests.AssertProblemAsync(response, HttpStatusCode.TooManyRequests, AuthenticationGate.ThrottledType);
            Assert.True(response.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
            Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(2));
        }

        // One incident, for the address at its fifth failure (the repeated token, barred after its ninth, never reached 20).
        var incident = Assert.Single(incidents.Incidents, i => i.Kind == AuthenticationIncident.Kind);
        Assert.Equal(("127.0.0.1", "address", "5"), (incident.Actor, incident.Details!["scope"], incident.Details["failures"]));

        var metrics = await server.Client.GetStringAsync(server.Url("/metrics"));
        Assert.Matches(@"turbomft_auth_throttled_total\{action=""rejected""\} [1-9]", metrics);
        Assert.Matches(@"turbomft_auth_throttled_total\{action=""held""\} [1-9]", metrics);
        Assert.Contains("turbomft_auth_held_requests 0", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_client_does_not_resend_a_credential_the_throttle_refused_and_says_why()
    {
        await using var server = await ServerFixture.StartAsync(configure: settings =>
        {
            settings.Throttle.FreeFailures = 1;
            settings.Throttle.MaxHoldSeconds = 0;
        });
        using var client = new TurboMftClient(new TurboMftClientOptions { BaseAddress = server.Address, Token = "tmf_wrong", PinSha256 = server.Server.Fingerprint });

        // The first failure already earns a delay, and no answer is held: 429 at once, which a retry cannot mend.
        var error = await Assert.ThrowsAsync<ServerProblemException>(() => client.ListAsync("/"));
        Assert.Equal((429, AuthenticationGate.ThrottledType, false), (error.Status, error.ProblemType, error.IsTransient));
        Assert.Contains("check the token", error.Message, StringComparison.Ordinal);
        var metrics = await server.Client.GetStringAsync(server.Url("/metrics"));
        Assert.Contains("turbomft_auth_failures_total{credential=\"token\"} 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("turbomft_auth_throttled_total{action=\"rejected\"} 1\n", metrics, StringComparison.Ordinal);
        Assert.True(new ServerProblemException(429, "other", "busy").IsTransient);
    }

    [Fact]
    public async Task A_password_attacked_from_many_addresses_bars_that_user_only_and_raises_an_incident()
    {
        var incidents = new RecordingIncidentNotifier();
        await using var server = await ServerFixture.StartAsync(
            configure: settings =>
            {
                settings.PasswordIterations = 600_000;
                settings.Throttle.IdentityFreeFailures = 6;
                settings.Throttle.FirstDelayMilliseconds = 30_000;
                settings.Throttle.MaxDelaySeconds = 60;
            },
            services: services => services.AddSingleton<IIncidentNotifier>(incidents));
        foreach (var user in new[] { "dora", "erin" })
        {
            var created = await server.Client.PostAsJsonAsync(server.Url("/v1/admin/users"), new { name = user, password = "correct horse battery staple", roles = new[] { new { role = "downloader", area = "/it" } } });
            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        }

        // Three addresses, two wrong passwords each: no address reaches its five free failures, the user reaches six.
        HttpResponseMessage? last = null;
        for (var address = 2; address <= 4; address++)
        {
            using var attacker = ServerFixture.CreateClient(server.Server.Fingerprint, null, HttpVersion.Version11, IPAddress.Parse("127.0.0." + address));
            for (var i = 0; i < 2; i++)
            {
                last = await attacker.PostAsJsonAsync(server.Url("/v1/auth/token"), new { user = "DORA", password = "wrong " + i });
            }
        }

        // The sixth failure earns 30 s, longer than an answer is held: 429 at once.
        await UploadProtocolTests.AssertProblemAsync(last!, HttpStatusCode.TooManyRequests, AuthenticationGate.ThrottledType);
        Assert.InRange(last!.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 29, 30);

        // From a fourth address: dora's right password is refused unchecked, erin logs in.
        using var office = ServerFixture.CreateClient(server.Server.Fingerprint, null, HttpVersion.Version11, IPAddress.Parse("127.0.0.5"));
        var barred = await office.PostAsJsonAsync(server.Url("/v1/auth/token"), new { user = "dora", password = "correct horse battery staple" });
        await UploadProtocolTests.AssertProblemAsync(barred, HttpStatusCode.TooManyRequests, AuthenticationGate.ThrottledType);
        Assert.Equal(HttpStatusCode.OK, (await office.PostAsJsonAsync(server.Url("/v1/auth/token"), new { user = "erin", password = "correct horse battery staple" })).StatusCode);

        var incident = Assert.Single(incidents.Incidents, i => i.Kind == AuthenticationIncident.Kind);
        Assert.Equal(("127.0.0.4", "identity", "6", "DORA"), (incident.Actor, incident.Details!["scope"], incident.Details["failures"], incident.Details["user"]));
        Assert.Contains("user:dora", incident.Summary, StringComparison.Ordinal);

        // Every refused attempt is in the trail: the failures, the threshold, and the barred login.
        await WaitForAsync(server, "action=auth.login", r => r.GetProperty("outcome").GetString() == "denied" && r.GetProperty("detail").GetString() == "throttled");
        await WaitForAsync(server, "action=auth.throttled", r => r.GetProperty("detail").GetString()!.Contains("user:dora", StringComparison.Ordinal));
    }

    // Audit records are group-committed within about a second: poll the admin's view.
    private static async Task WaitForAsync(ServerFixture server, string query, Func<JsonElement, bool> match)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var page = await server.Client.GetFromJsonAsync<JsonElement>(server.Url("/v1/audit?limit=10000&" + query));
            if (page.GetProperty("records").EnumerateArray().Any(match))
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"no audit record for {query}: {page}");
            await Task.Delay(100);
        }
    }

    /// <summary>Kestrel's own <c>kestrel.active_connections</c> for one server port, and the most it reached.</summary>
    private sealed class KestrelConnections : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly int _port;
        private long _current;
        private long _peak;

        public KestrelConnections(int port)
        {
            _port = port;
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Microsoft.AspNetCore.Server.Kestrel" && instrument.Name == "kestrel.active_connections")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>(OnMeasurement);
            _listener.Start();
        }

        public long Peak => Interlocked.Read(ref _peak);

        public void Dispose() => _listener.Dispose();

        private void OnMeasurement(Instrument instrument, long delta, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "server.port" && Convert.ToInt32(tag.Value, System.Globalization.CultureInfo.InvariantCulture) == _port)
                {
                    var now = Interlocked.Add(ref _current, delta);
                    long peak;
                    while (now > (peak = Interlocked.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, now, peak) != peak)
                    {
                    }

                    return;
                }
            }
        }
    }
}
