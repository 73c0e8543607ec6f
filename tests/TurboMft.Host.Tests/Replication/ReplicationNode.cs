using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using TurboMft.Engine.Client;
using TurboMft.Engine.Protocol;
using TurboMft.Host.Access;
using TurboMft.Host.Audit;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Replication;
using TurboMft.Host.Server;

namespace TurboMft.Host.Tests.Replication;

/// <summary>
/// One real TurboMft node for replication tests: its own data directory, site name and a fixed loopback port, so that it
/// can be stopped and started again at the address its peers know.
/// </summary>
internal sealed class ReplicationNode : IAsyncDisposable
{
    private readonly Action<ServerSettings>? _configure;

    private ReplicationNode(string site, string dataPath, int port, Action<ServerSettings>? configure)
    {
        Site = site;
        DataPath = dataPath;
        Port = port;
        _configure = configure;
    }

    public string Site { get; }

    public string DataPath { get; }

    public int Port { get; }

    public TurboMftServer? Server { get; private set; }

    public TurboMftServer Running => Server ?? throw new InvalidOperationException($"Node {Site} is stopped.");

    public Uri Address => new($"https://127.0.0.1:{Port}/");

    public string Fingerprint { get; private set; } = string.Empty;

    public string NodeFingerprint { get; private set; } = string.Empty;

    public string Token => DataDirectory.Open(DataPath).ReadAdminToken();

    public AccessAdminApi Admin => Running.Services.GetRequiredService<AccessAdminApi>();

    /// <summary>Fast retries for tests; each test may change more.</summary>
    public static void TestDefaults(ServerSettings settings)
    {
        settings.Replication.RetryBaseSeconds = 0.2;
        settings.Replication.RetryMaxSeconds = 1;
        settings.Replication.IdleSeconds = 0.5;
        settings.Replication.PollSeconds = 1;
        settings.Replication.SweepSeconds = 2;
        settings.Replication.RequestTimeoutSeconds = 10;
    }

    public static async Task<ReplicationNode> StartAsync(string site, Action<ServerSettings>? configure = null)
    {
        var node = new ReplicationNode(site, Directory.CreateTempSubdirectory($"tmf-{site}-").FullName, FreePort(), configure);
        await node.StartAgainAsync();
        return node;
    }

    public async Task StartAgainAsync()
    {
        var settings = new ServerSettings { Data = DataPath, Listen = $"127.0.0.1:{Port}", Site = Site };
        TestDefaults(settings);
        _configure?.Invoke(settings);
        var server = TurboMftServer.Create(settings, DataDirectory.Open(DataPath));
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await server.StartAsync();
                break;
            }
            catch (IOException) when (attempt < 20)
            {
                // The port of the previous run may linger for a moment.
                await Task.Delay(250);
            }
        }

        Server = server;
        Fingerprint = server.Fingerprint;
        NodeFingerprint = server.Node.Fingerprint;
    }

    public async Task StopAsync()
    {
        if (Server is { } server)
        {
            Server = null;
            await server.DisposeAsync();
        }
    }

    /// <summary>On this node: accept <paramref name="from"/>'s node certificate as peer <c>from.Site</c> with <paramref name="roles"/> on <paramref name="area"/>.</summary>
    public async Task AcceptAsync(ReplicationNode from, string area, params string[] roles)
    {
        await Admin.AddPeerAsync(AdminCaller.System, new AddPeerRequest(from.Site, from.NodeFingerprint));
        foreach (var role in roles)
        {
            await Admin.GrantAsync(AdminCaller.System, new GrantRequest(role, Peer: from.Site, Area: area));
        }
    }

    /// <summary>On this node: reach <paramref name="to"/> at its address, trusting its server pin, with the node certificate.</summary>
    public Task AddOutboundAsync(ReplicationNode to) =>
        Admin.AddPeerAsync(AdminCaller.System, new AddPeerRequest(to.Site, Url: to.Address.ToString(), ServerPin: to.Fingerprint));

    /// <summary>A client of this node with the admin token.</summary>
    public TurboMftClient AdminClient(string? resume = null) => new(new TurboMftClientOptions
    {
        BaseAddress = Address,
        Token = Token,
        PinSha256 = Fingerprint,
        ResumeDirectory = resume ?? Path.Combine(DataPath, "client-resume"),
    });

    public IReplicationStore Outbox => Running.Services.GetRequiredService<IReplicationStore>();

    public Task<ReplicationRuleView> AddRuleAsync(AddReplicationRuleRequest request) =>
        Running.Services.GetRequiredService<ReplicationAdministration>().AddAsync(AdminCaller.System, request, CancellationToken.None);

    public Task<ReplicationStatus> StatusAsync() => Running.Services.GetRequiredService<ReplicationAdministration>().StatusAsync(CancellationToken.None);

    /// <summary>The current versions under <paramref name="prefix"/> as this node's admin lists them, by path.</summary>
    public async Task<Dictionary<string, RemoteFile>> ListAsync(string prefix)
    {
        using var client = AdminClient();
        return (await client.ListAsync(prefix)).ToDictionary(f => f.Path, StringComparer.Ordinal);
    }

    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Waited {timeout.TotalSeconds:0} s for: {what}");
            }

            await Task.Delay(200);
        }
    }

    public IReadOnlyList<AuditRecord> Audit() => [.. AuditQuery.ReadAll(Path.Combine(DataPath, "audit"))];

    /// <summary>
    /// This running node's audit trail with every record appended so far on disk: records are written in group commits, so
    /// a plain read right after the event can miss it. A record a background worker appends later still needs a wait.
    /// </summary>
    public async Task<IReadOnlyList<AuditRecord>> AuditAsync()
    {
        await Running.Services.GetRequiredService<AuditLog>().FlushAsync();
        return Audit();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(DataPath, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
