using System.Net;
using System.Security.Authentication;
using TurboMft.Engine.Client;
using TurboMft.Host.Tests.Server;

namespace TurboMft.Host.Tests.Client;

/// <summary>The shared connection set-up of the reference client and the load driver, against a real server.</summary>
public sealed class ClientHandlersTests : IAsyncLifetime
{
    private ServerFixture _server = null!;

    public async ValueTask InitializeAsync() => _server = await ServerFixture.StartAsync();

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_handler_whose_check_accepts_the_pin_connects_over_tls_1_3()
    {
        var pin = CertificatePin.Parse(_server.Server.Fingerprint);
        SslProtocols? negotiated = null;
        using var handler = ClientHandlers.Create(2, (sender, certificate, _, _) =>
        {
            negotiated = (sender as System.Net.Security.SslStream)?.SslProtocol;
            return pin.Matches(certificate);
        });
        using var http = new HttpClient(handler, disposeHandler: false);

        Assert.Equal("ok\n", await http.GetStringAsync(_server.Url("/healthz"), TestContext.Current.CancellationToken));
        Assert.Equal(SslProtocols.Tls13, handler.SslOptions.EnabledSslProtocols);
        Assert.Equal(2, handler.MaxConnectionsPerServer);
        Assert.False(handler.AllowAutoRedirect);
        Assert.Equal(DecompressionMethods.None, handler.AutomaticDecompression);
        Assert.True(negotiated is null or SslProtocols.Tls13, $"negotiated {negotiated}");
    }

    [Fact]
    public async Task A_handler_whose_check_refuses_fails_in_the_handshake()
    {
        var asked = 0;
        using var handler = ClientHandlers.Create(1, (_, _, _, _) =>
        {
            Interlocked.Increment(ref asked);
            return false;
        });
        using var http = new HttpClient(handler, disposeHandler: false);

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetStringAsync(_server.Url("/healthz"), TestContext.Current.CancellationToken));

        Assert.IsType<AuthenticationException>(error.InnerException);
        Assert.Equal(1, asked);
    }
}
