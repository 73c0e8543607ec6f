using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Http;

/// <summary>
/// Reads the small JSON bodies of the admin, auth, release and replication routes into plain records (no polymorphism),
/// with a size limit; a body too large or malformed is refused as <c>invalid-request</c> naming the expected shape.
/// </summary>
internal static class JsonBody
{
    /// <summary>Reads <typeparamref name="T"/>; with <paramref name="whenEmpty"/>, an empty or non-JSON body without length is that value.</summary>
    /// <exception cref="InvalidBodyException">The body is larger than <paramref name="maxBytes"/> or not JSON of the shape.</exception>
    public static async Task<T> ReadAsync<T>(HttpContext context, string shape, int maxBytes, CancellationToken cancellationToken, T? whenEmpty = null)
        where T : class
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = maxBytes;
        }

        var request = context.Request;
        if (request.ContentLength > maxBytes)
        {
            throw new InvalidBodyException($"The body is larger than {maxBytes} bytes.");
        }

        if (whenEmpty is not null && (request.ContentLength == 0 || (request.ContentLength is null && !request.HasJsonContentType())))
        {
            return whenEmpty;
        }

        try
        {
            return await request.ReadFromJsonAsync<T>(cancellationToken).ConfigureAwait(false)
                ?? whenEmpty
                ?? throw new InvalidBodyException($"The body must be JSON: {shape}.");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new InvalidBodyException($"The body must be JSON: {shape}.", e);
        }
    }
}

/// <summary>A request body that is too large or not the JSON its route reads: <c>invalid-request</c>, 400.</summary>
internal sealed class InvalidBodyException(string message, Exception? inner = null) : Exception(message, inner), IRefusal
{
    /// <inheritdoc/>
    public string ProblemType => "invalid-request";

    /// <inheritdoc/>
    public int Status => StatusCodes.Status400BadRequest;
}
