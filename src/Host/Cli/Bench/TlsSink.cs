using System.Buffers.Binary;
using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace TurboMft.Host.Cli.Bench;

/// <summary>
/// The transport ceiling for benchmarks: Kestrel with TLS 1.3 and a connection handler that reads every byte from the
/// transport and discards it, then answers the byte count (8 bytes, big-endian) when the client closes its side. No HTTP,
/// no hashing, no storage: what <c>turbomft push</c> pays on top of this is the protocol's and the engine's cost.
/// </summary>
internal sealed class TlsSink : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TlsSink(WebApplication app) => _app = app;

    /// <summary>The bound address (the real port when 0 was asked for).</summary>
    public Uri Address => new(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    /// <summary>Starts a sink on <paramref name="endpoint"/> serving <paramref name="certificate"/>.</summary>
    public static async Task<TlsSink> StartAsync(IPEndPoint endpoint, X509Certificate2 certificate, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "turbomft-sink" });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(endpoint, listen =>
            {
                listen.UseHttps(https =>
                {
                    https.ServerCertificate = certificate;
                    https.SslProtocols = SslProtocols.Tls13;
                });
                listen.Run(DiscardAsync);
            });
        });
        var app = builder.Build();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        return new TlsSink(app);
    }

    /// <summary>Runs until the host stops (Ctrl+C, SIGTERM) or <paramref name="cancellationToken"/> fires.</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken) =>
        Microsoft.Extensions.Hosting.HostingAbstractionsHostExtensions.WaitForShutdownAsync(_app, cancellationToken);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private static async Task DiscardAsync(ConnectionContext connection)
    {
        var input = connection.Transport.Input;
        long total = 0;
        while (true)
        {
            var result = await input.ReadAsync().ConfigureAwait(false);
            total += result.Buffer.Length;
            input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted || result.IsCanceled)
            {
                break;
            }
        }

        var answer = new byte[sizeof(long)];
        BinaryPrimitives.WriteInt64BigEndian(answer, total);
        await connection.Transport.Output.WriteAsync(answer).ConfigureAwait(false);
        await connection.Transport.Output.CompleteAsync().ConfigureAwait(false);
    }
}
