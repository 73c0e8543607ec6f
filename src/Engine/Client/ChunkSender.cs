using System.Security.Cryptography;
using K4os.Compression.LZ4;
using TurboMft.Engine.Buffers;
using TurboMft.Engine.Compression;
using TurboMft.Engine.Pipeline;

namespace TurboMft.Engine.Client;

/// <summary>
/// One upload worker's state, reused for every chunk it handles: a pooled buffer holding the plaintext and, behind it, the
/// LZ4 block; incremental CRC-64/NVME and SHA-256.
/// </summary>
internal sealed class ChunkSender : IDisposable
{
    private readonly HashingChunkReader _reader = new();
    private readonly ChunkBufferPool _pool;
    private readonly ChunkBuffer _buffer;
    private readonly int _chunkSize;

    public ChunkSender(ChunkBufferPool pool, int chunkSize, CancellationToken cancellationToken)
    {
        _pool = pool;
        _chunkSize = chunkSize;
        _buffer = pool.Rent(cancellationToken);
    }

    /// <summary>The SHA-256 of the last chunk read.</summary>
    public byte[] Sha256 { get; } = new byte[SHA256.HashSizeInBytes];

    /// <summary>The pooled array: plaintext at 0, an LZ4 block at <see cref="EncodedOffset"/>.</summary>
    public byte[] Array => _buffer.Array;

    /// <summary>Where the LZ4 block starts in <see cref="Array"/>.</summary>
    public int EncodedOffset => _chunkSize;

    /// <summary>The pooled buffer size an upload of <paramref name="chunkSize"/> needs per worker.</summary>
    public static int BufferSizeFor(int chunkSize) => chunkSize + ChunkCompressor.MaxEncodedLength(chunkSize);

    /// <summary>
    /// Reads <paramref name="length"/> bytes at <paramref name="offset"/>, hashing them in the same pass; returns the CRC and,
    /// when <paramref name="sha256"/> is set, leaves the SHA-256 in <see cref="Sha256"/>.
    /// </summary>
    public ulong ReadAndHash(SourceFile source, long offset, int length, long index, bool sha256) =>
        _reader.ReadAndHash(source, _buffer.Span[..length], offset, index, sha256 ? Sha256 : []);

    /// <summary>Compresses the plaintext per <paramref name="mode"/>; returns the LZ4 block length, or 0 to send the plaintext.</summary>
    public int Encode(int length, TransferCompression mode)
    {
        var plain = _buffer.Span[..length];
        var block = _buffer.Span[_chunkSize..];
        switch (mode)
        {
            case TransferCompression.Auto:
                return ChunkCompressor.Adaptive.Compress(plain, block, out var written) == ChunkEncoding.Lz4 ? written : 0;
            case TransferCompression.Lz4:
                // Any saving at all: a window one byte short of the plaintext makes LZ4 give up as soon as it cannot win.
                var encoded = length < 2 ? 0 : LZ4Codec.Encode(plain, block[..(length - 1)], LZ4Level.L00_FAST);
                return Math.Max(encoded, 0);
            default:
                return 0;
        }
    }

    public void Dispose()
    {
        _reader.Dispose();
        _pool.Return(_buffer);
    }
}

/// <summary>Runs an async body for every index in [0, count) on N workers that each own a state; the first failure stops all.</summary>
internal static class BoundedWorkers
{
    public static async Task RunAsync<TWorker>(
        long count, int workers, Func<CancellationToken, TWorker> createWorker, Func<TWorker, long, CancellationToken, Task> body, CancellationToken cancellationToken)
        where TWorker : IDisposable
    {
        if (count == 0)
        {
            return;
        }

        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var token = failed.Token;
        var next = -1L;
        Exception? firstError = null;
        var tasks = new Task[(int)Math.Clamp(count, 1, Math.Max(1, workers))];
        for (var w = 0; w < tasks.Length; w++)
        {
            tasks[w] = Task.Run(
                async () =>
                {
                    try
                    {
                        using var worker = createWorker(token);
                        long index;
                        while ((index = Interlocked.Increment(ref next)) < count)
                        {
                            token.ThrowIfCancellationRequested();
                            await body(worker, index, token).ConfigureAwait(false);
                        }
                    }
                    catch (OperationCanceledException) when (token.IsCancellationRequested)
                    {
                        // Another worker failed or the caller cancelled; reported below.
                    }
                    catch (Exception e)
                    {
                        Interlocked.CompareExchange(ref firstError, e, null);
                        await failed.CancelAsync().ConfigureAwait(false);
                    }
                },
                CancellationToken.None);
        }

        await Task.WhenAll(tasks).ConfigureAwait(false);
        if (firstError is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(firstError);
        }

        cancellationToken.ThrowIfCancellationRequested();
    }
}

/// <summary>Thread-safe progress of a transfer, reported to an optional sink.</summary>
internal sealed class TransferProgressTracker(long totalBytes, int fileCount, IProgress<TransferProgress>? sink)
{
    private long _total = totalBytes;
    private long _bytes;
    private int _files;

    /// <summary>Adds to the total a file whose size was not known when the transfer started (a download's HEAD).</summary>
    public void AddTotal(long bytes) => Interlocked.Add(ref _total, bytes);

    public void AddBytes(long bytes)
    {
        var done = Interlocked.Add(ref _bytes, bytes);
        sink?.Report(new TransferProgress(done, Interlocked.Read(ref _total), Volatile.Read(ref _files), fileCount));
    }

    public void FileDone()
    {
        var files = Interlocked.Increment(ref _files);
        sink?.Report(new TransferProgress(Interlocked.Read(ref _bytes), Interlocked.Read(ref _total), files, fileCount));
    }
}
