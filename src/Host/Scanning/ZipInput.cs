using System.Buffers;
using System.Buffers.Binary;

namespace TurboMft.Host.Scanning;

/// <summary>
/// A forward-only buffered reader of a ZIP stream that keeps the last <see cref="History"/> bytes it handed out, so the
/// bytes a decompressor read past the end of its data can be given back (entries whose sizes only follow in a data
/// descriptor). The archive is read once, front to back, never seeked: it may itself be an entry of another archive.
/// </summary>
internal sealed class ZipInput : IDisposable
{
    public const int History = 32 * 1024;

    /// <summary>The most a decompressor is given per read: what it can have read past the end of its data.</summary>
    public const int MaxHandOut = 8 * 1024;

    private const int Capacity = 128 * 1024;
    private readonly Stream _inner;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(Capacity);
    private int _start;
    private int _end;
    private long _base;
    private bool _eof;

    public ZipInput(Stream inner) => _inner = inner;

    /// <summary>Offset in the archive of the next byte.</summary>
    public long Position => _base + _start;

    public int Available => _end - _start;

    /// <summary>The next <paramref name="count"/> buffered bytes (after <see cref="EnsureAsync"/>).</summary>
    public ReadOnlySpan<byte> Peek(int count) => _buffer.AsSpan(_start, count);

    /// <summary>Buffers at least <paramref name="count"/> bytes (at most 64 KiB); false at the end of the stream.</summary>
    public async ValueTask<bool> EnsureAsync(int count, CancellationToken cancellationToken)
    {
        while (_end - _start < count && !_eof)
        {
            if (_end == _buffer.Length)
            {
                Compact();
            }

            var read = await _inner.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                _eof = true;
            }

            _end += read;
        }

