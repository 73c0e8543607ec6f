using System.Net;
using System.Net.Http.Json;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Protocol;

namespace TurboMft.Engine.Client;

/// <summary>What a replica upload sends besides the bytes, and how it resumes (docs/replication.md, "Outbox").</summary>
public sealed record ReplicaUpload
{
    /// <summary>The path on the peer.</summary>
    public required string RemotePath { get; init; }

    /// <summary>The peer's upload session id from an earlier attempt: its held chunks are not sent again.</summary>
    public string? ResumeUploadId { get; init; }

    /// <summary>Called with a new session's id before its first chunk is sent, so the caller can persist it for resume.</summary>
    public Func<string, CancellationToken, Task>? SessionOpened { get; init; }

    /// <summary>The provenance sent with the upload (origin, correlation id).</summary>
    public Provenance? Provenance { get; init; }

    /// <summary>A bandwidth limit on bytes sent, or null.</summary>
    public BandwidthLimiter? Bandwidth { get; init; }

    /// <summary>Called with the bytes of every body sent.</summary>
    public Action<long>? BytesSent { get; init; }

    /// <summary>Chunks of this file in flight at once; null: the client's <see cref="TurboMftClientOptions.Connections"/>.</summary>
    public int? Workers { get; init; }
}

/// <summary>What a replica upload did.</summary>
/// <param name="Digest">The peer's committed <c>sha256-tree</c>, equal to the source's.</param>
/// <param name="BytesSent">Body bytes sent (compressed where LZ4 paid).</param>
/// <param name="ChunksSkipped">Chunks the peer already held from an earlier attempt.</param>
/// <param name="State">The peer's release state of the version.</param>
/// <param name="Resumed">Whether an earlier session was continued.</param>
/// <param name="AlreadyHeld">The peer already held this digest at the path and committed nothing (one-shot replicas).</param>
public sealed record ReplicaResult(FileDigest Digest, long BytesSent, long ChunksSkipped, string State, bool Resumed, bool AlreadyHeld = false);

/// <summary>The current version of a path on a server, as HEAD reports it (also when it is held).</summary>
/// <param name="Size">Bytes.</param>
/// <param name="Digest">Its <c>sha256-tree</c>, when the server sent it.</param>
/// <param name="State">Its release state.</param>
/// <param name="Provenance">Its provenance headers, if any.</param>
/// <param name="ChunkSize">Its chunk size (released versions only; 0 otherwise).</param>
/// <param name="ETag">Its version tag (released versions only).</param>
public sealed record RemoteFileState(long Size, FileDigest? Digest, string State, Provenance? Provenance, int ChunkSize, string? ETag);

