using System.Buffers;
using System.IO.Hashing;

namespace TurboMft.Host.Scanning;

/// <summary>Base of the archive scanner's forward-only, read-only streams.</summary>
internal abstract class ForwardReadStream : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public abstract override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <summary>Reads and discards everything left.</summary>
    public static async Task DrainAsync(Stream stream, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false) > 0)
            {
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

/// <summary>Bytes already read for type detection, then the rest of the stream.</summary>
internal sealed class PrefixedStream(ReadOnlyMemory<byte> prefix, Stream rest) : ForwardReadStream
{
    private ReadOnlyMemory<byte> _prefix = prefix;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_prefix.IsEmpty)
        {
            return await rest.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        var count = Math.Min(buffer.Length, _prefix.Length);
        _prefix[..count].CopyTo(buffer);
        _prefix = _prefix[count..];
        return count;
    }
}

/// <summary>Exactly <paramref name="length"/> bytes of <paramref name="inner"/>: a tar entry's data; truncation is malformed.</summary>
internal sealed class BoundedStream(Stream inner, long length, string what) : ForwardReadStream
{
    private readonly long _length = length;
    private long _remaining = length;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_remaining == 0 || buffer.IsEmpty)
        {
            return 0;
        }

        var read = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _remaining)], cancellationToken).ConfigureAwait(false);
        if (read == 0)
        {
            throw new InvalidDataException($"{what} is cut short: {_remaining} of {_length} bytes missing.");
        }

        _remaining -= read;
        return read;
    }
}

/// <summary>Counts the bytes read through it: the compressed side of a gzip stream.</summary>
internal sealed class CountingStream(Stream inner) : ForwardReadStream
{
    public long Count { get; private set; }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Count += read;
        return read;
    }
}

/// <summary>
/// An entry's content as it comes out of its decompressor (or stored): counts it, keeps its CRC-32, and enforces the walk's
/// limits as the bytes flow, so a bomb is stopped after about <see cref="ArchiveLimits.RatioFloorBytes"/>, not after
/// expanding.
/// </summary>
internal sealed class EntryContentStream(Stream inner, ArchiveWalk walk, string entry, Func<long>? compressedBytes, bool computeCrc) : ForwardReadStream
{
    private readonly Crc32? _crc = computeCrc ? new Crc32() : null;

    public long Length64 { get; private set; }

    public uint Crc => _crc?.GetCurrentHashAsUInt32() ?? 0;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        if (read > 0)
        {
            _crc?.Append(buffer.Span[..read]);
            Length64 += read;
            if (compressedBytes is not null)
            {
                walk.AddExpanded(entry, read, Length64, compressedBytes());
            }
        }

        return read;
    }
}
