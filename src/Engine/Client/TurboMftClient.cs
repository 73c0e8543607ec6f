using System.Diagnostics;
using System.IO.Hashing;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Text.Json;
using TurboMft.Engine.Buffers;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Pipeline;
using TurboMft.Engine.Protocol;

namespace TurboMft.Engine.Client;

/// <summary>
/// The TurboMft HTTP client (docs/protocol.md): parallel, resumable, verified uploads and ranged downloads over TLS 1.3,
/// with N chunks in flight on N HTTP/1.1 connections or HTTP/2 streams. Thread-safe; dispose to close connections.
/// </summary>
public sealed partial class TurboMftClient : IDisposable
{
    private static readonly JsonSerializerOptions Json = ProtocolJson.Options;
    private readonly TurboMftClientOptions _options;
    private readonly ServerTrust _trust;
    private readonly HttpClient _http;
    private readonly ResumeStore _resume;
    private readonly Lazy<ChunkBufferPool> _uploadPool;
    private readonly Lazy<ChunkBufferPool> _batchPool;
    private readonly Dictionary<int, ChunkBufferPool> _pools = [];

    /// <summary>Creates a client; throws <see cref="ArgumentException"/> for settings that cannot work.</summary>
    public TurboMftClient(TurboMftClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _trust = ServerTrust.From(options);
        _resume = new ResumeStore(options.ResumeDirectory);
        var handler = ClientHandlers.Create(options.Connections, _trust.Validate, options.ClientCertificate);
        _http = new HttpClient(handler)
        {
            BaseAddress = options.BaseAddress,
            Timeout = Timeout.InfiniteTimeSpan,
            DefaultRequestVersion = options.HttpVersion,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        if (!string.IsNullOrWhiteSpace(options.Token))
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.Token);
        }
        _uploadPool = new Lazy<ChunkBufferPool>(() => new ChunkBufferPool(ChunkSender.BufferSizeFor(options.ChunkSize), 2 * options.Connections));
        _batchPool = new Lazy<ChunkBufferPool>(() => new ChunkBufferPool(BatchContent.BufferSizeFor(options.ChunkSize), options.Connections));
    }

    /// <summary>The settings in use.</summary>
    public TurboMftClientOptions Options => _options;

    /// <summary>
    /// Uploads one file through a resumable session: chunks read, hashed and compressed on <see cref="TurboMftClientOptions.Connections"/>
    /// workers; chunks the server already holds from an earlier run are skipped. Every chunk's CRC-64/NVME is checked by the
    /// server; with <see cref="TransferVerify.Sha256"/> the client also computes the <c>sha256-tree</c> and the committed
    /// digest must equal it, while <see cref="TransferVerify.Fast"/> leaves SHA-256 to the server (docs/protocol.md, "Verification").
    /// The result's <see cref="TransferResult.State"/> says whether the server released the file or holds it pending a scan
    /// or an approval; a quarantined file is a <see cref="FileQuarantinedException"/>.
    /// </summary>
    public async Task<TransferResult> UploadFileAsync(string localPath, string remotePath, IProgress<TransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(localPath);
        var size = new FileInfo(localPath) is { Exists: true } info ? info.Length : 0;
        return ThrowIfQuarantined(await UploadSessionAsync(localPath, RemotePaths.Normalize(remotePath), new TransferProgressTracker(size, 1, progress), cancellationToken).ConfigureAwait(false));
    }

    /// <summary>
    /// Uploads many files: those smaller than one chunk in batch uploads (<see cref="TurboMftClientOptions.BatchFiles"/> files
    /// a request, N requests at once; by one-shot PUTs, N at once, where the server has no batch upload or batching is off);
    /// larger ones one after another through sessions (each with N chunks in flight). Every file is verified. Files the
    /// server holds back are in <see cref="TransferResult.Held"/>; if any was quarantined, a
    /// <see cref="FileQuarantinedException"/> naming them all is thrown after every file was sent.
    /// </summary>
    public async Task<TransferResult> PushAsync(IReadOnlyList<TransferItem> items, IProgress<TransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        var started = Stopwatch.GetTimestamp();
        var sized = items.Select(i => (Item: i, Size: new FileInfo(i.LocalPath).Length)).ToList();
        var tracker = new TransferProgressTracker(sized.Sum(s => s.Size), sized.Count, progress);
        var total = new TransferResult();
        var gate = new Lock();
        var small = sized.Where(s => s.Size < _options.ChunkSize).ToList();
        var limits = small.Count > 1 ? await BatchLimitsAsync(cancellationToken).ConfigureAwait(false) : null;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = _options.Connections, CancellationToken = cancellationToken };
        if (limits is { } batch)
        {
            await Parallel.ForEachAsync(
                PlanBatches(small.Where(s => s.Size <= batch.MaxFileSize), batch.MaxFiles),
                parallel,
                async (files, token) =>
                {
                    var result = await UploadBatchAsync(files, tracker, token).ConfigureAwait(false);
                    lock (gate)
                    {
                        total = total.Plus(result);
                    }
                }).ConfigureAwait(false);
            small.RemoveAll(s => s.Size <= batch.MaxFileSize);
        }

        await Parallel.ForEachAsync(
            small,
            parallel,
            async (file, token) =>
            {
                var result = await UploadSmallAsync(file.Item.LocalPath, RemotePaths.Normalize(file.Item.RemotePath), tracker, token).ConfigureAwait(false);
                lock (gate)
                {
                    total = total.Plus(result);
                }
            }).ConfigureAwait(false);
        foreach (var (item, _) in sized.Where(s => s.Size >= _options.ChunkSize))
        {
            total = total.Plus(await UploadSessionAsync(item.LocalPath, RemotePaths.Normalize(item.RemotePath), tracker, cancellationToken).ConfigureAwait(false));
        }

        return ThrowIfQuarantined(total with { Seconds = Stopwatch.GetElapsedTime(started).TotalSeconds });
    }

    /// <summary>
    /// Downloads the current version of <paramref name="remotePath"/> with parallel chunk-aligned range requests into
    /// <c>&lt;localPath&gt;.tmf-partial</c>, verifies every chunk (<see cref="TurboMftClientOptions.Verify"/>: its CRC-64
    /// against the server's, or its SHA-256) and the <c>sha256-tree</c> against the server's <c>TMF-Digest</c>, then renames.
    /// </summary>
    public Task<TransferResult> DownloadFileAsync(string remotePath, string localPath, IProgress<TransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(localPath);
        return DownloadAsync(RemotePaths.Normalize(remotePath), localPath, null, new TransferProgressTracker(0, 1, progress), cancellationToken);
    }

    /// <summary>
    /// Downloads many files, each verified as by <see cref="DownloadFileAsync"/>: those the listing shows as one chunk by a
    /// single GET each (no HEAD), <see cref="TurboMftClientOptions.Connections"/> at once; larger ones one after another,
    /// each with N ranges in flight. <paramref name="listed"/> gives sizes and chunk sizes (from <see cref="ListAsync"/>);
    /// an item it does not name is asked for with HEAD first.
    /// </summary>
    public async Task<TransferResult> PullAsync(IReadOnlyList<TransferItem> items, IReadOnlyList<RemoteFile> listed, IProgress<TransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(listed);
        var started = Stopwatch.GetTimestamp();
        var byPath = listed.ToDictionary(f => f.Path, StringComparer.Ordinal);
        var planned = items.Select(i => (Item: i, Listed: byPath.GetValueOrDefault(RemotePaths.Normalize(i.RemotePath)))).ToList();
        var tracker = new TransferProgressTracker(planned.Sum(p => p.Listed?.Size ?? 0), planned.Count, progress);
        var total = new TransferResult();
        var gate = new Lock();
        var small = planned.Where(p => IsOneChunk(p.Listed)).ToList();
        await Parallel.ForEachAsync(
            small,
            new ParallelOptions { MaxDegreeOfParallelism = _options.Connections, CancellationToken = cancellationToken },
            async (file, token) =>
            {
                var result = await DownloadAsync(file.Listed!.Path, file.Item.LocalPath, file.Listed, tracker, token).ConfigureAwait(false);
                lock (gate)
                {
                    total = total.Plus(result);
                }
            }).ConfigureAwait(false);
        foreach (var (item, remote) in planned.Where(p => !IsOneChunk(p.Listed)))
        {
            total = total.Plus(await DownloadAsync(RemotePaths.Normalize(item.RemotePath), item.LocalPath, remote, tracker, cancellationToken).ConfigureAwait(false));
        }

        return total with { Seconds = Stopwatch.GetElapsedTime(started).TotalSeconds };
    }

    private static bool IsOneChunk(RemoteFile? listed) => listed is { Size: > 0 } f && f.Size <= f.ChunkSize;

    /// <summary>
    /// One file into <c>&lt;localPath&gt;.tmf-partial</c>, renamed once verified: a file <paramref name="listed"/> shows as one
    /// chunk by a single GET (its headers describe the version), any other after a HEAD, by ranges on N workers.
    /// </summary>
    private async Task<TransferResult> DownloadAsync(string remote, string localPath, RemoteFile? listed, TransferProgressTracker tracker, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var url = FilesUrl(remote);
        var target = Path.GetFullPath(localPath);
        var partial = target + ".tmf-partial";
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var done = false;
        try
        {
            var (head, digest) = IsOneChunk(listed)
                ? await ReceiveOneChunkAsync(remote, url, listed!, partial, tracker, cancellationToken).ConfigureAwait(false)
                : await ReceiveRangesAsync(remote, url, partial, tracker, countSize: listed is null, cancellationToken).ConfigureAwait(false);
            if (digest != head.Digest)
            {
                throw new TransferVerificationException(remote, head.Digest, digest, "the downloaded bytes do not hash to the server's TMF-Digest; the partial file was deleted");
            }

            File.Move(partial, target, overwrite: true);
            done = true;
            tracker.FileDone();
            return new TransferResult
            {
                Bytes = head.Size,
                BytesSent = head.Size,
                Files = 1,
                Chunks = new ChunkGeometry(head.Size, head.ChunkSize).ChunkCount,
                Seconds = Stopwatch.GetElapsedTime(started).TotalSeconds,
                Digest = digest.ToString(),
            };
        }
        finally
        {
            if (!done)
            {
                File.Delete(partial);
            }
        }
    }

    private async Task<(RemoteVersion Head, FileDigest Digest)> ReceiveOneChunkAsync(
        string remote, string url, RemoteFile listed, string partial, TransferProgressTracker tracker, CancellationToken cancellationToken)
    {
        using var receiver = new RangeReceiver();
        using var file = File.OpenHandle(partial, FileMode.Create, FileAccess.Write, FileShare.None, FileOptions.None, listed.Size);
        var (head, sha) = await SendAsync(
            () => new HttpRequestMessage(HttpMethod.Get, url),
            async (response, token) =>
            {
                var version = RemoteVersion.From(remote, response);
                if (version.Size != listed.Size || version.Size > version.ChunkSize)
                {
                    throw new TransferException($"'{remote}' changed on the server during the pull ({listed.Size} bytes listed, {version.Size} served); run the pull again.");
                }

                return (version, await ReadRangeAsync(response, version, 0, _options.Verify, receiver, file, 0, (int)version.Size, token).ConfigureAwait(false));
            },
            cancellationToken,
            HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        RandomAccess.FlushToDisk(file);
        tracker.AddBytes(head.Size);
        var tree = new TreeDigestBuilder(new ChunkGeometry(head.Size, head.ChunkSize));
        tree.SetChunkDigest(0, sha);
        return (head, tree.Finish());
    }

    private async Task<(RemoteVersion Head, FileDigest Digest)> ReceiveRangesAsync(
        string remote, string url, string partial, TransferProgressTracker tracker, bool countSize, CancellationToken cancellationToken)
    {
        var head = await SendAsync(() => new HttpRequestMessage(HttpMethod.Head, url), (response, _) => Task.FromResult(RemoteVersion.From(remote, response)), cancellationToken).ConfigureAwait(false);
        var geometry = new ChunkGeometry(head.Size, head.ChunkSize);
        var tree = new TreeDigestBuilder(geometry);
        if (countSize)
        {
            tracker.AddTotal(head.Size);
        }

        using var file = File.OpenHandle(partial, FileMode.Create, FileAccess.Write, FileShare.None, FileOptions.None, head.Size);
        await BoundedWorkers.RunAsync(
            geometry.ChunkCount,
            _options.Connections,
            _ => new RangeReceiver(),
            async (receiver, index, token) =>
            {
                var offset = geometry.OffsetOf(index);
                var length = geometry.LengthOf(index);
                var sha = await SendAsync(
                    () =>
                    {
                        var request = new HttpRequestMessage(HttpMethod.Get, url);
                        request.Headers.Range = new RangeHeaderValue(offset, offset + length - 1);
                        return request;
                    },
                    (response, t) => ReadRangeAsync(response, head, index, _options.Verify, receiver, file, offset, length, t),
                    token,
                    HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
                tree.SetChunkDigest(index, sha);
                tracker.AddBytes(length);
            },
            cancellationToken).ConfigureAwait(false);
        RandomAccess.FlushToDisk(file);
        return (head, tree.Finish());
    }

    /// <summary>Lists the current versions under <paramref name="prefix"/> (segment-wise; <c>/</c> for everything).</summary>
    public Task<IReadOnlyList<RemoteFile>> ListAsync(string prefix, CancellationToken cancellationToken = default)
    {
        var url = "v1/files?prefix=" + Uri.EscapeDataString(RemotePaths.Normalize(prefix));
        return SendAsync(
            () => new HttpRequestMessage(HttpMethod.Get, url),
            async (response, token) => ServerAnswers.ReadListing(await response.Content.ReadAsByteArrayAsync(token).ConfigureAwait(false)),
            cancellationToken);
    }

    /// <summary>Deletes the file at <paramref name="remotePath"/>.</summary>
    public Task DeleteAsync(string remotePath, CancellationToken cancellationToken = default)
    {
        var url = FilesUrl(RemotePaths.Normalize(remotePath));
        return SendAsync(() => new HttpRequestMessage(HttpMethod.Delete, url), (_, _) => Task.FromResult(true), cancellationToken);
    }

    /// <summary>The server's <c>GET /v1/info</c> document (version, TLS, QUIC state, limits).</summary>
    public Task<JsonElement> InfoAsync(CancellationToken cancellationToken = default) => SendAsync(
        () => new HttpRequestMessage(HttpMethod.Get, "v1/info"),
        async (response, token) => ServerAnswers.ReadInfo(await response.Content.ReadAsByteArrayAsync(token).ConfigureAwait(false)),
        cancellationToken);

    /// <summary>
    /// Sends one JSON request (<paramref name="body"/> serialised with the Web defaults, none when null) and reads a JSON
    /// answer into <typeparamref name="T"/>; an empty answer (204) gives default. For <see cref="TurboMftAdminClient"/>.
    /// </summary>
    internal Task<T?> SendJsonAsync<T>(HttpMethod method, string url, object? body, CancellationToken cancellationToken) => SendAsync(
        () => new HttpRequestMessage(method, url) { Content = body is null ? null : JsonContent.Create(body, body.GetType(), options: Json) },
        async (response, token) => response.StatusCode == HttpStatusCode.NoContent || response.Content.Headers.ContentLength == 0
            ? default
            : await response.Content.ReadFromJsonAsync<T>(Json, token).ConfigureAwait(false),
        cancellationToken);

    /// <inheritdoc />
    public void Dispose()
    {
        _http.Dispose();
        _trust.Dispose();
        if (_uploadPool.IsValueCreated)
        {
            _uploadPool.Value.Dispose();
        }

        if (_batchPool.IsValueCreated)
        {
            _batchPool.Value.Dispose();
        }

        lock (_pools)
        {
            foreach (var pool in _pools.Values)
            {
                pool.Dispose();
            }
        }
    }

    private static string FilesUrl(string remote) => "v1/files" + RemotePaths.ToUrlPath(remote);

    /// <summary>One chunk PUT; the body is the pooled buffer itself, so a retry builds a new request over the same bytes.</summary>
    private static HttpRequestMessage ChunkRequest(string uploadId, long index, byte[] array, int offset, int count, string crc, bool lz4, string? reprDigest)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, $"v1/uploads/{uploadId}/chunks/{index}") { Content = new ByteArrayContent(array, offset, count) };
        request.Headers.TryAddWithoutValidation(Protocol.ProtocolHeaders.ChunkCrc64, crc);
        if (lz4)
        {
            request.Content.Headers.ContentEncoding.Add(Protocol.ProtocolHeaders.Lz4BlockCoding);
        }

        if (reprDigest is not null)
        {
            request.Headers.TryAddWithoutValidation(Protocol.ProtocolHeaders.ReprDigest, reprDigest);
        }

        return request;
    }

    private async Task<TransferResult> UploadSessionAsync(string localPath, string remote, TransferProgressTracker tracker, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var full = Path.GetFullPath(localPath);
        using var source = SourceFile.Open(full);
        var size = RandomAccess.GetLength(source.Handle);
        var modified = File.GetLastWriteTimeUtc(full).Ticks;
        var geometry = new ChunkGeometry(size, _options.ChunkSize);
        var (uploadId, held) = await OpenOrResumeAsync(full, size, modified, remote, cancellationToken).ConfigureAwait(false);
        // Fast mode: CRC-64/NVME per chunk end to end, SHA-256 on the server only; the client neither hashes nor re-reads held chunks.
        var withSha = _options.Verify == TransferVerify.Sha256;
        var tree = withSha ? new TreeDigestBuilder(geometry) : null;
        var sent = 0L;
        var skipped = 0L;
        var pool = _uploadPool.Value;
        await BoundedWorkers.RunAsync(
            geometry.ChunkCount,
            _options.Connections,
            token => new ChunkSender(pool, geometry.ChunkSize, token),
            async (sender, index, token) =>
            {
                var length = geometry.LengthOf(index);
                if (held.Contains(index) && tree is null)
                {
                    Interlocked.Increment(ref skipped);
                    tracker.AddBytes(length);
                    return;
                }

                var crc = ChunkCrc.Format(sender.ReadAndHash(source, geometry.OffsetOf(index), length, index, withSha));
                tree?.SetChunkDigest(index, sender.Sha256);
                if (held.Contains(index))
                {
                    Interlocked.Increment(ref skipped);
                    tracker.AddBytes(length);
                    return;
                }

                var encoded = sender.Encode(length, _options.Compression);
                var (offset, count) = encoded > 0 ? (sender.EncodedOffset, encoded) : (0, length);
                var reprDigest = withSha ? $"sha-256=:{Convert.ToBase64String(sender.Sha256)}:" : null;
                await SendAsync(
                    () => ChunkRequest(uploadId, index, sender.Array, offset, count, crc, encoded > 0, reprDigest),
                    (_, _) => Task.FromResult(true),
                    token).ConfigureAwait(false);
                Interlocked.Add(ref sent, count);
                tracker.AddBytes(length);
            },
            cancellationToken).ConfigureAwait(false);

        var local = tree?.Finish();
        var (committed, notReleased) = await CompleteAsync(uploadId, remote, local, cancellationToken).ConfigureAwait(false);
        _resume.Remove(full, _options.BaseAddress, remote, geometry.ChunkSize);
        if (local is not null && committed != local)
        {
            throw new TransferVerificationException(full, local.Value, committed, $"the server committed '{remote}' with a different digest than the local file's");
        }

        tracker.FileDone();
        return new TransferResult
        {
            Bytes = size,
            BytesSent = sent,
            Files = 1,
            Chunks = geometry.ChunkCount,
            ChunksSkipped = skipped,
            Seconds = Stopwatch.GetElapsedTime(started).TotalSeconds,
            Digest = committed.ToString(),
            State = notReleased?.State ?? ReleaseStates.Released,
            Held = notReleased is null ? null : [notReleased],
        };
    }

    private async Task<(string Id, HashSet<long> Held)> OpenOrResumeAsync(string full, long size, long modified, string remote, CancellationToken cancellationToken)
    {
        var record = _resume.Find(full, size, modified, _options.BaseAddress, remote, _options.ChunkSize);
        if (record is not null)
        {
            try
            {
                var status = await GetJsonAsync<UploadStatus>($"v1/uploads/{Uri.EscapeDataString(record.UploadId)}", cancellationToken).ConfigureAwait(false);
                if (status.State is null or "open" && status.Size == size && status.ChunkSize == _options.ChunkSize && status.Path == remote)
                {
                    return (record.UploadId, [.. status.Received ?? []]);
                }
            }
            catch (ServerProblemException problem) when (problem.Status is 404 or 409 or 410)
            {
                // The session expired, was aborted or completed: start a new one.
            }
        }

        var verify = _options.Verify == TransferVerify.Sha256 ? "sha256" : "fast";
        var opened = await SendAsync(
            () => new HttpRequestMessage(HttpMethod.Post, "v1/uploads") { Content = JsonContent.Create(new OpenUploadRequest(remote, size, _options.ChunkSize, verify), options: Json) },
            ReadJsonAsync<UploadStatus>,
            cancellationToken).ConfigureAwait(false);
        var id = opened.Id.ToString();
        _resume.Save(new ResumeRecord(full, size, modified, _options.BaseAddress.ToString(), remote, _options.ChunkSize, id));
        return (id, []);
    }

    private async Task<(FileDigest Digest, HeldFile? Held)> CompleteAsync(string uploadId, string remote, FileDigest? local, CancellationToken cancellationToken)
    {
        try
        {
            var commit = await SendAsync(
                () => new HttpRequestMessage(HttpMethod.Post, $"v1/uploads/{uploadId}/complete") { Content = JsonContent.Create(new CompleteUploadRequest(local?.ToString()), options: Json) },
                ReadJsonAsync<CommittedVersion>,
                cancellationToken).ConfigureAwait(false);
            return (ParseDigest(commit.Digest, remote), HeldFile.Of(commit, remote));
        }
        catch (ServerProblemException problem) when (problem.ProblemType == "file-digest-mismatch")
        {
            throw new TransferVerificationException(remote, local?.ToString() ?? "(not computed)", "a different tree on the server", $"the server refused to commit ({problem.Message})");
        }
        catch (ServerProblemException problem) when (problem.ProblemType == "upload-closed")
        {
            // A complete whose answer was lost and that was retried: the version is there if the first one committed.
            try
            {
                var head = await SendAsync(() => new HttpRequestMessage(HttpMethod.Head, FilesUrl(remote)), (response, _) => Task.FromResult(RemoteVersion.From(remote, response)), cancellationToken).ConfigureAwait(false);
                return (head.Digest, null);
            }
            catch (ServerProblemException held) when (held.Status == 409 && held.ReleaseState is { } state)
            {
                throw new TransferException(
                    $"The upload of '{remote}' was committed by an earlier attempt whose answer was lost, but the file is {state} on the server, so its digest cannot be checked now; see 'turbomft ls' once it is released, or push again.");
            }
        }
    }

    private async Task<TransferResult> UploadSmallAsync(string localPath, string remote, TransferProgressTracker tracker, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var full = Path.GetFullPath(localPath);
        var pool = _uploadPool.Value;
        var buffer = await pool.RentAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            int size;
            using (var source = SourceFile.Open(full))
            {
                var length = RandomAccess.GetLength(source.Handle);
                if (length >= _options.ChunkSize)
                {
                    throw new TransferException($"'{full}' grew to {length} bytes while the push was running; run the push again.");
                }

                size = (int)length;
                source.ReadExactly(buffer.Span[..size], 0, 0);
            }

            var sha = SHA256.HashData(buffer.Span[..size]);
            var reprDigest = $"sha-256=:{Convert.ToBase64String(sha)}:";
            var commit = await SendAsync(
                () =>
                {
                    var request = new HttpRequestMessage(HttpMethod.Put, FilesUrl(remote)) { Content = new ByteArrayContent(buffer.Array, 0, size) };
                    request.Headers.TryAddWithoutValidation("Repr-Digest", reprDigest);
                    return request;
                },
                ReadJsonAsync<CommittedVersion>,
                cancellationToken).ConfigureAwait(false);

            var localSha = WholeFileSha256.Format(sha);
            if (commit.Sha256 is not null && !string.Equals(commit.Sha256, localSha, StringComparison.OrdinalIgnoreCase))
            {
                throw new TransferVerificationException(full, localSha, commit.Sha256, $"the server committed '{remote}' with a different SHA-256");
            }

            var committed = ParseDigest(commit.Digest, remote);
            if (ChunkGeometry.IsValid(commit.ChunkSize) && size <= commit.ChunkSize)
            {
                // One chunk: its SHA-256 is the whole file's, so the tree follows without another pass.
                var geometry = new ChunkGeometry(size, commit.ChunkSize);
                var local = TreeDigestBuilder.Compute(geometry, size == 0 ? [] : sha);
                if (local != committed)
                {
                    throw new TransferVerificationException(full, local, committed, $"the server committed '{remote}' with a different digest than the local file's");
                }
            }
            else if (commit.Sha256 is null)
            {
                throw new TransferException($"The server's answer for '{remote}' carries neither a whole-file sha256 nor a chunk size the client can check; the upload cannot be verified.");
            }

            tracker.AddBytes(size);
            tracker.FileDone();
            var held = HeldFile.Of(commit, remote);
            return new TransferResult
            {
                Bytes = size,
                BytesSent = size,
                Files = 1,
                Chunks = 1,
                Seconds = Stopwatch.GetElapsedTime(started).TotalSeconds,
                Digest = committed.ToString(),
                State = held?.State ?? ReleaseStates.Released,
                Held = held is null ? null : [held],
            };
        }
        finally
        {
            pool.Return(buffer);
        }
    }

    /// <summary>
    /// Receives one range slice by slice: each slice is hashed and written while it is still in cache, so a chunk is
    /// never held whole and never read twice. The partial file is only renamed after the whole tree checks out.
    /// </summary>
    private static async Task<byte[]> ReadRangeAsync(
        HttpResponseMessage response, RemoteVersion expected, long index, TransferVerify verify, RangeReceiver receiver, Microsoft.Win32.SafeHandles.SafeFileHandle file, long offset, int length, CancellationToken cancellationToken)
    {
        var etag = response.Headers.ETag?.Tag;
        if (expected.ETag is not null && etag is not null && etag != expected.ETag)
        {
            throw new TransferException($"'{expected.Path}' changed on the server during the download (version {expected.ETag} became {etag}); run the pull again.");
        }

        if (response.StatusCode != HttpStatusCode.PartialContent && !(response.StatusCode == HttpStatusCode.OK && expected.Size == length))
        {
            throw new TransferException($"The server answered {(int)response.StatusCode} instead of 206 to a range request for chunk {index} of '{expected.Path}'.");
        }

        // Fast: the chunk's CRC-64 is checked against the one the server stored at upload, and the server's SHA-256 of
        // the chunk goes into the tree (the final tree check ties it to the TMF-Digest). Sha256, or a server that sent
        // neither: the chunk is hashed here. A Content-Digest the server sends is compared in both modes.
        var serverSha = new byte[SHA256.HashSizeInBytes];
        var hasServerSha = DigestFields.TryGetSha256(HeaderValue(response, ProtocolHeaders.ContentDigest), serverSha);
        var hasServerCrc = ChunkCrc.TryParse(HeaderValue(response, ProtocolHeaders.ChunkCrc64), out var serverCrc);
        var withSha = verify == TransferVerify.Sha256 || !(hasServerSha && hasServerCrc);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            // A retried attempt starts the chunk's checks afresh; its writes land on the same offsets.
            receiver.StartChunk();
            var slice = receiver.Slice;
            for (var done = 0; done < length;)
            {
                var want = Math.Min(slice.Length, length - done);
                await stream.ReadExactlyAsync(slice.AsMemory(0, want), cancellationToken).ConfigureAwait(false);
                receiver.Append(slice.AsSpan(0, want), withSha);
                RandomAccess.Write(file, slice.AsSpan(0, want), offset + done);
                done += want;
            }

            if (await stream.ReadAsync(slice.AsMemory(0, 1), cancellationToken).ConfigureAwait(false) != 0)
            {
                throw new IOException($"Chunk {index} of '{expected.Path}' arrived longer than {length} bytes.");
            }

            if (!withSha)
            {
                var crc = receiver.Crc();
                return crc == serverCrc
                    ? serverSha
                    : throw new TransferVerificationException(
                        expected.Path, ChunkCrc.Format(serverCrc), ChunkCrc.Format(crc), $"chunk {index} does not match the CRC-64/NVME the server stored for it; the partial file was deleted");
            }

            var sha = receiver.Sha256();
            return !hasServerSha || CryptographicOperations.FixedTimeEquals(sha, serverSha)
                ? sha
                : throw new TransferVerificationException(
                    expected.Path, Convert.ToHexStringLower(serverSha), Convert.ToHexStringLower(sha), $"chunk {index} does not hash to the server's Content-Digest; the partial file was deleted");
        }
    }

    /// <summary>A response header's first value, wherever HttpClient filed it (response or content headers).</summary>
    private static string? HeaderValue(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values) ? values.FirstOrDefault() : null;

    /// <summary>The pool of buffers of <paramref name="bufferSize"/> bytes (downloads, replicas), 2 × Connections in flight.</summary>
    private ChunkBufferPool BufferPool(int bufferSize)
    {
        lock (_pools)
        {
            if (!_pools.TryGetValue(bufferSize, out var pool))
            {
                pool = new ChunkBufferPool(bufferSize, 2 * _options.Connections);
                _pools[bufferSize] = pool;
            }

            return pool;
        }
    }

    private static TransferResult ThrowIfQuarantined(TransferResult result)
    {
        var quarantined = result.Held?.Where(h => h.State == ReleaseStates.Quarantined).ToList();
        return quarantined is { Count: > 0 } ? throw new FileQuarantinedException(quarantined) : result;
    }

    private Task<T> GetJsonAsync<T>(string url, CancellationToken cancellationToken) =>
        SendAsync(() => new HttpRequestMessage(HttpMethod.Get, url), ReadJsonAsync<T>, cancellationToken);

    private static async Task<T> ReadJsonAsync<T>(HttpResponseMessage response, CancellationToken cancellationToken) =>
        await response.Content.ReadFromJsonAsync<T>(Json, cancellationToken).ConfigureAwait(false)
        ?? throw new TransferException($"The server sent an empty answer to {response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.AbsolutePath}.");

    private static FileDigest ParseDigest(string? text, string remote) =>
        FileDigest.TryParse(text, out var digest) ? digest : throw new TransferException($"The server's digest for '{remote}' is not a sha256-tree digest: '{text}'.");

    /// <summary>
    /// Sends a request built by <paramref name="build"/> and reads its answer with <paramref name="read"/>, both under the
    /// per-request timeout, retrying the pair per <see cref="TurboMftClientOptions.Retry"/>. Error answers become
    /// <see cref="ServerProblemException"/>, refused certificates <see cref="ServerTrustException"/>.
    /// </summary>
    private Task<T> SendAsync<T>(
        Func<HttpRequestMessage> build,
        Func<HttpResponseMessage, CancellationToken, Task<T>> read,
        CancellationToken cancellationToken,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead,
        Func<HttpStatusCode, bool>? answers = null) =>
        _options.Retry.ExecuteAsync(
            async token =>
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
                timeout.CancelAfter(_options.RequestTimeout);
                using var request = build();
                try
                {
                    using var response = await _http.SendAsync(request, completion, timeout.Token).ConfigureAwait(false);
                    if (!response.IsSuccessStatusCode && answers?.Invoke(response.StatusCode) != true)
                    {
                        throw await ProblemFromAsync(response, timeout.Token).ConfigureAwait(false);
                    }

                    return await read(response, timeout.Token).ConfigureAwait(false);
                }
                catch (HttpRequestException e) when (FindAuthenticationFailure(e) is not null)
                {
                    throw new ServerTrustException(
                        $"Refused the TLS connection to {_options.BaseAddress.Authority}: {_trust.LastRejection ?? FindAuthenticationFailure(e)!.Message}. Nothing was sent.", e);
                }
                catch (OperationCanceledException e) when (!token.IsCancellationRequested)
                {
                    throw new TimeoutException($"{request.Method} {request.RequestUri} got no complete answer within {_options.RequestTimeout.TotalSeconds:0} s.", e);
                }
            },
            cancellationToken);

    private static AuthenticationException? FindAuthenticationFailure(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is AuthenticationException authentication)
            {
                return authentication;
            }
        }

        return null;
    }

    private static async Task<ServerProblemException> ProblemFromAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var mediaType = response.Content.Headers.ContentType?.MediaType;
        byte[] body = [];
        try
        {
            if (mediaType is "application/problem+json" or "application/json")
            {
                body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            // An unreadable error body still leaves the status to report.
        }

        var releaseState = response.Headers.TryGetValues(ProtocolHeaders.ReleaseState, out var states) ? states.FirstOrDefault() : null;
        return ServerAnswers.ReadProblem(
            (int)response.StatusCode, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.AbsolutePath}", mediaType, body, releaseState);
    }

    /// <summary>The current version of a remote file, from the headers of HEAD or GET.</summary>
    private sealed record RemoteVersion(string Path, long Size, int ChunkSize, FileDigest Digest, string? ETag)
    {
        public static RemoteVersion From(string path, HttpResponseMessage response)
        {
            var size = response.Content.Headers.ContentLength
                ?? throw new TransferException($"The server gave no Content-Length for '{path}'; it does not speak TurboMft protocol v1.");
            var chunkText = response.Headers.TryGetValues("TMF-Chunk-Size", out var c) ? c.FirstOrDefault() : null;
            if (!int.TryParse(chunkText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var chunkSize) || !ChunkGeometry.IsValid(chunkSize))
            {
                throw new TransferException($"The server gave no valid TMF-Chunk-Size for '{path}' ('{chunkText}'); it does not speak TurboMft protocol v1.");
            }

            var digestText = response.Headers.TryGetValues("TMF-Digest", out var d) ? d.FirstOrDefault() : null;
            if (!FileDigest.TryParse(digestText, out var digest))
            {
                throw new TransferException($"The server gave no TMF-Digest for '{path}', so the download cannot be verified.");
            }

            return new RemoteVersion(path, size, chunkSize, digest, response.Headers.ETag?.Tag);
        }
    }

    /// <summary>What one download worker receives a range with: a cache-sized slice, a reusable SHA-256 and CRC-64.</summary>
    private sealed class RangeReceiver : IDisposable
    {
        /// <summary>Bytes received, checked and written at a time: well inside a core's L2 cache.</summary>
        private const int SliceSize = 256 * 1024;

        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private readonly Crc64 _crc = new(Crc64ParameterSet.Nvme);

        public byte[] Slice { get; } = System.Buffers.ArrayPool<byte>.Shared.Rent(SliceSize);

        public void StartChunk()
        {
            _hash.GetHashAndReset();
            _crc.Reset();
        }

        /// <summary>Adds a slice to the chunk's SHA-256 (<paramref name="withSha"/>) or else to its CRC-64.</summary>
        public void Append(ReadOnlySpan<byte> slice, bool withSha)
        {
            if (withSha)
            {
                _hash.AppendData(slice);
            }
            else
            {
                _crc.Append(slice);
            }
        }

        public byte[] Sha256() => _hash.GetHashAndReset();

        public ulong Crc() => _crc.GetCurrentHashAsUInt64();

        public void Dispose()
        {
            _hash.Dispose();
            System.Buffers.ArrayPool<byte>.Shared.Return(Slice);
        }
    }
}
