using Microsoft.Extensions.DependencyInjection;
using TurboMft.Engine.Client;
using TurboMft.Engine.Protocol;
using TurboMft.Host.Access;
using TurboMft.Host.Audit;
using TurboMft.Host.Replication;
using TurboMft.Host.Server;
using TurboMft.Host.Tests.Server;

namespace TurboMft.Host.Tests.Replication;

/// <summary>
/// One real TurboMft node for replication tests, on the Kestrel tier's harness (<see cref="ServerFixture"/>): its own data
/// directory, site name and a port kept across restarts, so that it can be stopped and started again at the address its
/// peers know.
/// </summary>
internal sealed class ReplicationNode : IAsyncDisposable
{
    private readonly ServerFixture _fixture;

    private ReplicationNode(string site, ServerFixture fixture)
    {
        Site = site;
        _fixture = fixture;
        Fingerprint = fixture.Server.Fingerprint;
        NodeFingerprint = fixture.Server.Node.Fingerprint;
    }

    public string Site { get; }

    public string DataPath => _fixture.DataPath;

    public TurboMftServer? Server => _fixture.IsRunning ? _fixture.Server : null;

    public TurboMftServer Running => Server ?? throw new InvalidOperationException($"Node {Site} is stopped.");

    public Uri Address => _fixture.Address;

    public string Fingerprint { get; private set; }

    public string NodeFingerprint { get; private set; }

    public string Token => _fixture.Token;

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
        var fixture = await ServerFixture.StartAsync(
            Directory.CreateTempSubdirectory($"tmf-{site}-").FullName,
            settings =>
            {
                settings.Site = site;
                TestDefaults(settings);
                configure?.Invoke(settings);
            },
            keepPort: true);
        return new ReplicationNode(site, fixture);
    }

    public async Task StartAgainAsync()
    {
        await _fixture.StartAgainAsync();
        Fingerprint = _fixture.Server.Fingerprint;
        NodeFingerprint = _fixture.Server.Node.Fingerprint;
    }

    public Task StopAsync() => _fixture.StopAsync();

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

    public IReadOnlyList<AuditRecord> Audit() => [.. new AuditFileReader(Path.Combine(DataPath, "audit")).Read()];

    /// <summary>
    /// This running node's audit trail with every record appended so far on disk: records are written in group commits, so
    /// a plain read right after the event can miss it. A record a background worker appends later still needs a wait.
    /// </summary>
    public async Task<IReadOnlyList<AuditRecord>> AuditAsync()
    {
        await Running.Services.GetRequiredService<AuditLog>().FlushAsync();
        return Audit();
    }

    public ValueTask DisposeAsync() => _fixture.DisposeAsync();
}
