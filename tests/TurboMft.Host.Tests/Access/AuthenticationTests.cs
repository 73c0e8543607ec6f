using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using TurboMft.Host.Http;
using TurboMft.Host.Tests.Server;

namespace TurboMft.Host.Tests.Access;

/// <summary>The one authentication path against a real server: what is anonymous, what is refused and how.</summary>
public sealed class AuthenticationTests : IAsyncLifetime
{
    private ServerFixture _server = null!;

    public async ValueTask InitializeAsync() => _server = await ServerFixture.StartAsync();

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public void Every_endpoint_declares_its_permission_or_is_explicitly_anonymous()
    {
        var endpoints = _server.Server.Services.GetRequiredService<EndpointDataSource>().Endpoints;
        Assert.NotEmpty(endpoints);
        var undeclared = endpoints
            .Where(e => e.Metadata.GetMetadata<RequiredPermission>() is null && e.Metadata.GetMetadata<AnonymousAccess>() is null)
            .Select(e => e.DisplayName)
            .ToList();
        Assert.Empty(undeclared);
        var anonymous = endpoints.Where(e => e.Metadata.GetMetadata<AnonymousAccess>() is not null).Select(e => ((RouteEndpoint)e).RoutePattern.RawText).Order().ToList();
        Assert.Equal(["/healthz", "/readyz", "/v1/auth/token"], anonymous);
    }

    [Theory]
    [InlineData("GET", "/v1/info")]
    [InlineData("GET", "/v1/files")]
    [InlineData("GET", "/v1/files/a.bin")]
    [InlineData("HEAD", "/v1/files/a.bin")]
    [InlineData("PUT", "/v1/files/a.bin")]
    [InlineData("DELETE", "/v1/files/a.bin")]
    [InlineData("POST", "/v1/uploads")]
    [InlineData("GET", "/v1/audit")]
    [InlineData("GET", "/v1/admin/users")]
    [InlineData("GET", "/v1/quarantine")]
    [InlineData("DELETE", "/v1/quarantine/0193a1b2-0000-7000-8000-000000000001")]
    [InlineData("GET", "/v1/approvals")]
    [InlineData("POST", "/v1/approvals/0193a1b2-0000-7000-8000-000000000001/approve")]
    [InlineData("GET", "/openapi/v1.json")]
    [InlineData("GET", "/no/such/route")]
    [InlineData("POST", "/v1/files/a.bin")]
    public async Task Without_credentials_every_route_but_healthz_is_401(string method, string path)
    {
        using var anonymous = ServerFixture.CreateClient(_server.Server.Fingerprint, null, HttpVersion.Version11);
        using var request = new HttpRequestMessage(new HttpMethod(method), _server.Url(path));
        using var response = await anonymous.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        if (method != "HEAD")
        {
            await UploadProtocolTests.AssertProblemAsync(response, HttpStatusCode.Unauthorized, "unauthorized");
        }
    }

    [Theory]
    [InlineData("POST", "/v1/files/a.bin", "DELETE, GET, HEAD, PUT")]
    [InlineData("PATCH", "/v1/uploads", "POST")]
    [InlineData("PUT", "/v1/info", "GET")]
    public async Task A_method_a_route_does_not_map_is_405_with_allow_not_a_denial(string method, string path, string allowed)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), _server.Url(path)) { Content = new ByteArrayContent([1, 2, 3]) };
        using var response = await _server.Client.SendAsync(request);
        var problem = await UploadProtocolTests.AssertProblemAsync(response, HttpStatusCode.MethodNotAllowed, "method-not-allowed");
        Assert.Equal(allowed, string.Join(", ", response.Content.Headers.Allow.Order(StringComparer.Ordinal)));
        Assert.Contains(method, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Healthz_is_anonymous_and_says_nothing_about_the_version()
    {
        using var anonymous = ServerFixture.CreateClient(_server.Server.Fingerprint, null, HttpVersion.Version11);
        Assert.Equal("ok\n", await anonymous.GetStringAsync(_server.Url("/healthz")));
    }

    [Theory]
    [InlineData("Basic")]
    [InlineData("Token")]
    [InlineData("bearer-ish")]
    public async Task The_admin_token_under_any_other_scheme_is_refused(string scheme)
    {
        using var client = ServerFixture.CreateClient(_server.Server.Fingerprint, null, HttpVersion.Version11);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(scheme, _server.Token);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync(_server.Url("/v1/info"))).StatusCode);
    }

    [Fact]
    public async Task Two_authorization_headers_are_refused_even_if_one_is_good()
    {
        using var client = ServerFixture.CreateClient(_server.Server.Fingerprint, null, HttpVersion.Version11);
        using var request = new HttpRequestMessage(HttpMethod.Get, _server.Url("/v1/info"));
        request.Headers.TryAddWithoutValidation("Authorization", ["Bearer " + _server.Token, "Bearer tmf_wrong"]);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task Forwarded_and_internal_headers_grant_nothing()
    {
        using var client = ServerFixture.CreateClient(_server.Server.Fingerprint, null, HttpVersion.Version11);
        using var request = new HttpRequestMessage(HttpMethod.Get, _server.Url("/v1/files"));
        request.Headers.TryAddWithoutValidation("X-Forwarded-For", "127.0.0.1");
        request.Headers.TryAddWithoutValidation("X-Real-IP", "127.0.0.1");
        request.Headers.TryAddWithoutValidation("X-Remote-User", "admin");
        request.Headers.TryAddWithoutValidation("X-siLock-Comment", "admin");
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task The_first_start_admin_token_works_over_http2_too()
    {
        using var client = ServerFixture.CreateClient(_server.Server.Fingerprint, _server.Token, HttpVersion.Version20);
        using var response = await client.GetAsync(_server.Url("/v1/info"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpVersion.Version20, response.Version);
    }
}