/// <content>Replica uploads from an <see cref="IChunkSource"/>, HEAD and chunk-range reads for replication.</content>
public sealed partial class TurboMftClient
{
    /// <summary>
    /// Uploads <paramref name="source"/> to <see cref="ReplicaUpload.RemotePath"/> with its own chunk size and its digest
    /// declared up front (the peer commits only that digest): a file smaller than one chunk by one-shot PUT, a larger one
    /// through a resumable session (resumed from <see cref="ReplicaUpload.ResumeUploadId"/> when the peer still holds it).
    /// </summary>
    /// <exception cref="TransferVerificationException">The peer committed another digest.</exception>
    public async Task<ReplicaResult> UploadReplicaAsync(IChunkSource source, ReplicaUpload upload, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(upload);
        var remote = RemotePaths.Normalize(upload.RemotePath);
        if (source.Size < source.ChunkSize && upload.ResumeUploadId is null)
        {
            try
            {
                return await UploadReplicaOneShotAsync(source, remote, upload, cancellationToken).ConfigureAwait(false);
            }
            catch (ServerProblemException problem) when (problem.ProblemType == "file-digest-mismatch")
            {
                // The peer cuts one-shot uploads into another chunk size, so the tree differs: send a session in ours.
            }
        }

        return await UploadReplicaSessionAsync(source, remote, upload, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The current version of <paramref name="remotePath"/>, held or released, or null when there is none.</summary>
    public Task<RemoteFileState?> HeadAsync(string remotePath, CancellationToken cancellationToken = default)
    {
        var remote = RemotePaths.Normalize(remotePath);
        return SendAsync(
            () => new HttpRequestMessage(HttpMethod.Head, FilesUrl(remote)),
            (response, token) =>
            {
                token.ThrowIfCancellationRequested();
                if (response.StatusCode == HttpStatusCode.NotFound)
                {
                    return Task.FromResult<RemoteFileState?>(null);
                }

                return Task.FromResult<RemoteFileState?>(ServerAnswers.ReadFileState(
                    remote,
                    name => response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null,
                    response.Content.Headers.ContentLength,
                    response.Headers.ETag?.Tag));
            },
            cancellationToken,
            answers: status => status is HttpStatusCode.NotFound or HttpStatusCode.Conflict);
    }

    /// <summary>
    /// Reads bytes [<paramref name="offset"/>, offset + destination length) of the current version of
    /// <paramref name="remotePath"/> into <paramref name="destination"/>, failing if the version is no longer
    /// <paramref name="etag"/> (when given).
    /// </summary>
    public Task ReadRangeAsync(string remotePath, long offset, Memory<byte> destination, string? etag, CancellationToken cancellationToken = default)
    {
        var remote = RemotePaths.Normalize(remotePath);
        var url = FilesUrl(remote);
        var expected = new RemoteVersion(remote, offset + destination.Length, ChunkGeometry.MinChunkSize, default, etag);
        return SendAsync(
            () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Get, url);
                request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(offset, offset + destination.Length - 1);
                return request;
            },
            async (response, token) =>
            {
                var etagNow = response.Headers.ETag?.Tag;
                if (etag is not null && etagNow is not null && etagNow != etag)
                {
                    throw new TransferException($"'{remote}' changed on the server during the transfer (version {etag} became {etagNow}).");
                }

                if (response.StatusCode != HttpStatusCode.PartialContent && !(response.StatusCode == HttpStatusCode.OK && offset == 0 && response.Content.Headers.ContentLength == destination.Length))
                {
                    throw new TransferException($"The server answered {(int)response.StatusCode} instead of 206 to a range request at {offset} of '{remote}'.");
                }

                var stream = await response.Content.ReadAsStreamAsync(token).ConfigureAwait(false);
                await using (stream.ConfigureAwait(false))
                {
                    await stream.ReadExactlyAsync(destination, token).ConfigureAwait(false);
                }

                return expected;
            },
            cancellationToken,
            HttpCompletionOption.ResponseHeadersRead);
    }

