using TurboMft.Engine.Buffers;
using TurboMft.Engine.Container;
using TurboMft.Engine.Crypto;
using TurboMft.Engine.Storage;
using TurboMft.Host.Metadata;

namespace TurboMft.Host.Release;

/// <summary>
/// Opens the decrypted plaintext of a committed version as a forward-only read stream for the scanner chain: chunks are
/// read, authenticated (AES-GCM), decoded and CRC-checked one at a time from the encrypted container, as a download
/// does, so plaintext never touches the disk and memory stays at two chunk buffers per open stream whatever the file
/// size. The buffers are the stream's own, not the request pool's: a chain that opens several streams at once can then
/// never wait on uploads (or on itself) for a buffer. (The scanner engineer's <c>ContainerPlaintextStream</c> can replace
/// it; the chain only sees a <see cref="Stream"/>.)
/// </summary>
internal static class VersionPlaintext
{
    /// <summary>A new stream over <paramref name="version"/>'s container; throws <see cref="ContainerException"/> or <see cref="IOException"/> if it cannot be opened.</summary>
    public static Stream Open(LocalObjectStore store, KeyRing keys, FileVersion version)
    {
        var reader = ContainerReader.Open(store.GetObjectPath(version.ObjectKey), (fileId, wrapped) => keys.Unwrap(WrappedKey.Read(wrapped), fileId));
        try
        {
            return new ChunkStream(reader, new ChunkBufferPool(ContainerFormat.BufferSizeFor(reader.Geometry.ChunkSize), 2));
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    private sealed class ChunkStream(ContainerReader reader, ChunkBufferPool pool) : Stream
    {
        private readonly ChunkSealer _opener = reader.CreateOpener();
        private ChunkBuffer? _record;
        private ChunkBuffer? _plain;
        private long _nextChunk;
        private long _position;
        private int _offset;
        private int _available;
        private bool _disposed;

        public override bool CanRead => !_disposed;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => reader.Geometry.FileSize;

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException("The plaintext stream is read forward only.");
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (buffer.IsEmpty)
            {
                return 0;
            }

            if (_available == 0 && !Fill())
            {
                return 0;
            }

            var count = Math.Min(buffer.Length, _available);
            _plain!.Span.Slice(_offset, count).CopyTo(buffer);
            _offset += count;
            _available -= count;
            _position += count;
            return count;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return ValueTask.FromResult(Read(buffer.Span));
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("The plaintext stream is read forward only.");

        public override void SetLength(long value) => throw new NotSupportedException("The plaintext stream is read-only.");

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("The plaintext stream is read-only.");

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_disposed)
            {
                _disposed = true;
                if (_plain is not null)
                {
                    // Plaintext does not linger in a pooled buffer that a later request rents.
                    System.Security.Cryptography.CryptographicOperations.ZeroMemory(_plain.Span);
                    pool.Return(_plain);
                }

                if (_record is not null)
                {
                    pool.Return(_record);
                }

                _opener.Dispose();
                reader.Dispose();
                pool.Dispose();
            }

            base.Dispose(disposing);
        }

        private bool Fill()
        {
            var geometry = reader.Geometry;
            while (_position < geometry.FileSize && _nextChunk < geometry.ChunkCount)
            {
                _record ??= pool.Rent();
                _plain ??= pool.Rent();
                _available = reader.ReadChunk(_opener, _nextChunk++, _record, _plain.Span);
                _offset = 0;
                if (_available > 0)
                {
                    return true;
                }
            }

            return false;
        }
    }
}
