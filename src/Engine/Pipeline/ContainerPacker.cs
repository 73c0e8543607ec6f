using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;
using TurboMft.Engine.Buffers;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Compression;
using TurboMft.Engine.Container;
using TurboMft.Engine.Crypto;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Native;

namespace TurboMft.Engine.Pipeline;

/// <summary>
/// Turns a file into a container: read (positional) → CRC-64/NVME → SHA-256 → adaptive LZ4 → AES-256-GCM seal → write at
/// a reserved offset, on N workers with pooled buffers, then the trailer with the <c>sha256-tree</c>.
/// </summary>
public static class ContainerPacker
{
    /// <summary>Packs <paramref name="sourcePath"/> into a new container at <paramref name="containerPath"/>.</summary>
    public static async Task<PackResult> PackAsync(
        string sourcePath, string containerPath, DataKey dataKey, ReadOnlyMemory<byte> wrappedKey, Guid fileId, PipelineOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ChunkGeometry.Validate(options.ChunkSize);
        var started = Stopwatch.GetTimestamp();
        using var source = SourceFile.Open(sourcePath);
        var geometry = new ChunkGeometry(RandomAccess.GetLength(source.Handle), options.ChunkSize);
        var header = new ContainerHeader(fileId, options.ChunkSize, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()) { WrappedKey = wrappedKey.ToArray() };
        var workers = options.EffectiveWorkers;
        var ownsPool = options.Pool is null;
        var pool = options.Pool ?? new ChunkBufferPool(ContainerFormat.BufferSizeFor(options.ChunkSize), 2 * workers);
        var compressor = new ChunkCompressor(options.Compression);
        var tree = new TreeDigestBuilder(geometry);
        var progress = new ProgressCounter(geometry.ChunkCount, geometry.FileSize, options.Progress);
        var created = false;
        var completed = false;
        try
        {
            using var writer = ContainerWriter.Create(containerPath, header, dataKey, geometry.ChunkCount, ContainerWriter.MaxLength(geometry.FileSize, geometry.ChunkSize));
            created = true;
            var wholeFile = options.WholeFileSha256 ? WholeFileHasher.HashAsync(source.Handle, cancellationToken) : Task.FromResult<byte[]>([]);
            await ChunkPipeline.RunAsync(
                geometry.ChunkCount,
                workers,
                () => new PackWorker(writer.CreateSealer()),
                (worker, index, token) =>
                {
                    var plain = pool.Rent(token);
                    ChunkBuffer? scratch = null;
                    try
                    {
                        scratch = pool.Rent(token);
                        var length = geometry.LengthOf(index);
                        var span = plain.Span.Slice(ContainerFormat.RecordHeaderSize, length);
                        var crc = worker.ReadAndHash(source, span, geometry.OffsetOf(index), index, tree);
                        writer.WriteChunk(worker.Sealer, compressor, index, plain, length, crc, tree.GetChunkDigest(index), scratch);
                        progress.Add(length);
                    }
                    finally
                    {
                        pool.Return(plain);
                        if (scratch is not null)
                        {
                            pool.Return(scratch);
                        }
                    }
                },
                cancellationToken).ConfigureAwait(false);

            var sha256 = await wholeFile.ConfigureAwait(false);
            var summary = writer.Complete(geometry.FileSize, tree.Finish(), sha256);
            completed = true;
            return new PackResult(summary, sha256.Length > 0 ? sha256 : null, Stopwatch.GetElapsedTime(started));
        }
        finally
        {
            if (ownsPool)
            {
                pool.Dispose();
            }

            if (created && !completed)
            {
                File.Delete(containerPath);
            }
        }
    }
}

/// <summary>One packing worker's state: its AES-GCM sealer and its hashing reader, reused for every chunk.</summary>
internal sealed class PackWorker(ChunkSealer sealer) : IDisposable
{
    private readonly HashingChunkReader _reader = new();

    public ChunkSealer Sealer => sealer;

    /// <summary>Reads chunk <paramref name="index"/> into <paramref name="destination"/>, records its SHA-256 in the tree and returns its CRC-64/NVME.</summary>
    public ulong ReadAndHash(SourceFile source, Span<byte> destination, long offset, long index, TreeDigestBuilder tree)
    {
        Span<byte> sha = stackalloc byte[SHA256.HashSizeInBytes];
        var crc = _reader.ReadAndHash(source, destination, offset, index, sha);
        tree.SetChunkDigest(index, sha);
        return crc;
    }

    public void Dispose()
    {
        _reader.Dispose();
        sealer.Dispose();
    }
}

/// <summary>The outcome of packing a file.</summary>
/// <param name="Container">What the container holds.</param>
/// <param name="WholeFileSha256">The sha256sum-compatible digest, when requested.</param>
/// <param name="Elapsed">Wall time.</param>
public sealed record PackResult(ContainerSummary Container, byte[]? WholeFileSha256, TimeSpan Elapsed);

/// <summary>A source file opened for positional reads, with errors that name it.</summary>
internal sealed class SourceFile : IDisposable
{
    private SourceFile(string path, SafeFileHandle handle)
    {
        Path = path;
        Handle = handle;
    }

    public string Path { get; }

    public SafeFileHandle Handle { get; }

    public static SourceFile Open(string path)
    {
        try
        {
            var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            FileHints.Sequential(handle);
            return new SourceFile(path, handle);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new SourceUnreadableException(path, e);
        }
    }

    /// <summary>Reads exactly <paramref name="destination"/>.Length bytes at <paramref name="offset"/>; a short file is an error.</summary>
    public void ReadExactly(Span<byte> destination, long offset, long chunkIndex)
    {
        var total = 0;
        while (total < destination.Length)
        {
            var read = RandomAccess.Read(Handle, destination[total..], offset + total);
            if (read == 0)
            {
                throw new IOException($"'{Path}' shrank while being read: chunk {chunkIndex} ended after {total} of {destination.Length} bytes.");
            }

            total += read;
        }
    }

    public void Dispose() => Handle.Dispose();
}

/// <summary>A source file that cannot be opened or read; says which and why.</summary>
public sealed class SourceUnreadableException(string path, Exception inner)
    : IOException($"Cannot read '{path}': {inner.Message}", inner)
{
    /// <summary>The file.</summary>
    public string SourcePath { get; } = path;
}

/// <summary>Sequential whole-file SHA-256 on its own thread, alongside the chunk workers.</summary>
internal static class WholeFileHasher
{
    public static Task<byte[]> HashAsync(SafeFileHandle file, CancellationToken cancellationToken) => Task.Factory.StartNew(
        () =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = GC.AllocateUninitializedArray<byte>(1 << 20, pinned: true);
            long offset = 0;
            int read;
            while ((read = RandomAccess.Read(file, buffer, offset)) > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                hash.AppendData(buffer, 0, read);
                offset += read;
            }

            return hash.GetHashAndReset();
        },
        cancellationToken,
        TaskCreationOptions.LongRunning,
        TaskScheduler.Default);
}
