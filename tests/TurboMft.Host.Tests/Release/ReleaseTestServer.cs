using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using TurboMft.Engine.Storage;
using TurboMft.Host.Audit;
using TurboMft.Host.Notifications;
using TurboMft.Host.Scanning;
using TurboMft.Host.Server;
using TurboMft.Host.Tests.Server;

namespace TurboMft.Host.Tests.Release;

/// <summary>
/// A real server with the test scanner chain and a recording incident notifier, fast sweeps and retries, and these users:
/// olga (operator on /, approver on /four-eyes: she uploads), dana (downloader on /), petra (approver on /four-eyes),
/// quinn (approver on /elsewhere). The admin token is <see cref="ServerFixture.Client"/>.
/// </summary>
internal sealed class ReleaseTestServer : IAsyncDisposable
{
    public const string ApprovalArea = "/four-eyes";

    private readonly Dictionary<string, HttpClient> _clients = [];

    private ReleaseTestServer(ServerFixture fixture, TestScannerChain chain, RecordingIncidentNotifier incidents)
    {
        Fixture = fixture;
        Chain = chain;
        Incidents = incidents;
    }

    public ServerFixture Fixture { get; }

    public TestScannerChain Chain { get; }

    public RecordingIncidentNotifier Incidents { get; }

    public HttpClient Admin => Fixture.Client;

    public HttpClient Olga => _clients["olga"];

    public HttpClient Dana => _clients["dana"];

    public HttpClient Petra => _clients["petra"];

    public HttpClient Quinn => _clients["quinn"];

    public static async Task<ReleaseTestServer> StartAsync(TimeProvider? time = null, Action<ServerSettings>? configure = null, TestScannerChain? chain = null)
    {
        chain ??= new TestScannerChain();
        chain.ApprovalAreas.Add(RemotePath.Parse(ApprovalArea));
        var incidents = new RecordingIncidentNotifier();
        var fixture = await ServerFixture.StartAsync(
            configure: settings =>
            {
                settings.Content.ScanSweepSeconds = 0.2;
                settings.Content.ScanRetrySeconds = 0.2;
                settings.Content.ScanRetryMaxSeconds = 0.5;
                configure?.Invoke(settings);
            },
            services: services => Register(services, chain, incidents, time));
        var server = new ReleaseTestServer(fixture, chain, incidents);
        await server.AddUserAsync("olga", ("operator", "/"), ("approver", ApprovalArea));
        await server.AddUserAsync("dana", ("downloader", "/"));
        await server.AddUserAsync("petra", ("approver", ApprovalArea));
        await server.AddUserAsync("quinn", ("approver", "/elsewhere"));
        return server;
    }

    public static void Register(IServiceCollection services, IScannerChain chain, IIncidentNotifier incidents, TimeProvider? time = null)
    {
        services.AddSingleton(chain);
        services.AddSingleton(incidents);
        if (time is not null)
        {
            services.AddSingleton(time);
        }
    }

    public Uri Url(string relative) => Fixture.Url(relative);

    public async Task<JsonElement> PutAsync(HttpClient client, string path, byte[] content, HttpStatusCode expected = HttpStatusCode.Created)
    {
        using var body = new ByteArrayContent(content);
        using var response = await client.PutAsync(Url("/v1/files" + path), body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"PUT {path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public static byte[] Csv(int rows = 200)
    {
        var text = new StringBuilder("time,tag,value\n");
        for (var i = 0; i < rows; i++)
        {
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"2026-11-01T00:{i % 60:00}:00Z,plant1.flow,{i * 0.5}\n");
        }

        return Encoding.ASCII.GetBytes(text.ToString());
    }

    public static byte[] Infected() => [.. Encoding.ASCII.GetBytes("harmless prefix "), .. TestScannerChain.Eicar, .. Encoding.ASCII.GetBytes(" suffix")];

    public async Task<JsonElement> GetJsonAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(Url(path));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public async Task<HttpResponseMessage> PostReasonAsync(HttpClient client, string path, string? reason) =>
        reason is null ? await client.PostAsync(Url(path), null) : await client.PostAsJsonAsync(Url(path), new { reason });

    public async Task<string[]> ListAsync(HttpClient client, string prefix = "/") =>
        [.. (await GetJsonAsync(client, "/v1/files?prefix=" + Uri.EscapeDataString(prefix))).GetProperty("files").EnumerateArray().Select(f => f.GetProperty("path").GetString()!)];

    /// <summary>Every audit record so far (after a flush).</summary>
    public async Task<IReadOnlyList<AuditRecord>> AuditAsync()
    {
        await Fixture.Server.Services.GetRequiredService<AuditLog>().FlushAsync();
        return [.. new AuditFileReader(Path.Combine(Fixture.DataPath, "audit")).Read()];
    }

    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, double seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting until {what}");
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients.Values)
        {
            client.Dispose();
        }

        await Fixture.DisposeAsync();
    }

    /// <summary>Clients for the users again (after a restart the port and the certificate pin are new).</summary>
    public async Task ReconnectAsync()
    {
        foreach (var name in _clients.Keys.ToList())
        {
            _clients[name].Dispose();
            _clients[name] = await ClientForAsync(name);
        }
    }

    private async Task AddUserAsync(string name, params (string Role, string Area)[] grants)
    {
        using var response = await Admin.PostAsJsonAsync(Url("/v1/admin/users"), new { name, roles = grants.Select(g => new { role = g.Role, area = g.Area }) });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        _clients[name] = await ClientForAsync(name);
    }

    /// <summary>A new token of <paramref name="user"/> in a file under the data directory's parent, for the CLI's --token-file.</summary>
    public async Task<string> TokenFileAsync(string user)
    {
        var path = Path.Combine(Path.GetTempPath(), $"tmf-token-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(path, await IssueTokenAsync(user));
        return path;
    }

    private async Task<HttpClient> ClientForAsync(string name) =>
        ServerFixture.CreateClient(Fixture.Server.Fingerprint, await IssueTokenAsync(name), HttpVersion.Version11);

    private async Task<string> IssueTokenAsync(string user)
    {
        using var response = await Admin.PostAsJsonAsync(Url("/v1/admin/tokens"), new { user });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;
    }
}
