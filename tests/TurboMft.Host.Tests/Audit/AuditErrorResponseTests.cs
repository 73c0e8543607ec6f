using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TurboMft.Host.Audit;
using TurboMft.Host.Http;

namespace TurboMft.Host.Tests.Audit;

public class AuditErrorResponseTests
{
    [Fact]
    public async Task An_audit_log_that_cannot_be_written_fails_the_request_closed_with_503_and_no_path()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddProblemDetails();
        await using var app = builder.Build();
        app.UseProblemResponses();
        app.MapPut("/v1/files/x", () => Task.FromException<IResult>(new AuditUnavailableException("the audit log in /secret/data/audit could not be written (disk)")));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

        using var client = new HttpClient();
        using var response = await client.PutAsync(new Uri(new Uri(address), "/v1/files/x"), new ByteArrayContent([1]));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        using var problem = JsonDocument.Parse(body);
        Assert.Equal("urn:turbomft:problem:audit-unavailable", problem.RootElement.GetProperty("type").GetString());
        Assert.DoesNotContain("/secret", body, StringComparison.Ordinal);
        await app.StopAsync();
    }
}
