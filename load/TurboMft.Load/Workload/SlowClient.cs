using System.Diagnostics;
using System.Net;
using TurboMft.Load.Recording;
using TurboMft.Load.Target;

namespace TurboMft.Load.Workload;

/// <summary>
/// A client that trickles a one-shot upload body far below the server's minimum data rate (a slowloris). The intended
/// outcome is that the server cuts it off — a 408 answer, or the connection closed under the body — which is recorded as
/// a cut-off with its time, never as an error. A trickle that completes, or that is still running well after the server's
/// grace period, is an error: the protection did not work.
/// </summary>
public sealed class SlowClient(LoadTarget target, Payload payload, LoadRecorder recorder, Version httpVersion) : IDisposable
{
    /// <summary>The first second of a trickle: Kestrel checks data rates once a second, so no cut-off can come sooner.</summary>
    private static readonly TimeSpan EarliestCutOff = TimeSpan.FromSeconds(1);

    private readonly HttpClient _http = target.CreateHttpClient(1, httpVersion);

    /// <summary>
    /// Trickles the first <paramref name="size"/> payload bytes to <paramref name="remotePath"/> at
    /// <paramref name="bytesPerSecond"/> until the server cuts it off or <paramref name="cancellationToken"/> fires; a
    /// trickle cancelled after <paramref name="cutOffExpectedWithin"/> counts as not cut off.
    /// </summary>
    public async Task TrickleAsync(string remotePath, int size, int bytesPerSecond, TimeSpan cutOffExpectedWithin, CancellationToken cancellationToken)
    {
        var content = new TrickleContent(payload.Bytes.AsMemory(0, size), bytesPerSecond);
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Put, TransferClient.FilesUrl(remotePath)) { Content = content };
            using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.RequestTimeout)
            {
                CutOff(started, "408 answer");
            }
            else if (response.IsSuccessStatusCode)
            {
                recorder.Error(Operations.SlowPut, "not cut off (upload completed)");
            }
            else
            {
                recorder.Error(Operations.SlowPut, $"http {(int)response.StatusCode}");
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            if (Stopwatch.GetElapsedTime(started) > cutOffExpectedWithin)
            {
                recorder.Error(Operations.SlowPut, "not cut off (still running at the end)");
            }
            else
            {
                recorder.Outcome("slow trickle running at the end");
            }
        }
        catch (Exception e) when (e is HttpRequestException or IOException && !content.Finished && Stopwatch.GetElapsedTime(started) >= EarliestCutOff)
        {
            CutOff(started, "connection closed under the body");
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            recorder.Error(Operations.SlowPut, FailureKinds.Classify(e));
        }
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    private void CutOff(long started, string how)
    {
        recorder.Latency(Operations.SlowPut, started);
        recorder.Outcome($"{FailureKinds.CutOff}: {how}");
    }

    /// <summary>A request body written a few bytes at a time, ten times a second.</summary>
    private sealed class TrickleContent(ReadOnlyMemory<byte> body, int bytesPerSecond) : HttpContent
    {
        private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(100);
        private volatile bool _finished;

        /// <summary>Whether the whole body was written.</summary>
        public bool Finished => _finished;

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            var step = Math.Max(1, bytesPerSecond / 10);
            for (var at = 0; at < body.Length; at += step)
            {
                await stream.WriteAsync(body.Slice(at, Math.Min(step, body.Length - at)), cancellationToken).ConfigureAwait(false);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                await Task.Delay(Tick, cancellationToken).ConfigureAwait(false);
            }

            _finished = true;
        }

        protected override bool TryComputeLength(out long length)
        {
            length = body.Length;
            return true;
        }
    }
}