        return _end - _start >= count;
    }

    public void Advance(int count) => _start += count;

    /// <summary>Steps back over bytes already handed out (at most <see cref="History"/>).</summary>
    public void Rewind(int count)
    {
        if (count > _start)
        {
            throw new InvalidOperationException("Cannot rewind past the kept history.");
        }

        _start -= count;
    }

    public async Task<uint> ReadUInt32Async(CancellationToken cancellationToken)
    {
        await RequireAsync(4, cancellationToken).ConfigureAwait(false);
        var value = BinaryPrimitives.ReadUInt32LittleEndian(Peek(4));
        Advance(4);
        return value;
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes or throws <see cref="InvalidDataException"/>.</summary>
    public async Task<byte[]> ReadBytesAsync(int count, CancellationToken cancellationToken)
    {
        var bytes = new byte[count];
        var done = 0;
        while (done < count)
        {
            await RequireAsync(1, cancellationToken).ConfigureAwait(false);
            var take = Math.Min(Available, count - done);
            Peek(take).CopyTo(bytes.AsSpan(done));
            Advance(take);
            done += take;
        }

        return bytes;
    }

    /// <summary>Buffers <paramref name="count"/> bytes or throws <see cref="InvalidDataException"/> (the archive is truncated).</summary>
    public async ValueTask RequireAsync(int count, CancellationToken cancellationToken)
    {
        if (!await EnsureAsync(count, cancellationToken).ConfigureAwait(false))
        {
            throw new InvalidDataException($"the archive ends unexpectedly at offset {Position + Available}.");
        }
    }

    public async Task SkipAsync(long count, CancellationToken cancellationToken)
    {
        while (count > 0)
        {
            await RequireAsync(1, cancellationToken).ConfigureAwait(false);
            var take = (int)Math.Min(Available, count);
            Advance(take);
            count -= take;
        }
    }

    /// <summary>Hands out at most <see cref="MaxHandOut"/> bytes per read; the caller rewinds what was not used.</summary>
    public async ValueTask<int> ReadSomeAsync(Memory<byte> destination, long limit, CancellationToken cancellationToken)
    {
        if (limit == 0 || destination.IsEmpty)
        {
            return 0;
        }

        if (Available == 0 && !await EnsureAsync(1, cancellationToken).ConfigureAwait(false))
        {
            return 0;
        }

        var take = (int)Math.Min(Math.Min(Available, destination.Length), Math.Min(limit, MaxHandOut));
        Peek(take).CopyTo(destination.Span);
        Advance(take);
        return take;
    }

    public void Dispose()
    {
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }

    private void Compact()
    {
        var keepFrom = Math.Max(0, _start - History);
        if (keepFrom == 0)
        {
            // Ensure asks for at most 64 KiB beyond 32 KiB of history in a 128 KiB buffer: this cannot happen.
            throw new InvalidOperationException("ZIP input buffer overflow.");
        }

        Buffer.BlockCopy(_buffer, keepFrom, _buffer, 0, _end - keepFrom);
        _base += keepFrom;
        _start -= keepFrom;
        _end -= keepFrom;
    }

    /// <summary>A stream of the next bytes of the archive, at most <paramref name="length"/> (null: until the caller stops).</summary>
    public Stream OpenData(long? length, string what) => new DataStream(this, length, what);

    private sealed class DataStream(ZipInput input, long? length, string what) : ForwardReadStream
    {
        private long _handed;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var limit = length is { } l ? l - _handed : long.MaxValue;
            var read = await input.ReadSomeAsync(buffer, limit, cancellationToken).ConfigureAwait(false);
            if (read == 0 && limit > 0 && !buffer.IsEmpty && length is not null)
            {
                throw new InvalidDataException($"{what} is cut short: the archive ends {limit} bytes early.");
            }

            _handed += read;
            return read;
        }

        public long Handed => _handed;
    }

    /// <summary>
    /// A stream of stored (uncompressed) data whose size only follows in a signed data descriptor: it ends where the bytes
    /// ahead are a descriptor whose CRC-32 and sizes match the data handed out so far, leaving the input at the descriptor.
    /// </summary>
    public Stream OpenStoredUntilDescriptor(string what) => new StoredUntilDescriptorStream(this, what);

    private sealed class StoredUntilDescriptorStream(ZipInput input, string what) : ForwardReadStream
    {
        private const int Lookahead = 24;
        private readonly System.IO.Hashing.Crc32 _crc = new();
        private long _count;
        private bool _ended;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_ended || buffer.IsEmpty)
            {
                return 0;
            }

            await input.EnsureAsync(Lookahead + 1, cancellationToken).ConfigureAwait(false);
            var available = input.Peek(input.Available);
            if (available.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(available) == 0x08074B50 && EndsHere(available[4..]))
            {
                _ended = true;
                return 0;
            }

            if (available.Length <= Lookahead)
            {
                throw new InvalidDataException($"{what} is cut short: the archive ends before its data descriptor.");
            }

            // Hand out data up to the next possible descriptor (a signature further on), never past the look-ahead margin.
            var next = available[1..^Lookahead].IndexOf("PK\x07\x08"u8);
            var take = next < 0 ? available.Length - Lookahead : next + 1;
            take = Math.Min(take, buffer.Length);
            available[..take].CopyTo(buffer.Span);
            _crc.Append(available[..take]);
            _count += take;
            input.Advance(take);
            return take;
        }

        private bool EndsHere(ReadOnlySpan<byte> descriptor)
        {
            if (descriptor.Length < 12 || BinaryPrimitives.ReadUInt32LittleEndian(descriptor) != _crc.GetCurrentHashAsUInt32())
            {
                return false;
            }

            return (BinaryPrimitives.ReadUInt32LittleEndian(descriptor[4..]) == _count && BinaryPrimitives.ReadUInt32LittleEndian(descriptor[8..]) == _count)
                || (descriptor.Length >= 20 && (long)BinaryPrimitives.ReadUInt64LittleEndian(descriptor[4..]) == _count && (long)BinaryPrimitives.ReadUInt64LittleEndian(descriptor[12..]) == _count);
        }
    }

    /// <summary>Bytes a stream from <see cref="OpenData"/> has handed out.</summary>
    public static long HandedBy(Stream data) => ((DataStream)data).Handed;
}
