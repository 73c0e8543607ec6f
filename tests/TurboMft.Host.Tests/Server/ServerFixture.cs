using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Server;

namespace TurboMft.Host.Tests.Server;

/// <summary>
/// The Kestrel tier's harness: a real TurboMft server (Kestrel, TLS 1.3) on a free loopback port over a temporary data
/// directory, a client pinned to it, and a scratch directory for the test's local files. It can stop and start again on the
/// same directory, on the same port when asked (replication peers know each other's address). Tests where TLS, sockets and
/// connection limits do not matter use the in-memory tier, <see cref="Harness.InMemoryServer"/>.
/// </summary>
internal sealed class ServerFixture : IAsyncDisposable
{
    private readonly Action<ServerSettings>? _configure;
    private readonly Action<ILoggingBuilder>? _logging;
    private readonly bool _keepPort;
    private Action<IServiceCollection>? _services;
    private TurboMftServer? _server;
    private HttpClient? _client;
    private int _port;

    private ServerFixture(string dataPath, Action<ServerSettings>? configure, Action<ILoggingBuilder>? logging, Action<IServiceCollection>? services, bool keepPort)
    {
        _configure = configure;
        _logging = logging;
        _keepPort = keepPort;
        DataPath = dataPath;
        _services = services;
    }

    public string DataPath { get; }

    /// <summary>A directory of the test's own, apart from the data directory, removed with the fixture.</summary>
    public string Scratch { get; } = Directory.CreateTempSubdirectory("tmf-scratch-").FullName;

    /// <summary>The server's data directory.</summary>
    public DataDirectory Data => Server.Data;

    /// <summary>The running server.</summary>
    /// <exception cref="InvalidOperationException">It is stopped (<see cref="StopAsync"/>).</exception>
    public TurboMftServer Server => _server ?? throw new InvalidOperationException($"The server on {DataPath} is stopped.");

    /// <summary>True between a start and <see cref="StopAsync"/>.</summary>
    public bool IsRunning => _server is not null;

    /// <summary>The admin token, as read at the last start; empty when the data directory has none (a second node on PostgreSQL).</summary>
    public string Token { get; private set; } = string.Empty;

    /// <summary>A client of the running server with the admin token, pinned to its certificate.</summary>
    public HttpClient Client => _client ?? throw new InvalidOperationException($"The server on {DataPath} is stopped.");

    /// <summary>The running server's address; with a kept port, also the address it will have when started again.</summary>
    public Uri Address => _server?.Address ?? new Uri($"https://127.0.0.1:{_port}/");

    /// <summary>
    /// Starts a server; <paramref name="configure"/> and <paramref name="logging"/> also apply to every later start;
    /// <paramref name="services"/> adds or replaces services (test scanner chains, notifiers, clocks). With
    /// <paramref name="keepPort"/>, every later start listens on the port the first one got.
    /// </summary>
    public static async Task<ServerFixture> StartAsync(
        string? dataPath = null,
        Action<ServerSettings>? configure = null,
        Action<ILoggingBuilder>? logging = null,
        Action<IServiceCollection>? services = null,
        bool keepPort = false)
    {
        var fixture = new ServerFixture(dataPath ?? Directory.CreateTempSubdirectory("tmf-server-").FullName, configure, logging, services, keepPort);
        try
        {
            await fixture.StartAgainAsync();
            return fixture;
        }
        catch
        {
            await fixture.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Stops the server and starts a new one on the same data directory (on a new port unless the port is kept), with the
    /// same settings and the same services unless <paramref name="services"/> gives new ones.
    /// </summary>
    public async Task RestartAsync(Action<string>? whileStopped = null, Action<IServiceCollection>? services = null)
    {
        await StopAsync();
        whileStopped?.Invoke(DataPath);
        await StartAgainAsync(services);
    }

    /// <summary>Stops the server (its data directory stays); nothing happens when it is stopped.</summary>
    public async Task StopAsync()
    {
        _client?.Dispose();
        _client = null;
        if (_server is { } server)
        {
            _server = null;
            await server.DisposeAsync();
        }
    }

    /// <summary>Starts the stopped server again on the same data directory, with the same settings and services unless <paramref name="services"/> gives new ones.</summary>
    public async Task StartAgainAsync(Action<IServiceCollection>? services = null)
    {
        if (_server is not null)
        {
            throw new InvalidOperationException($"The server on {DataPath} is running.");
        }

        _services = services ?? _services;
        var settings = new ServerSettings { Data = DataPath, Listen = $"127.0.0.1:{(_keepPort ? _port : 0)}" };
        _configure?.Invoke(settings);
        var server = TurboMftServer.Create(settings, DataDirectory.Open(DataPath), _logging, _services);
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await server.StartAsync();
                break;
            }
            catch (IOException) when (_port != 0 && attempt < 20)
            {
                // The kept port of the previous run may linger for a moment: a retry interval, not a wait for an outcome.
                await Task.Delay(250);
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }

        _server = server;
        _port = server.Address.Port;
        // A second node on a shared database has no admin token of its own: its client goes without one.
        Token = File.Exists(server.Data.AdminTokenPath) ? server.Data.ReadAdminToken() : string.Empty;
        _client = CreateClient(server.Fingerprint, Token.Length == 0 ? null : Token, HttpVersion.Version11);
    }

    /// <summary>A client pinned to <paramref name="pin"/>; with <paramref name="localAddress"/> its connections leave from that address (any of 127.0.0.0/8 on loopback).</summary>
    public static HttpClient CreateClient(string pin, string? token, Version version, IPAddress? localAddress = null, int maxConnections = int.MaxValue)
    {
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = maxConnections,
            SslOptions =
            {
                EnabledSslProtocols = SslProtocols.Tls13,
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                    certificate is not null && ("sha256:" + Convert.ToHexStringLower(SHA256.HashData(certificate.GetRawCertData()))) == pin,
            },
        };
        if (localAddress is not null)
        {
            handler.ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(localAddress, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
        }

        var client = new HttpClient(handler) { DefaultRequestVersion = version, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact, Timeout = TimeSpan.FromMinutes(2) };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    public Uri Url(string relative) => new(Address, relative);

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        foreach (var directory in new[] { DataPath, Scratch })
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
