using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TurboMft.Engine.Buffers;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Pipeline;
using TurboMft.Engine.Protocol;

namespace TurboMft.Engine.Client;

/// <summary>Batch uploads of small files (<c>POST /v1/batch</c>, docs/protocol.md "Batch upload").</summary>
public sealed partial class TurboMftClient
{
    /// <summary>
    /// The server's batch limits from <c>GET /v1/info</c> (<c>limits.batchMaxFiles</c>, <c>limits.batchMaxFileSize</c>), or
    /// null when batching is off here (<see cref="TurboMftClientOptions.BatchFiles"/> 0) or the server has no batch upload.
    /// </summary>
    private async Task<(int MaxFiles, long MaxFileSize)?> BatchLimitsAsync(CancellationToken cancellationToken)
    {
        if (_options.BatchFiles == 0)
        {
            return null;
        }

        var info = (await InfoAsync(cancellationToken).ConfigureAwait(false)).Deserialize<ServerInfo>(Json);
        return info?.Limits is { BatchMaxFiles: { } files, BatchMaxFileSize: { } size } ? (Math.Min(_options.BatchFiles, files), size) : null;
    }

    /// <summary>Splits files into batches of at most <paramref name="maxFiles"/> files and <see cref="TurboMftClientOptions.BatchBytes"/> bytes.</summary>
    private List<List<BatchFile>> PlanBatches(IEnumerable<(TransferItem Item, long Size)> files, int maxFiles)
    {
        var batches = new List<List<BatchFile>>();
        var current = new List<BatchFile>();
        long bytes = 0;
        foreach (var (item, size) in files)
        {
            if (current.Count > 0 && (current.Count == maxFiles || bytes + size > _options.BatchBytes))
            {
                batches.Add(current);
                current = [];
                bytes = 0;
            }

            var remote = RemotePaths.Normalize(item.RemotePath);
            current.Add(new BatchFile(Path.GetFullPath(item.LocalPath), remote, Encoding.UTF8.GetBytes(remote), size));
            bytes += size;
        }

        if (current.Count > 0)
        {
            batches.Add(current);
        }

        return batches;
    }

    /// <summary>
    /// Sends one batch and checks the server's answer file by file: same count, paths and sizes; with
    /// <see cref="TransferVerify.Sha256"/> each committed SHA-256 and <c>sha256-tree</c> must equal the local ones (in fast
    /// mode the server has checked each file's CRC-64/NVME and computed the tree). Retried whole on network errors and 5xx.
    /// </summary>
    private async Task<TransferResult> UploadBatchAsync(List<BatchFile> files, TransferProgressTracker tracker, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var withSha = _options.Verify == TransferVerify.Sha256;
        BatchContent? sent = null;
        var answer = await SendAsync(
            () =>
            {
                sent = new BatchContent(files, withSha, _batchPool.Value);
                return new HttpRequestMessage(HttpMethod.Post, "v1/batch") { Content = sent };
            },
            ReadJsonAsync<CommittedBatch>,
            cancellationToken).ConfigureAwait(false);
        if (answer.Files is not { } committed || committed.Count != files.Count)
        {
            throw new TransferException($"The server answered a batch of {files.Count} files with {answer.Files?.Count ?? 0} results; the batch cannot be verified.");
        }

        var total = new TransferResult();
        for (var i = 0; i < files.Count; i++)
        {
            var file = files[i];
            var commit = committed[i];
            if (!string.Equals(commit.Path, file.Remote, StringComparison.Ordinal) || commit.Size != file.Size)
            {
                throw new TransferVerificationException(file.LocalPath, $"{file.Remote} ({file.Size} bytes)", $"{commit.Path} ({commit.Size} bytes)", "the server's answer to the batch does not match what was sent");
            }

            var digest = ParseDigest(commit.Digest, file.Remote);
            if (withSha)
            {
                var sha = sent!.Sha256Of(i);
                var localSha = WholeFileSha256.Format(sha);
                var local = TreeDigestBuilder.Compute(new ChunkGeometry(file.Size, commit.ChunkSize), file.Size == 0 ? [] : sha);
                if (!string.Equals(commit.Sha256, localSha, StringComparison.OrdinalIgnoreCase) || local != digest)
                {
                    throw new TransferVerificationException(file.LocalPath, local, digest, $"the server committed '{file.Remote}' with a different digest than the local file's");
                }
            }

            tracker.AddBytes(file.Size);
            tracker.FileDone();
            var held = HeldFile.Of(commit, file.Remote);
            total = total.Plus(new TransferResult
            {
                Bytes = file.Size,
                BytesSent = file.Size,
                Files = 1,
                Chunks = file.Size == 0 ? 0 : 1,
                Digest = digest.ToString(),
                State = held?.State ?? ReleaseStates.Released,
                Held = held is null ? null : [held],
            });
        }

        return total with { Seconds = Stopwatch.GetElapsedTime(started).TotalSeconds };
    }

