using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using TurboMft.Engine.Protocol;
using TurboMft.Load.Recording;
using TurboMft.Load.Target;

namespace TurboMft.Load.Workload;

/// <summary>How one simulated client talks to the server.</summary>
/// <param name="ChunksInFlight">Chunk PUTs or range GETs one client has in flight (the reference client's <c>--connections</c>, default 4).</param>
/// <param name="HttpVersion">HTTP/1.1 (one connection per chunk in flight) or HTTP/2 (streams on one connection).</param>
/// <param name="RequestTimeout">Longest wait for one request's complete answer before it counts as a timeout.</param>
public sealed record ClientProfile(int ChunksInFlight, Version HttpVersion, TimeSpan RequestTimeout);

/// <summary>
/// One simulated client speaking the chunk protocol of docs/protocol.md as the reference client does, with every request
/// timed into a <see cref="LoadRecorder"/>: uploads smaller than a chunk as one-shot <c>PUT /v1/files</c> with
/// <c>Repr-Digest</c>, larger ones through a session (open, chunk PUTs with <c>TMF-Chunk-CRC64</c>, N in flight,
/// complete); downloads as HEAD plus chunk-aligned range GETs, N in flight, each compared byte for byte with what was
/// uploaded. Nothing is retried: every failure is counted. It has its own connection pool.
/// </summary>
public sealed class TransferClient : IDisposable
{
    private const string ProblemPrefix = "urn:turbomft:problem:";
    private const int ReadBlock = 64 * 1024;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly HttpClient _http;
    private readonly Payload _payload;
    private readonly ClientProfile _profile;

    /// <summary>
    /// Creates a client of <paramref name="target"/> recording into <paramref name="recorder"/>; <paramref name="connected"/>
    /// and <paramref name="closed"/>, when given, are told of each connection it opens and closes.
    /// </summary>
    public TransferClient(LoadTarget target, Payload payload, LoadRecorder recorder, ClientProfile profile, Action? connected = null, Action? closed = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(profile);
        _payload = payload;
        Recorder = recorder;
        _profile = profile;
        _http = target.CreateHttpClient(profile.ChunksInFlight, profile.HttpVersion, connected, closed);
    }

    /// <summary>Where requests are recorded (idle connections are opened under one recorder and measured under the run's).</summary>
    public LoadRecorder Recorder { get; set; }

    /// <summary>The URL path of a remote file (paths made by the driver are plain ASCII).</summary>
    public static string FilesUrl(string remotePath) => "v1/files" + remotePath;

    /// <summary>Uploads the first <paramref name="size"/> bytes of the payload to <paramref name="remotePath"/>; returns the commit's release state.</summary>
    public async Task<string> UploadAsync(string remotePath, int size, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var state = size < _payload.ChunkSize
            ? await OneShotAsync(remotePath, size, cancellationToken).ConfigureAwait(false)
            : await SessionAsync(remotePath, size, cancellationToken).ConfigureAwait(false);
        Recorder.Latency(Operations.Upload, started);
        Recorder.Outcome("commit " + state);
        Recorder.OperationCompleted();
        return state;
    }

    /// <summary>Downloads <paramref name="remotePath"/>, which must hold the first <paramref name="size"/> bytes of the payload.</summary>
    public async Task DownloadAsync(string remotePath, int size, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var url = FilesUrl(remotePath);
        var (length, chunkSize) = await RequestAsync(
            Operations.Head,
            () => new HttpRequestMessage(HttpMethod.Head, url),
            (response, _) =>
            {
                var chunk = response.Headers.TryGetValues(ProtocolHeaders.ChunkSize, out var values) && int.TryParse(values.FirstOrDefault(), out var c) ? c : 0;
                return Task.FromResult((response.Content.Headers.ContentLength ?? -1, chunk));
            },
            cancellationToken).ConfigureAwait(false);
        if (length != size || chunkSize <= 0)
        {
            throw new OperationFailedException(Operations.Head, new ContentMismatchException($"{remotePath} is {length} bytes in chunks of {chunkSize}, not the {size} bytes uploaded"));
        }

        var chunks = (size + chunkSize - 1) / chunkSize;
        await ForEachChunkAsync(chunks, async (index, token) =>
        {
            var offset = (int)index * chunkSize;
            var count = Math.Min(chunkSize, size - offset);
            await RequestAsync(
                Operations.RangeGet,
                () =>
                {
                    var request = new HttpRequestMessage(HttpMethod.Get, url);
                    request.Headers.Range = new RangeHeaderValue(offset, offset + count - 1);
                    return request;
                },
                (response, t) => CompareBodyAsync(response, offset, count, remotePath, t),
                token,
                HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
            Recorder.Downloaded(count);
        }, cancellationToken).ConfigureAwait(false);
        Recorder.Latency(Operations.Download, started);
        Recorder.OperationCompleted();
    }

    /// <summary>
    /// Deletes <paramref name="remotePath"/>, untimed and unrecorded (clean-up after a run); false when the server refused
    /// or could not be reached.
    /// </summary>
    public async Task<bool> DeleteAsync(string remotePath, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _http.DeleteAsync(FilesUrl(remotePath), cancellationToken).ConfigureAwait(false);
            return response.IsSuccessStatusCode || response.StatusCode == HttpStatusCode.NotFound;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    /// <summary>The release state of <paramref name="remotePath"/>'s current version, from an untimed HEAD (<c>TMF-Release-State</c>).</summary>
    public async Task<string> ReleaseStateAsync(string remotePath, CancellationToken cancellationToken)
    {
        using var response = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, FilesUrl(remotePath)), cancellationToken).ConfigureAwait(false);
        return response.IsSuccessStatusCode ? "released"
            : response.Headers.TryGetValues(ProtocolHeaders.ReleaseState, out var state) ? state.First()
            : $"answered {(int)response.StatusCode}";
    }

