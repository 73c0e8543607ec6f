using TurboMft.Host.Infrastructure;
using TurboMft.Host.Server;

namespace TurboMft.Host.Tests.Client;

/// <summary>A real TurboMft server on loopback over a fresh data directory, for client tests.</summary>
internal sealed class TestServer : IAsyncDisposable
{
    private TestServer(string root, TurboMftServer server, DataDirectory data)
    {
        Root = root;
        Server = server;
        Data = data;
    }

    public string Root { get; }

    public TurboMftServer Server { get; }

    public DataDirectory Data { get; }

    public Uri Address => Server.Address;

    public string Token => Data.ReadAdminToken();

    public static async Task<TestServer> StartAsync()
    {
        var root = Path.Combine(Path.GetTempPath(), "tmf-client-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        var data = DataDirectory.Open(Path.Combine(root, "data"));
        var server = TurboMftServer.Create(new ServerSettings { Data = data.Root, Listen = "127.0.0.1:0" }, data, logging => { });
        await server.StartAsync();
        return new TestServer(root, server, data);
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Directory.Delete(Root, recursive: true);
    }
}
