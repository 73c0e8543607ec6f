using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;

namespace TurboMft.Host.Http;

/// <summary>Reads request bodies so that a transport that fails under them counts as the client's fault, not the server's.</summary>
internal static class RequestBody
{
    /// <summary>
    /// <see cref="Stream.ReadAtLeastAsync(Memory{byte}, int, bool, CancellationToken)"/> on the request body; a connection
    /// that dies mid-body (a killed client cuts a TLS record short: SslStream throws a plain <see cref="IOException"/>)
    /// becomes a 400 <see cref="BadHttpRequestException"/>, which <see cref="ErrorResponses"/> logs as the client's doing.
    /// </summary>
    public static async ValueTask<int> ReadAtLeastAsync(HttpRequest request, Memory<byte> buffer, int minimum, CancellationToken cancellationToken)
    {
        try
        {
            // Not cancelled from outside: a dead connection fails the read itself, whereas cancelling it midway left
            // Kestrel draining a body whose read was still in progress (logged as an error by Kestrel).
            cancellationToken.ThrowIfCancellationRequested();
            return await request.Body.ReadAtLeastAsync(buffer, minimum, throwOnEndOfStream: false, CancellationToken.None).ConfigureAwait(false);
        }
        catch (IOException e) when (e is not BadHttpRequestException)
        {
            throw ClientWentAway(e);
        }
    }

    /// <summary>
    /// Fills <paramref name="destination"/> from the body's <see cref="PipeReader"/> (one copy out of Kestrel's buffers);
    /// false when the body ends first. A connection that dies midway is the client's fault, as in <see cref="ReadAtLeastAsync"/>.
    /// </summary>
    public static async ValueTask<bool> FillAsync(PipeReader body, Memory<byte> destination)
    {
        var filled = 0;
        while (filled < destination.Length)
        {
            ReadResult result;
            try
            {
                result = await body.ReadAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (IOException e) when (e is not BadHttpRequestException)
            {
                throw ClientWentAway(e);
            }

            var buffer = result.Buffer;
            var take = (int)Math.Min(buffer.Length, destination.Length - filled);
            buffer.Slice(0, take).CopyTo(destination.Span[filled..]);
            filled += take;
            body.AdvanceTo(buffer.GetPosition(take));
            if (filled < destination.Length && result.IsCompleted)
            {
                return false;
            }
        }

        return true;
    }

    private static BadHttpRequestException ClientWentAway(IOException e) =>
        new($"The connection failed while the request body was read: {e.Message}", StatusCodes.Status400BadRequest, e);
}