    /// <summary>
    /// Sends <c>GET</c> <paramref name="path"/> and reads the answer, timed as <paramref name="operation"/> (the idle
    /// connections' cheap authenticated request).
    /// </summary>
    public Task<bool> GetAsync(string operation, string path, CancellationToken cancellationToken) => RequestAsync(
        operation,
        () => new HttpRequestMessage(HttpMethod.Get, path),
        async (response, token) =>
        {
            await response.Content.ReadAsByteArrayAsync(token).ConfigureAwait(false);
            return true;
        },
        cancellationToken);

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    private async Task<string> OneShotAsync(string remotePath, int size, CancellationToken cancellationToken)
    {
        var commit = await RequestAsync(
            Operations.OneShotPut,
            () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Put, FilesUrl(remotePath)) { Content = new ByteArrayContent(_payload.Bytes, 0, size) };
                request.Headers.TryAddWithoutValidation(ProtocolHeaders.ReprDigest, _payload.ReprDigest(size));
                return request;
            },
            ReadJsonAsync<CommitAnswer>,
            cancellationToken).ConfigureAwait(false);
        if (commit.Size != size || !string.Equals(commit.Sha256, _payload.Sha256(size), StringComparison.OrdinalIgnoreCase))
        {
            throw new OperationFailedException(Operations.OneShotPut, new ContentMismatchException($"{remotePath} was committed as {commit.Size} bytes with {commit.Sha256}, not {size} bytes with {_payload.Sha256(size)}"));
        }

        Recorder.Uploaded(size);
        return commit.State ?? "released";
    }

    private async Task<string> SessionAsync(string remotePath, int size, CancellationToken cancellationToken)
    {
        var chunkSize = _payload.ChunkSize;
        var session = await RequestAsync(
            Operations.SessionOpen,
            () => new HttpRequestMessage(HttpMethod.Post, "v1/uploads") { Content = JsonContent.Create(new { path = remotePath, size, chunkSize, verify = "fast" }, options: Json) },
            ReadJsonAsync<SessionAnswer>,
            cancellationToken).ConfigureAwait(false);
        try
        {
            var chunks = (size + chunkSize - 1) / chunkSize;
            await ForEachChunkAsync(chunks, async (index, token) =>
            {
                var body = _payload.Chunk(size, index);
                await RequestAsync(
                    Operations.ChunkPut,
                    () =>
                    {
                        var request = new HttpRequestMessage(HttpMethod.Put, $"v1/uploads/{session.Id}/chunks/{index}") { Content = new ByteArrayContent(body.Array, body.Offset, body.Count) };
                        request.Headers.TryAddWithoutValidation(ProtocolHeaders.ChunkCrc64, body.Crc);
                        if (body.Lz4)
                        {
                            request.Content.Headers.ContentEncoding.Add(ProtocolHeaders.Lz4BlockCoding);
                        }

                        return request;
                    },
                    (_, _) => Task.FromResult(true),
                    token).ConfigureAwait(false);
                Recorder.Uploaded(body.PlainLength);
            }, cancellationToken).ConfigureAwait(false);
            var commit = await RequestAsync(
                Operations.Complete,
                () => new HttpRequestMessage(HttpMethod.Post, $"v1/uploads/{session.Id}/complete") { Content = JsonContent.Create(new { }, options: Json) },
                ReadJsonAsync<CommitAnswer>,
                cancellationToken).ConfigureAwait(false);
            return commit.Size == size
                ? commit.State ?? "released"
                : throw new OperationFailedException(Operations.Complete, new ContentMismatchException($"{remotePath} was committed as {commit.Size} bytes, not {size}"));
        }
        catch
        {
            // A session left open would hold its staging file until it expires: abort it, untimed and unrecorded.
            using var abort = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                using var response = await _http.DeleteAsync($"v1/uploads/{session.Id}", abort.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
            {
                // The failure being reported matters more than this clean-up.
            }

            throw;
        }
    }

    /// <summary>Runs <paramref name="body"/> for every chunk index on up to <see cref="ClientProfile.ChunksInFlight"/> workers; the first failure stops the rest.</summary>
    private Task ForEachChunkAsync(long count, Func<long, CancellationToken, Task> body, CancellationToken cancellationToken) =>
        Parallel.ForAsync(0L, count, new ParallelOptions { MaxDegreeOfParallelism = _profile.ChunksInFlight, CancellationToken = cancellationToken }, (index, token) => new ValueTask(body(index, token)));

    /// <summary>
    /// Sends one request and reads its answer under the per-request timeout, recording its latency as
    /// <paramref name="operation"/> when it succeeds. Failures come out as <see cref="OperationFailedException"/>; a
    /// cancellation by <paramref name="cancellationToken"/> (the run ended) as <see cref="OperationCanceledException"/>.
    /// </summary>
    private async Task<T> RequestAsync<T>(
        string operation,
        Func<HttpRequestMessage> build,
        Func<HttpResponseMessage, CancellationToken, Task<T>> read,
        CancellationToken cancellationToken,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_profile.RequestTimeout);
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var request = build();
            using var response = await _http.SendAsync(request, completion, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new ServerAnswerException(operation, (int)response.StatusCode, await ProblemTypeAsync(response, timeout.Token).ConfigureAwait(false));
            }

            var result = await read(response, timeout.Token).ConfigureAwait(false);
            Recorder.Latency(operation, started);
            return result;
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new OperationFailedException(operation, new RequestTimeoutException(operation, _profile.RequestTimeout, e));
        }
        catch (Exception e) when (e is not OperationCanceledException and not OperationFailedException)
        {
            throw new OperationFailedException(operation, e);
        }
    }

    private async Task<bool> CompareBodyAsync(HttpResponseMessage response, int offset, int count, string remotePath, CancellationToken cancellationToken)
    {
        if (response.StatusCode != HttpStatusCode.PartialContent)
        {
            throw new ContentMismatchException($"a range GET of {remotePath} was answered {(int)response.StatusCode}, not 206");
        }

        var block = ArrayPool<byte>.Shared.Rent(ReadBlock);
        try
        {
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                var at = 0;
                int read;
                while ((read = await stream.ReadAsync(block.AsMemory(0, ReadBlock), cancellationToken).ConfigureAwait(false)) > 0)
                {
                    if (at + read > count || !block.AsSpan(0, read).SequenceEqual(_payload.Bytes.AsSpan(offset + at, read)))
                    {
                        throw new ContentMismatchException($"bytes {offset + at}–{offset + at + read - 1} of {remotePath} differ from what was uploaded");
                    }

                    at += read;
                }

                return at == count ? true : throw new ContentMismatchException($"a range GET of {remotePath} at {offset} gave {at} bytes, not {count}");
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(block);
        }
    }

    private static async Task<T> ReadJsonAsync<T>(HttpResponseMessage response, CancellationToken cancellationToken) =>
        await response.Content.ReadFromJsonAsync<T>(Json, cancellationToken).ConfigureAwait(false)
        ?? throw new ContentMismatchException($"an empty answer to {response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.AbsolutePath}");

    private static async Task<string?> ProblemTypeAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
        {
            return response.Headers.TryGetValues(ProtocolHeaders.ReleaseState, out var state) ? "state " + state.FirstOrDefault() : null;
        }

        try
        {
            using var document = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), cancellationToken: cancellationToken).ConfigureAwait(false);
            var type = document.RootElement.TryGetProperty("type", out var t) ? t.GetString() : null;
            return type is not null && type.StartsWith(ProblemPrefix, StringComparison.Ordinal) ? type[ProblemPrefix.Length..] : type;
        }
        catch (Exception e) when (e is JsonException or IOException or HttpRequestException)
        {
            return null;
        }
    }

    /// <summary>What a commit answers (docs/protocol.md): size, the whole-file SHA-256 for one-shot uploads, and the release state.</summary>
    private sealed record CommitAnswer(long Size, string? Sha256, string? State);

    /// <summary>What opening a session answers.</summary>
    private sealed record SessionAnswer(string Id);
}
