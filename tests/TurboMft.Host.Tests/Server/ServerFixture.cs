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
/// directory, a client pinned to it, and a scratch directory for the test's local files. Tests where TLS, sockets and
/// connection limits do not matter use the in-memory tier, <see cref="Harness.InMemoryServer"/>.
/// </summary>
internal sealed class ServerFixture : IAsyncDisposable
{
    private readonly Action<ServerSettings>? _configure;
    private readonly Action<ILoggingBuilder>? _logging;
    private Action<IServiceCollection>? _services;

    private ServerFixture(string dataPath, TurboMftServer server, string token, Action<ServerSettings>? configure, Action<ILoggingBuilder>? logging, Action<IServiceCollection>? services)
    {
        _configure = configure;
        _logging = logging;
        DataPath = dataPath;
        Server = server;
        Token = token;
        _services = services;
        Client = CreateClient(server.Fingerprint, token, HttpVersion.Version11);
    }

    public string DataPath { get; }

    /// <summary>A directory of the test's own, apart from the data directory, removed with the fixture.</summary>
    public string Scratch { get; } = Directory.CreateTempSubdirectory("tmf-scratch-").FullName;

    /// <summary>The server's data directory.</summary>
    public DataDirectory Data => Server.Data;

    public TurboMftServer Server { get; private set; }

    public string Token { get; }

    public HttpClient Client { get; private set; }

    public Uri Address => Server.Address;

    /// <summary>
    /// Starts a server; <paramref name="configure"/> and <paramref name="logging"/> also apply to every <see cref="RestartAsync"/>;
    /// <paramref name="services"/> adds or replaces services (test scanner chains, notifiers, clocks).
    /// </summary>
    public static async Task<ServerFixture> StartAsync(
        string? dataPath = null, Action<ServerSettings>? configure = null, Action<ILoggingBuilder>? logging = null, Action<IServiceCollection>? services = null)
    {
        dataPath ??= Directory.CreateTempSubdirectory("tmf-server-").FullName;
        var server = await StartServerAsync(dataPath, configure, logging, services);
        return new ServerFixture(dataPath, server, DataDirectory.Open(dataPath).ReadAdminToken(), configure, logging, services);
    }

    /// <summary>
    /// Stops the server and starts a new one on the same data directory (and a new port), with the same settings and the
    /// same services unless <paramref name="services"/> gives new ones.
    /// </summary>
    public async Task RestartAsync(Action<string>? whileStopped = null, Action<IServiceCollection>? services = null)
    {
        Client.Dispose();
        await Server.DisposeAsync();
        whileStopped?.Invoke(DataPath);
        _services = services ?? _services;
        Server = await StartServerAsync(DataPath, _configure, _logging, _services);
        Client = CreateClient(Server.Fingerprint, Token, HttpVersion.Version11);
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
        Client.Dispose();
        await Server.DisposeAsync();
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

    private static async Task<TurboMftServer> StartServerAsync(string dataPath, Action<ServerSettings>? configure, Action<ILoggingBuilder>? logging, Action<IServiceCollection>? services)
    {
        var settings = new ServerSettings { Data = dataPath, Listen = "127.0.0.1:0" };
        configure?.Invoke(settings);
        var server = TurboMftServer.Create(settings, DataDirectory.Open(dataPath), logging, services);
        await server.StartAsync();
        return server;
    }
}
