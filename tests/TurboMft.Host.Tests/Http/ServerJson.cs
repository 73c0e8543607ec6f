using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using TurboMft.Engine.Protocol;

namespace TurboMft.Host.Tests.Http;

/// <summary>
/// JSON as the server's endpoints write it (<c>Results.Json</c> with ASP.NET Core's settings, which the server leaves
/// as they are), and the check that an answer reads back into its record and writes again unchanged.
/// </summary>
internal static class ServerJson
{
    private static readonly IServiceProvider Services = new ServiceCollection().AddLogging().BuildServiceProvider();

    /// <summary>The body <paramref name="result"/> writes to a response.</summary>
    public static async Task<string> WriteAsync(IResult result)
    {
        var context = new DefaultHttpContext { RequestServices = Services };
        using var body = new MemoryStream();
        context.Response.Body = body;
        await result.ExecuteAsync(context);
        return Encoding.UTF8.GetString(body.ToArray());
    }

    /// <summary>What <c>Results.Json(value)</c> writes.</summary>
    public static Task<string> WriteAsync<T>(T value) => WriteAsync(Results.Json(value));

    /// <summary>
    /// Reads <paramref name="answer"/> as the client does (<see cref="ProtocolJson.Options"/>) into <typeparamref name="T"/>
    /// and asserts that the server writes the record back byte for byte: no property lost, added, renamed or reordered.
    /// </summary>
    public static async Task<T> AssertRoundTripAsync<T>(string answer)
    {
        var parsed = JsonSerializer.Deserialize<T>(answer, ProtocolJson.Options);
        Assert.NotNull(parsed);
        Assert.Equal(answer, await WriteAsync(parsed));
        return parsed;
    }
}
