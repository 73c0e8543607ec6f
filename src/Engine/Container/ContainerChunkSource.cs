using TurboMft.Engine.Buffers;
using TurboMft.Engine.Client;
using TurboMft.Engine.Integrity;

namespace TurboMft.Engine.Container;

/// <summary>
/// A committed container as an <see cref="IChunkSource"/>: each chunk is read, authenticated, decoded and CRC-checked by
/// <see cref="ContainerReader"/> into the caller's buffer, and its CRC-64 and SHA-256 come from the authenticated trailer,
/// so replicating a file costs one decryption per chunk and no hashing on the sending side.
/// </summary>
public sealed class ContainerChunkSource : IChunkSource
{
    private readonly ContainerReader _reader;
    private readonly ChunkBufferPool _scratch;

    private ContainerChunkSource(ContainerReader reader, int readers)
    {
        _reader = reader;
        _scratch = new ChunkBufferPool(ContainerFormat.BufferSizeFor(reader.Geometry.ChunkSize), Math.Max(1, readers));
    }

    /// <inheritdoc />
    public long Size => _reader.Geometry.FileSize;

    /// <inheritdoc />
    public int ChunkSize => _reader.Geometry.ChunkSize;

    /// <inheritdoc />
    public FileDigest Digest => _reader.Digest;

    /// <summary>Opens the completed container at <paramref name="path"/> for up to <paramref name="readers"/> parallel readers.</summary>
    /// <exception cref="ContainerException">The container is incomplete, altered or opened with the wrong key.</exception>
    public static ContainerChunkSource Open(string path, DataKeyResolver resolveKey, int readers)
    {
        var reader = ContainerReader.Open(path, resolveKey);
        try
        {
            reader.CheckFileDigest();
            return new ContainerChunkSource(reader, readers);
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public ReadOnlySpan<byte> ChunkSha256(long index) => _reader.GetChunkDigest(index);

    /// <inheritdoc />
    public IChunkSourceReader OpenReader() => new Reader(this);

    /// <inheritdoc />
    public void Dispose()
    {
        _reader.Dispose();
        _scratch.Dispose();
    }

    private sealed class Reader(ContainerChunkSource source) : IChunkSourceReader
    {
        private readonly Crypto.ChunkSealer _opener = source._reader.CreateOpener();
        private readonly ChunkBuffer _record = source._scratch.Rent(CancellationToken.None);

        public ulong ReadChunk(long index, Span<byte> destination)
        {
            var length = source._reader.ReadChunk(_opener, index, _record, destination);
            if (length != destination.Length)
            {
                throw new ContainerException(ContainerFault.RecordCorrupt, source._reader.Path, index, $"the chunk holds {length} bytes, not {destination.Length}.");
            }

            return source._reader.GetEntry(index).PlainCrc64;
        }

        public (int Length, bool Lz4, ulong Crc64) ReadEncoded(long index, Span<byte> destination)
        {
            var entry = source._reader.ReadStoredChunk(_opener, index, _record, destination);
            return (entry.StoredLength, entry.Encoding == Compression.ChunkEncoding.Lz4, entry.PlainCrc64);
        }

        public void Dispose()
        {
            _opener.Dispose();
            source._scratch.Return(_record);
        }
    }
}
