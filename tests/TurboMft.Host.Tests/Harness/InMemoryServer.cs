using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Server;

namespace TurboMft.Host.Tests.Harness;

/// <summary>
/// The protocol tier's harness: the whole TurboMft server (every service, the access middleware, the endpoints, a real
/// SQLite database and data directory) on ASP.NET Core's in-memory TestServer instead of Kestrel, for tests of what the
/// API answers where TLS, sockets and connection limits do not matter. Those that do (pinning, mTLS, HTTP/2, body rate
/// limits, killed connections) use the Kestrel tier, <see cref="Tests.Server.ServerFixture"/>.
/// </summary>
internal sealed class InMemoryServer : IAsyncDisposable
{
    private InMemoryServer(string dataPath, TurboMftServer server, TestServer host, string token)
    {
        DataPath = dataPath;
        Server = server;
        Host = host;
        Token = token;
        Client = CreateClient(token);
    }

    public string DataPath { get; }

    public TurboMftServer Server { get; }

    public TestServer Host { get; }

    public string Token { get; }

    /// <summary>A client with the admin token.</summary>
    public HttpClient Client { get; }

    /// <summary>Starts a server over a fresh data directory; <paramref name="services"/> adds or replaces services after the defaults.</summary>
    public static async Task<InMemoryServer> StartAsync(Action<ServerSettings>? configure = null, Action<IServiceCollection>? services = null)
    {
        var dataPath = Directory.CreateTempSubdirectory("tmf-memory-").FullName;
        var settings = new ServerSettings { Data = dataPath, Listen = "127.0.0.1:0" };
        configure?.Invoke(settings);
        var server = TurboMftServer.Create(settings, DataDirectory.Open(dataPath), _ => { }, collection =>
        {
            collection.AddSingleton<IServer, TestServer>();
            collection.AddSingleton<IStartupFilter, RawTargetFilter>();
            services?.Invoke(collection);
        });
        try
        {
            await server.StartAsync();
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        var host = (TestServer)server.Services.GetRequiredService<IServer>();
        host.BaseAddress = new Uri("https://localhost/");
        return new InMemoryServer(dataPath, server, host, DataDirectory.Open(dataPath).ReadAdminToken());
    }

    /// <summary>A client of the in-memory host with <paramref name="token"/> as its bearer token, or none.</summary>
    public HttpClient CreateClient(string? token)
    {
        var client = Host.CreateClient();
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    public Uri Url(string relative) => new(Host.BaseAddress, relative);

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
        try
        {
            Directory.Delete(DataPath, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>
    /// TestServer leaves the raw request target empty, where Kestrel gives the bytes the client sent; the server reads
    /// paths from it (Http/RequestPaths.cs), so it is rebuilt from the request, encoded again. Encoded separators and
    /// dot segments do not survive that: tests of them use the Kestrel tier.
    /// </summary>
    private sealed class RawTargetFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, following) =>
            {
                if (context.Features.Get<IHttpRequestFeature>() is { RawTarget: null or "" } request)
                {
                    request.RawTarget = context.Request.GetEncodedPathAndQuery();
                }

                return following(context);
            });
            next(app);
        };
    }
}
