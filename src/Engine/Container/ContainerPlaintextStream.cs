using System.Security.Cryptography;
using TurboMft.Engine.Buffers;
using TurboMft.Engine.Crypto;

namespace TurboMft.Engine.Container;

/// <summary>
/// A read-only stream of a committed container's plaintext, decrypted and verified one chunk at a time into two pooled
/// buffers (the record and its plaintext), so content scanners read a file of any size in constant memory and the
/// plaintext never touches the disk. Seeking is supported: the chunk holding the new position is read on the next read.
/// Faults surface as <see cref="ContainerException"/> naming the container and the chunk.
/// </summary>
public sealed class ContainerPlaintextStream : Stream
{
    private readonly ContainerReader _reader;
    private readonly ChunkSealer _opener;
    private readonly ChunkBufferPool _pool;
    private readonly bool _ownsPool;
    private readonly bool _verifyChunkDigests;
    private ChunkBuffer? _record;
    private ChunkBuffer? _plain;
    private long _loadedChunk = -1;
    private int _loadedLength;
    private long _position;
    private bool _disposed;

    private ContainerPlaintextStream(ContainerReader reader, ChunkBufferPool pool, bool ownsPool, bool verifyChunkDigests)
    {
        _reader = reader;
        _opener = reader.CreateOpener();
        _pool = pool;
        _ownsPool = ownsPool;
        _verifyChunkDigests = verifyChunkDigests;
    }

    /// <summary>The container being read.</summary>
    public string ContainerPath => _reader.Path;

    /// <summary>The file's recorded <c>sha256-tree</c> digest.</summary>
    public string Digest => _reader.Digest.ToString();

    /// <inheritdoc />
    public override bool CanRead => !_disposed;

    /// <inheritdoc />
    public override bool CanSeek => !_disposed;

    /// <inheritdoc />
    public override bool CanWrite => false;

    /// <summary>The plaintext size in bytes.</summary>
    public override long Length => _reader.Geometry.FileSize;

    /// <inheritdoc />
    public override long Position
    {
        get => _position;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            ObjectDisposedException.ThrowIf(_disposed, this);
            _position = value;
        }
    }

    /// <summary>
    /// Opens the completed container at <paramref name="containerPath"/>, authenticating its trailer and its chunk-digest
    /// tree. <paramref name="resolveKey"/> unwraps the data key (on a server:
    /// <c>(fileId, wrapped) =&gt; keys.Unwrap(WrappedKey.Read(wrapped), fileId)</c>). Buffers come from
    /// <paramref name="pool"/> (whose buffers must hold <see cref="ContainerFormat.BufferSizeFor"/> bytes of the file's chunk
    /// size, e.g. <c>ServerBuffers.For(chunkSize)</c>), else from a private two-buffer pool. With
    /// <paramref name="verifyChunkDigests"/> every chunk's SHA-256 is also checked against the trailer, on top of its
    /// AES-GCM tag and CRC-64.
    /// </summary>
    /// <exception cref="ContainerException">The container is incomplete, altered or opened with the wrong key.</exception>
    public static ContainerPlaintextStream Open(string containerPath, DataKeyResolver resolveKey, ChunkBufferPool? pool = null, bool verifyChunkDigests = true) =>
        Open(ContainerReader.Open(containerPath, resolveKey), pool, verifyChunkDigests);

    /// <summary>
    /// <see cref="Open(string, DataKeyResolver, ChunkBufferPool?, bool)"/> for an object of a store
    /// (<see cref="Storage.IObjectStore.OpenRead"/>), which the stream owns from here on (disposed on failure too).
    /// </summary>
    /// <exception cref="ContainerException">The container is incomplete, altered or opened with the wrong key.</exception>
    public static ContainerPlaintextStream Open(Storage.IRandomAccessObject container, DataKeyResolver resolveKey, ChunkBufferPool? pool = null, bool verifyChunkDigests = true) =>
        Open(ContainerReader.Open(container, resolveKey), pool, verifyChunkDigests);

    private static ContainerPlaintextStream Open(ContainerReader reader, ChunkBufferPool? pool, bool verifyChunkDigests)
    {
        try
        {
            reader.CheckFileDigest();
            var needed = ContainerFormat.BufferSizeFor(reader.Geometry.ChunkSize);
            if (pool is not null && pool.BufferSize < needed)
            {
                throw new ArgumentException($"The buffer pool's {pool.BufferSize}-byte buffers cannot hold a record of {reader.Geometry.ChunkSize}-byte chunks ({needed} bytes needed).", nameof(pool));
            }

            return new ContainerPlaintextStream(reader, pool ?? new ChunkBufferPool(needed, 2), pool is null, verifyChunkDigests);
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (buffer.IsEmpty || _position >= Length)
        {
            return 0;
        }

        if (_plain is null)
        {
            _record ??= _pool.Rent();
            _plain = _pool.Rent();
        }

        return CopyOut(buffer);
    }

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        if (buffer.IsEmpty || _position >= Length)
        {
            return 0;
        }

        if (_plain is null)
        {
            // Async here so a caller waits for the server's buffer budget without blocking a thread.
            _record ??= await _pool.RentAsync(cancellationToken).ConfigureAwait(false);
            _plain = await _pool.RentAsync(cancellationToken).ConfigureAwait(false);
        }

        // Decryption is CPU work on data already read positionally; it completes synchronously.
        return CopyOut(buffer.Span);
    }

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin)
    {
        Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            SeekOrigin.End => Length + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };
        return _position;
    }

    /// <inheritdoc />
    public override void Flush()
    {
    }

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException("The plaintext of a container is read-only.");

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("The plaintext of a container is read-only.");

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            if (_plain is not null)
            {
                // Plaintext (possibly of a chunk that failed its checks) does not linger in a pooled buffer. No chunk is
                // longer than the file, so a small file clears its own bytes, not a whole chunk-sized buffer.
                var written = Math.Min(_reader.Geometry.ChunkSize, _reader.Geometry.FileSize);
                CryptographicOperations.ZeroMemory(_plain.Span[..(int)Math.Min(_plain.Capacity, written)]);
                _pool.Return(_plain);
                _plain = null;
            }

            if (_record is not null)
            {
                _pool.Return(_record);
                _record = null;
            }

            _opener.Dispose();
            _reader.Dispose();
            if (_ownsPool)
            {
                _pool.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    private int CopyOut(Span<byte> destination)
    {
        var geometry = _reader.Geometry;
        var index = _position / geometry.ChunkSize;
        if (index != _loadedChunk)
        {
            _loadedChunk = -1;
            _loadedLength = _reader.ReadChunk(_opener, index, _record!, _plain!.Span);
            if (_verifyChunkDigests)
            {
                _reader.CheckChunkDigest(index, _plain.Span[.._loadedLength]);
            }

            _loadedChunk = index;
        }

        var from = (int)(_position - geometry.OffsetOf(index));
        var count = Math.Min(destination.Length, _loadedLength - from);
        _plain!.Span.Slice(from, count).CopyTo(destination);
        _position += count;
        return count;
    }
}
