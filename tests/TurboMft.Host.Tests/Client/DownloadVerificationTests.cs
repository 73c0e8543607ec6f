using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TurboMft.Engine.Client;
using TurboMft.Engine.Protocol;
using TurboMft.Host.Tests.Access;
using TurboMft.Host.Tests.Server;

namespace TurboMft.Host.Tests.Client;

/// <summary>
/// Pulls through a relay that flips one byte of one chunk after the server's TLS ended, as a faulty middlebox or a lying
/// server would: every verification mode must refuse the file and leave nothing behind (docs/protocol.md, "Downloads").
/// </summary>
public sealed class DownloadVerificationTests
{
    private const int ChunkSize = 1 << 20;

    [Fact]
    public async Task Through_an_honest_relay_both_modes_pull_the_file_exactly()
    {
        await using var server = await ServerFixture.StartAsync();
        var bytes = await PushAsync(server);
        await using var relay = await Relay.StartAsync(server, corruptChunk: null, stripChecks: false);

        foreach (var verify in new[] { TransferVerify.Fast, TransferVerify.Sha256 })
        {
            using var client = new TurboMftClient(relay.ClientOptions(server) with { Verify = verify });
            var target = Path.Combine(server.Scratch, $"back-{verify}.bin");
            await client.DownloadFileAsync("/in/file.bin", target, null, TestContext.Current.CancellationToken);
            Assert.Equal(bytes, await File.ReadAllBytesAsync(target, TestContext.Current.CancellationToken));
        }

        Assert.True(relay.ChunksRelayed >= 2 * 5, $"the pulls went through the relay ({relay.ChunksRelayed} ranges)");
    }

    [Theory]
    [InlineData(TransferVerify.Fast, false, "does not match the CRC-64/NVME the server stored")]
    [InlineData(TransferVerify.Sha256, false, "does not hash to the server's Content-Digest")]
    [InlineData(TransferVerify.Fast, true, "do not hash to the server's TMF-Digest")] // no per-chunk checks: hashed here
    public async Task A_flipped_byte_fails_the_pull_and_leaves_no_file(TransferVerify verify, bool stripChecks, string expected)
    {
        await using var server = await ServerFixture.StartAsync();
        await PushAsync(server);
        await using var relay = await Relay.StartAsync(server, corruptChunk: 3, stripChecks);
        using var client = new TurboMftClient(relay.ClientOptions(server) with { Verify = verify });
        var target = Path.Combine(server.Scratch, "back.bin");

        var error = await Assert.ThrowsAsync<TransferVerificationException>(() => client.DownloadFileAsync("/in/file.bin", target, null, TestContext.Current.CancellationToken));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        if (!stripChecks)
        {
            Assert.Contains("chunk 3", error.Message, StringComparison.Ordinal);
        }

        Assert.False(File.Exists(target));
        Assert.False(File.Exists(target + ".tmf-partial"));
    }

    private static async Task<byte[]> PushAsync(ServerFixture server)
    {
        var bytes = new byte[(5 * ChunkSize) - 1000];
        new Random(11).NextBytes(bytes);
        var source = Path.Combine(server.Scratch, "file.bin");
        await File.WriteAllBytesAsync(source, bytes, TestContext.Current.CancellationToken);
        using var client = new TurboMftClient(Relay.DirectOptions(server));
        await client.UploadFileAsync(source, "/in/file.bin", null, TestContext.Current.CancellationToken);
        return bytes;
    }

    /// <summary>A TLS reverse proxy on loopback in front of the server that can corrupt one chunk's body and drop headers.</summary>
    private sealed class Relay : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly System.Security.Cryptography.X509Certificates.X509Certificate2 _certificate;
        private int _chunksRelayed;

        private Relay(WebApplication app, System.Security.Cryptography.X509Certificates.X509Certificate2 certificate)
        {
            _app = app;
            _certificate = certificate;
        }

        public int ChunksRelayed => Volatile.Read(ref _chunksRelayed);

        public static TurboMftClientOptions DirectOptions(ServerFixture server) => new()
        {
            BaseAddress = server.Address,
            Token = server.Token,
            PinSha256 = server.Server.Fingerprint,
            ChunkSize = ChunkSize,
            Connections = 2,
            ResumeDirectory = Path.Combine(server.Scratch, "resume"),
        };

        public static async Task<Relay> StartAsync(ServerFixture server, int? corruptChunk, bool stripChecks)
        {
            var certificate = TestCertificates.CreateSelfSigned("relay");
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(certificate)));
            var app = builder.Build();
            var relay = new Relay(app, certificate);
            var pin = CertificatePin.Parse(server.Server.Fingerprint);
            var upstream = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, c, _, _) => c is not null && pin.Matches(c) }) { BaseAddress = server.Address };
            app.Lifetime.ApplicationStopped.Register(upstream.Dispose);
            app.Run(async context =>
            {
                using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), context.Request.Path + context.Request.QueryString);
                foreach (var name in new[] { "Authorization", "Range" })
                {
                    if (context.Request.Headers.TryGetValue(name, out var value))
                    {
                        request.Headers.TryAddWithoutValidation(name, value.ToArray());
                    }
                }

                using var answer = await upstream.SendAsync(request, context.RequestAborted);
                var body = await answer.Content.ReadAsByteArrayAsync(context.RequestAborted);
                context.Response.StatusCode = (int)answer.StatusCode;
                foreach (var header in answer.Headers.Concat(answer.Content.Headers))
                {
                    var dropped = stripChecks && (header.Key.Equals(ProtocolHeaders.ChunkCrc64, StringComparison.OrdinalIgnoreCase)
                        || header.Key.Equals(ProtocolHeaders.ContentDigest, StringComparison.OrdinalIgnoreCase));
                    if (!dropped && !header.Key.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
                    {
                        context.Response.Headers[header.Key] = header.Value.ToArray();
                    }
                }

                if (answer.Content.Headers.ContentRange is { From: { } from })
                {
                    Interlocked.Increment(ref relay._chunksRelayed);
                    if (from == (long)corruptChunk.GetValueOrDefault(-1) * ChunkSize)
                    {
                        body[body.Length / 2] ^= 0x20;
                    }
                }

                if (!HttpMethods.IsHead(context.Request.Method))
                {
                    await context.Response.Body.WriteAsync(body, context.RequestAborted);
                }
            });
            await app.StartAsync();
            return relay;
        }

        public TurboMftClientOptions ClientOptions(ServerFixture server) => DirectOptions(server) with
        {
            BaseAddress = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/"),
            PinSha256 = TurboMft.Host.Infrastructure.TlsCertificate.Fingerprint(_certificate),
        };

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _certificate.Dispose();
        }
    }
}