    /// <summary>One file of a batch: where it is read from, where it goes, and the size it had when the push started.</summary>
    private sealed record BatchFile(string LocalPath, string Remote, byte[] RemoteUtf8, long Size);

    /// <summary>
    /// The streamed body of one batch (<see cref="BatchFormat"/>): each file is read into a pooled buffer behind its entry
    /// header, checksummed there and written with one write. Its length is known up front, so it travels with a
    /// Content-Length; a file whose size changed since the push started fails the batch.
    /// </summary>
    private sealed class BatchContent : HttpContent
    {
        private const int MaxEntryHeader = BatchFormat.EntryHeaderSize + SHA256.HashSizeInBytes + BatchFormat.MaxPathBytes;
        private readonly List<BatchFile> _files;
        private readonly bool _withSha;
        private readonly ChunkBufferPool _pool;
        private readonly byte[][] _sha;

        public BatchContent(List<BatchFile> files, bool withSha, ChunkBufferPool pool)
        {
            _files = files;
            _withSha = withSha;
            _pool = pool;
            _sha = withSha ? new byte[files.Count][] : [];
            Headers.ContentType = new MediaTypeHeaderValue(BatchFormat.MediaType);
        }

        /// <summary>Buffer bytes one entry needs at most: header, SHA-256, path and one chunk's content.</summary>
        public static int BufferSizeFor(int chunkSize) => MaxEntryHeader + chunkSize;

        /// <summary>The SHA-256 sent for file <paramref name="index"/> (sha256 mode, after the body was written).</summary>
        public byte[] Sha256Of(int index) => _sha[index];

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            var buffer = await _pool.RentAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                BatchFormat.WritePreamble(buffer.Span);
                await stream.WriteAsync(buffer.Memory[..BatchFormat.PreambleSize], cancellationToken).ConfigureAwait(false);
                for (var i = 0; i < _files.Count; i++)
                {
                    var length = Fill(buffer, i);
                    await stream.WriteAsync(buffer.Memory[..length], cancellationToken).ConfigureAwait(false);
                }

                BatchFormat.WriteEnd(buffer.Span);
                await stream.WriteAsync(buffer.Memory[..BatchFormat.EndSize], cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _pool.Return(buffer);
            }
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override bool TryComputeLength(out long length)
        {
            length = BatchFormat.PreambleSize + BatchFormat.EndSize;
            foreach (var file in _files)
            {
                length += BatchFormat.EntryHeaderSize + (_withSha ? SHA256.HashSizeInBytes : 0) + file.RemoteUtf8.Length + file.Size;
            }

            return true;
        }

        /// <summary>Reads file <paramref name="index"/> behind its entry header in <paramref name="buffer"/>; returns the entry's length.</summary>
        private int Fill(ChunkBuffer buffer, int index)
        {
            var file = _files[index];
            var headerLength = BatchFormat.EntryHeaderSize + (_withSha ? SHA256.HashSizeInBytes : 0);
            var contentOffset = headerLength + file.RemoteUtf8.Length;
            var content = buffer.Span.Slice(contentOffset, (int)file.Size);
            using (var source = SourceFile.Open(file.LocalPath))
            {
                if (RandomAccess.GetLength(source.Handle) != file.Size)
                {
                    throw new TransferException($"'{file.LocalPath}' changed size while the push was running; run the push again.");
                }

                source.ReadExactly(content, 0, 0);
            }

            var crc = ChunkCrc.Compute(content);
            var sha = _withSha ? SHA256.HashData(content) : [];
            if (_withSha)
            {
                _sha[index] = sha;
            }

            BatchFormat.WriteEntryHeader(buffer.Span, file.RemoteUtf8.Length, (uint)file.Size, crc, sha);
            file.RemoteUtf8.CopyTo(buffer.Span[headerLength..]);
            return contentOffset + (int)file.Size;
        }
    }
}
