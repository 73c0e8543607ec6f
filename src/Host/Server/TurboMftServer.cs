using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TurboMft.Engine.Crypto;
using TurboMft.Engine.Storage;
using TurboMft.Host.Access;
using TurboMft.Host.Audit;
using TurboMft.Host.Cluster;
using TurboMft.Host.Delivery;
using TurboMft.Host.Http;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Ingest;
using TurboMft.Host.Metadata;
using TurboMft.Host.Metrics;
using TurboMft.Host.Notifications;
using TurboMft.Host.Release;
using TurboMft.Host.Replication;
using TurboMft.Host.Scanning;

namespace TurboMft.Host.Server;

/// <summary>
/// Builds the Kestrel-hosted server: HTTPS only, TLS 1.3 only, HTTP/1.1 and HTTP/2 (and HTTP/3 where the platform has
/// QUIC), the single access (authentication and authorization) middleware, and the API endpoints (docs/protocol.md).
/// </summary>
public sealed class TurboMftServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly KeyRing _keys;
    private readonly X509Certificate2 _certificate;
    private readonly AuditLog _audit;
    private readonly IAccessStore _access;
    private readonly PostgresDatabase? _database;
    private readonly AccessPolicy? _policy;
    private readonly NodeIdentity _node;
    private readonly string? _nodeName;
    private NodeHeartbeat? _heartbeat;
    private bool _started;

    private TurboMftServer(WebApplication app, KeyRing keys, X509Certificate2 certificate, DataDirectory data, AuditLog audit, IAccessStore access, PostgresDatabase? database, AccessPolicy? policy, NodeIdentity node, string? nodeName)
    {
        _nodeName = nodeName;
        _database = database;
        _node = node;
        _app = app;
        _keys = keys;
        _certificate = certificate;
        _audit = audit;
        _access = access;
        _policy = policy;
        Data = data;
    }

    /// <summary>The data directory in use.</summary>
    public DataDirectory Data { get; }

    /// <summary>The certificate's SHA-256 fingerprint (<c>sha256:…</c>), for clients' <c>--pin</c>.</summary>
    public string Fingerprint => TlsCertificate.Fingerprint(_certificate);

    /// <summary>This node's site name and replication client certificate (docs/replication.md, "Node identity").</summary>
    public NodeIdentity Node => _node;

    /// <summary>
    /// The bound address, e.g. <c>https://127.0.0.1:8443</c> (the real port when 0 was asked for); <c>https://localhost/</c>
    /// on a server that binds none (an in-memory test host in place of Kestrel).
    /// </summary>
    public Uri Address => _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() is { } bound
        ? new Uri(bound)
        : new Uri("https://localhost/");

    /// <summary>
    /// Builds (does not start) a server over <paramref name="data"/>. <paramref name="services"/> may add or replace services
    /// after the defaults (tests, embedding).
    /// </summary>
    /// <exception cref="PolicyFileException">The configured policy file is invalid (its message names the line and column).</exception>
    public static TurboMftServer Create(ServerSettings settings, DataDirectory data, Action<ILoggingBuilder>? logging = null, Action<IServiceCollection>? services = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(data);
        // Every setting is checked before anything is opened; a bad area or type list stops the start with its name.
        ContentPolicies.FromSettings(settings.Content);
        new ServerSettingsValidation().ThrowIfInvalid(settings);
        var endpoint = settings.ParseListen();
        var notifications = (settings.Notifications ?? new NotificationSettings()).Resolve();
        var policy = settings.Policy is null ? null : AccessPolicyFile.Load(settings.Policy);
        var site = NodeIdentity.ValidateSite(settings.Site);
        data.EnsureNodeCertificate(site);
        var certificate = TlsCertificate.Load(data.CertificatePath, data.CertificateKeyPath);
        var node = new NodeIdentity(site, data.LoadNodeCertificate());
        var keys = data.LoadKeyRing();

        // Exclusive: a second server (or an offline command) on this directory stops here (docs/audit.md).
        var audit = AuditLog.Open(data);
        PostgresDatabase? database = null;
        IAccessStore? access = null;
        try
        {
            // With a connection string the shared stores live in PostgreSQL (docs/cluster.md), else in the data directory.
            var accessOptions = new AccessStoreOptions { PasswordIterations = settings.PasswordIterations, ClientCaFile = settings.ClientCaFile };
            if (settings.Postgres is { } connection)
            {
                database = PostgresDatabase.Create(connection, $"turbomft {site}");
                var adminToken = ApiTokens.Hash(data.ReadAdminToken());
                access = PostgresAccessStore.OpenAsync(database, accessOptions with { AdminTokenSha256 = adminToken }).GetAwaiter().GetResult();
                if (access.FindTokenAsync(adminToken).GetAwaiter().GetResult() is null)
                {
                    // The database was seeded by its first node: this directory's token was never registered, so it goes.
                    File.Delete(data.AdminTokenPath);
                }
            }
            else
            {
                access = SqliteAccessStore.OpenAsync(data, accessOptions).GetAwaiter().GetResult();
            }

            return Build(settings, data, logging, services, endpoint, certificate, keys, audit, policy, notifications, node, access, database);
        }
        catch
        {
            access?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            database?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            node.Dispose();
            audit.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
    }

    private static TurboMftServer Build(
        ServerSettings settings,
        DataDirectory data,
        Action<ILoggingBuilder>? logging,
        Action<IServiceCollection>? services,
        System.Net.IPEndPoint endpoint,
        X509Certificate2 certificate,
        KeyRing keys,
        AuditLog audit,
        AccessPolicy? policy,
        NotificationTargets notifications,
        NodeIdentity node,
        IAccessStore access,
        PostgresDatabase? database)
    {
        // No appsettings.json from the working directory and no watcher on it: the server takes no configuration files, and
        // the default reload watch is recursive over the working directory (a download into it woke the watcher per write).
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = "turbomft",
            ContentRootPath = AppContext.BaseDirectory,
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        builder.Logging.ClearProviders();
        if (logging is null)
        {
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        }
        else
        {
            logging(builder.Logging);
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Limits.MinRequestBodyDataRate = new MinDataRate(settings.Uploads.MinRequestBodyBytesPerSecond, TimeSpan.FromSeconds(settings.Uploads.MinRequestBodyGraceSeconds));
            kestrel.Limits.Http2.InitialConnectionWindowSize = 16 << 20;
            kestrel.Limits.Http2.InitialStreamWindowSize = 8 << 20;
            kestrel.Limits.Http2.MaxStreamsPerConnection = 256;
            kestrel.Listen(endpoint, listen =>
            {
                listen.Protocols = ProductInfo.QuicAvailable ? HttpProtocols.Http1AndHttp2AndHttp3 : HttpProtocols.Http1AndHttp2;
                listen.UseHttps(https =>
                {
                    https.ServerCertificate = certificate;
                    https.SslProtocols = SslProtocols.Tls13;

                    // Peers may present a client certificate; whether it maps to a registered peer (pin or configured CA)
                    // is decided by the one authentication middleware, so the handshake accepts any and requires none.
                    https.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
                    https.ClientCertificateValidation = (_, _, _) => true;
                });
            });
        });

        builder.Services.AddSingleton(settings);
        var turbo = builder.Services.AddTurboMft(data, TimeProvider.System).AddMetrics();
        if (database is null)
        {
            turbo.UseSqlite().UseSqliteReplication();
            builder.Services.AddSingleton<INodeRegistry>(new LocalNodeRegistry());
            builder.Services.AddSingleton<ILeaseStore>(provider => new LocalLeaseStore(provider.GetRequiredService<TimeProvider>()));
        }
        else
        {
            turbo.UsePostgresMetadata(database).UsePostgresReplication(database);
            builder.Services.AddSingleton<INodeRegistry>(PostgresNodeRegistry.OpenAsync(database).GetAwaiter().GetResult());
            builder.Services.AddSingleton<ILeaseStore>(PostgresLeaseStore.OpenAsync(database).GetAwaiter().GetResult());
        }

        if (settings.ParseStore() is { } shared)
        {
            turbo.UseSharedDirectory(shared, database);
        }
        else
        {
            turbo.UseLocalObjects();
        }

        // Before the work that holds leases: hosted services stop in reverse order, so the leases are released last.
        builder.Services.AddSingleton<ClusterLeases>();
        builder.Services.AddHostedService(provider => provider.GetRequiredService<ClusterLeases>());

        turbo
            .AddNotifications(notifications)
            .AddAudit(audit, new AuditWatchSettings(settings.AuditVerifyIntervalMinutes))
            .AddAccess(access, keys, settings.Throttle)
            .AddContentScanning(settings.Content)
            .AddRelease()
            .AddIngest(settings.Uploads)
            .AddDelivery()
            .AddReplication(settings.Replication, node)
            .AddHttpApi();
        if (database is not null)
        {
            // Shared containers: the start-up sweep would race other nodes' commits; this one runs under a lease, with a grace period.
            builder.Services.AddHostedService<OrphanSweepService>();
        }

        builder.Services.AddSingleton(keys);

        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi("v1", options => options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "TurboMft";
            document.Info.Description = "TurboMft HTTP API v1; the contract is docs/protocol.md. Every route but /healthz needs Authorization: Bearer <token>.";
            return Task.CompletedTask;
        }));
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.UseProblemResponses();
        app.UseRouting();
        app.UseMiddleware<AccessMiddleware>();
        app.MapInfoEndpoints();
        app.MapUploadEndpoints();
        app.MapFileEndpoints();
        app.MapBatchEndpoints();
        app.MapAuditEndpoints();
        app.MapAdminEndpoints();
        app.MapNotificationEndpoints();
        app.MapAuthEndpoints();
        app.MapReleaseEndpoints();
        app.MapMetricsEndpoint();
        app.MapReplicationEndpoints();
        app.MapOpenApi("/openapi/{documentName}.json").RequirePermission(Permission.None);
        return new TurboMftServer(app, keys, certificate, data, audit, access, database, policy, node, settings.Node);
    }

    /// <summary>Applies the policy file, if one is configured, then starts listening and records <c>server.start</c> durably.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_policy is not null)
        {
            await _app.Services.GetRequiredService<AccessAdministration>().ApplyPolicyAsync(AdminCaller.System, _policy, cancellationToken).ConfigureAwait(false);
        }

        // Built now so its warnings (no clamd, missing deny list) are logged at start; an embedding may have removed it.
        _app.Services.GetService<IScannerChain>();

        if (_database is null)
        {
            // Embedded, before listening and before the background services start: no commit can be between its rename and
            // its row. On a shared database another node's may be; OrphanSweepService does it there.
            await OrphanedObjects.SetAsideAsync(
                _app.Services.GetRequiredService<IObjectStore>(), _app.Services.GetRequiredService<IMetadataStore>(), _audit, _app.Logger, grace: null, lease: null, cancellationToken).ConfigureAwait(false);
        }

        await _app.StartAsync(cancellationToken).ConfigureAwait(false);
        await JoinAsync(cancellationToken).ConfigureAwait(false);
        _started = true;
        await _audit.AppendDurableAsync(SystemEvent("server.start", $"listening on {Address}"), cancellationToken).ConfigureAwait(false);
        _app.Logger.LogInformation("TurboMft listening on {Address}; HTTP/3 {Quic}", Address, ProductInfo.QuicAvailable ? "on" : "off (no libmsquic)");
    }

    /// <summary>The name this node joined the registry as (docs/cluster.md, "Nodes").</summary>
    public string NodeName => _app.Services.GetRequiredService<INodeRegistry>().Self?.Name ?? throw new InvalidOperationException("The server has not started.");

    /// <summary>
    /// Joins the node registry once listening (the default name has the bound port) and starts the heartbeat; a name a
    /// live node holds stops the start.
    /// </summary>
    private async Task JoinAsync(CancellationToken cancellationToken)
    {
        var registry = _app.Services.GetRequiredService<INodeRegistry>();
        var time = _app.Services.GetRequiredService<TimeProvider>();
        var now = time.GetUtcNow();
        var self = new ClusterNode(_nodeName ?? $"{Environment.MachineName.ToLowerInvariant()}:{Address.Port}", _node.Site, ProductInfo.Version, now, now);
        try
        {
            await registry.JoinAsync(self, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        _app.Services.GetRequiredService<ClusterLeases>().Joined(self.Name);
        _heartbeat = new NodeHeartbeat(registry, self, time, _app.Services.GetRequiredService<ILoggerFactory>().CreateLogger<NodeHeartbeat>());
        await _heartbeat.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs until <paramref name="cancellationToken"/> fires or the host is stopped.</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => Microsoft.Extensions.Hosting.HostingAbstractionsHostExtensions.WaitForShutdownAsync(_app, cancellationToken);

    /// <summary>The application's services.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Stops the server, records <c>server.stop</c> (after the last request), then closes the audit log.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_heartbeat is not null)
        {
            // A clean stop leaves the registry at once; the other nodes need not wait out the timeout.
            await _heartbeat.StopAsync(CancellationToken.None).ConfigureAwait(false);
            _heartbeat.Dispose();
        }

        await _app.StopAsync().ConfigureAwait(false);
        if (_started)
        {
            try
            {
                await _audit.AppendDurableAsync(SystemEvent("server.stop", null)).ConfigureAwait(false);
            }
            catch (AuditUnavailableException e)
            {
                // Stopping anyway; the failure that broke the log was already reported to the requests it failed.
                _app.Logger.LogError("server.stop could not be recorded in the audit log: {Reason}", e.Message);
            }
        }

        await _app.DisposeAsync().ConfigureAwait(false);
        await _access.DisposeAsync().ConfigureAwait(false);
        if (_database is not null)
        {
            // After every store over it: the pool's connections close last.
            await _database.DisposeAsync().ConfigureAwait(false);
        }

        await _audit.DisposeAsync().ConfigureAwait(false);
        _keys.Dispose();
        _certificate.Dispose();
        _node.Dispose();
    }

    private static AuditEvent SystemEvent(string action, string? detail) =>
        new() { Action = action, Actor = AuditActor.System, Outcome = AuditOutcome.Success, Detail = detail };
}