    private async Task<ReplicaResult> UploadReplicaOneShotAsync(IChunkSource source, string remote, ReplicaUpload upload, CancellationToken cancellationToken)
    {
        var size = (int)source.Size;
        var pool = BufferPool(source.ChunkSize);
        var buffer = await pool.RentAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (size > 0)
            {
                using var reader = source.OpenReader();
                reader.ReadChunk(0, buffer.Span[..size]);
            }

            var reprDigest = $"sha-256=:{Convert.ToBase64String(size == 0 ? System.Security.Cryptography.SHA256.HashData([]) : source.ChunkSha256(0))}:";
            if (upload.Bandwidth is { } limit)
            {
                await limit.WaitAsync(size, cancellationToken).ConfigureAwait(false);
            }

            var commit = await SendAsync(
                () =>
                {
                    var request = new HttpRequestMessage(HttpMethod.Put, FilesUrl(remote)) { Content = new ByteArrayContent(buffer.Array, 0, size) };
                    request.Headers.TryAddWithoutValidation(ProtocolHeaders.ReprDigest, reprDigest);
                    AddProvenance(request, upload.Provenance);

                    // The peer answers at once, before the body, when it already holds the digest: then no byte is sent.
                    request.Headers.ExpectContinue = size > 0;
                    return request;
                },
                ReadJsonAsync<CommittedVersion>,
                cancellationToken).ConfigureAwait(false);
            var held = commit.Unchanged == true;
            var sent = held ? 0 : size;
            upload.BytesSent?.Invoke(sent);
            var committed = ParseDigest(commit.Digest, remote);
            return committed == source.Digest
                ? new ReplicaResult(committed, sent, 0, commit.State ?? ReleaseStates.Released, false, held)
                : throw new TransferVerificationException(remote, source.Digest, committed, $"the peer committed '{remote}' with another digest than the source's");
        }
        finally
        {
            pool.Return(buffer);
        }
    }

    private async Task<ReplicaResult> UploadReplicaSessionAsync(IChunkSource source, string remote, ReplicaUpload upload, CancellationToken cancellationToken)
    {
        var geometry = new ChunkGeometry(source.Size, source.ChunkSize);
        HashSet<long>? held = null;
        var uploadId = upload.ResumeUploadId;
        if (uploadId is not null)
        {
            try
            {
                var status = await GetJsonAsync<UploadStatus>($"v1/uploads/{Uri.EscapeDataString(uploadId)}", cancellationToken).ConfigureAwait(false);
                if (status.State is null or "open" && status.Size == source.Size && status.ChunkSize == source.ChunkSize && status.Path == remote)
                {
                    held = [.. status.Received ?? []];
                }
            }
            catch (ServerProblemException problem) when (problem.Status is 404 or 409 or 410)
            {
                // The session expired, was aborted or completed: open a new one.
            }
        }

        var resumed = held is not null;
        if (held is null)
        {
            var opened = await SendAsync(
                () =>
                {
                    var request = new HttpRequestMessage(HttpMethod.Post, "v1/uploads")
                    {
                        Content = JsonContent.Create(new OpenUploadRequest(remote, source.Size, source.ChunkSize, "fast") { Digest = source.Digest.ToString() }, options: Json),
                    };
                    AddProvenance(request, upload.Provenance);
                    return request;
                },
                ReadJsonAsync<UploadStatus>,
                cancellationToken).ConfigureAwait(false);
            uploadId = opened.Id.ToString();
            held = [];
            if (upload.SessionOpened is { } persist)
            {
                await persist(uploadId, cancellationToken).ConfigureAwait(false);
            }
        }

        var sent = 0L;
        var skipped = 0L;

        // A buffer is held for one chunk's read and send only, rented without blocking: many concurrent replicas share the
        // client's budget of 2 × Connections buffers, and the memory never depends on how many files wait.
        var pool = BufferPool(source.EncodedBufferSize);
        await BoundedWorkers.RunAsync(
            geometry.ChunkCount,
            upload.Workers ?? _options.Connections,
            _ => source.OpenReader(),
            async (reader, index, token) =>
            {
                if (held.Contains(index))
                {
                    Interlocked.Increment(ref skipped);
                    return;
                }

                var buffer = await pool.RentAsync(token).ConfigureAwait(false);
                try
                {
                    var chunk = reader.ReadEncoded(index, buffer);
                    if (upload.Bandwidth is { } limit)
                    {
                        await limit.WaitAsync(chunk.Length, token).ConfigureAwait(false);
                    }

                    await SendAsync(
                        () => ChunkRequest(uploadId!, index, buffer.Array, chunk.Offset, chunk.Length, ChunkCrc.Format(chunk.Crc64), chunk.Lz4, null),
                        (_, _) => Task.FromResult(true),
                        token).ConfigureAwait(false);
                    Interlocked.Add(ref sent, chunk.Length);
                    upload.BytesSent?.Invoke(chunk.Length);
                }
                finally
                {
                    pool.Return(buffer);
                }
            },
            cancellationToken).ConfigureAwait(false);

        var (committed, notReleased) = await CompleteAsync(uploadId!, remote, source.Digest, cancellationToken).ConfigureAwait(false);
        return committed == source.Digest
            ? new ReplicaResult(committed, sent, skipped, notReleased?.State ?? ReleaseStates.Released, resumed)
            : throw new TransferVerificationException(remote, source.Digest, committed, $"the peer committed '{remote}' with another digest than the source's");
    }

    private static void AddProvenance(HttpRequestMessage request, Provenance? provenance)
    {
        if (provenance is null)
        {
            return;
        }

        foreach (var (name, value) in provenance.ToHeaders())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
    }
}
