using TurboMft.Engine.Buffers;
using TurboMft.Engine.Container;
using TurboMft.Engine.Integrity;

namespace TurboMft.Engine.Client;

/// <summary>
/// A committed container as an <see cref="IChunkSource"/> (the client's port for sources other than a local file; kept on
/// the client's side so that the container format does not depend on the client): each chunk is read, authenticated, decoded and CRC-checked by
/// <see cref="ContainerReader"/> into the caller's buffer, and its CRC-64 and SHA-256 come from the authenticated trailer,
/// so replicating a file costs one decryption per chunk and no hashing on the sending side.
/// </summary>
public sealed class ContainerChunkSource : IChunkSource
{
    private readonly ContainerReader _reader;
    private readonly ChunkBufferPool _scratch;

    private ContainerChunkSource(ContainerReader reader, ChunkBufferPool scratch)
    {
        _reader = reader;
        _scratch = scratch;
    }

    /// <inheritdoc />
    public long Size => _reader.Geometry.FileSize;

    /// <inheritdoc />
    public int ChunkSize => _reader.Geometry.ChunkSize;

    /// <inheritdoc />
    public FileDigest Digest => _reader.Digest;

    /// <summary>
    /// Opens the completed container at <paramref name="path"/>. Each reader rents one record buffer from
    /// <paramref name="scratch"/> (of <see cref="ContainerFormat.BufferSizeFor"/> the file's chunk size; shared by many
    /// sources, so replicating thousands of small files allocates no buffer per file) and returns it when disposed.
    /// </summary>
    /// <exception cref="ContainerException">The container is incomplete, altered or opened with the wrong key.</exception>
    public static ContainerChunkSource Open(string path, DataKeyResolver resolveKey, ChunkBufferPool scratch)
    {
        ArgumentNullException.ThrowIfNull(scratch);
        return Open(ContainerReader.Open(path, resolveKey), scratch);
    }

    /// <summary>
    /// <see cref="Open(string, DataKeyResolver, ChunkBufferPool)"/> for an object of a store
    /// (<see cref="Storage.IObjectStore.OpenRead"/>), which the source owns from here on (disposed on failure too).
    /// </summary>
    /// <exception cref="ContainerException">The container is incomplete, altered or opened with the wrong key.</exception>
    public static ContainerChunkSource Open(Storage.IRandomAccessObject container, DataKeyResolver resolveKey, ChunkBufferPool scratch)
    {
        if (scratch is null)
        {
            container?.Dispose();
            throw new ArgumentNullException(nameof(scratch));
        }

        return Open(ContainerReader.Open(container!, resolveKey), scratch);
    }

    private static ContainerChunkSource Open(ContainerReader reader, ChunkBufferPool scratch)
    {
        try
        {
            reader.CheckFileDigest();
            if (scratch.BufferSize < ContainerFormat.BufferSizeFor(reader.Geometry.ChunkSize))
            {
                throw new ArgumentException($"The scratch buffers hold {scratch.BufferSize} bytes; chunks of {reader.Geometry.ChunkSize} need {ContainerFormat.BufferSizeFor(reader.Geometry.ChunkSize)}.", nameof(scratch));
            }

            return new ContainerChunkSource(reader, scratch);
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public int EncodedBufferSize => ContainerFormat.BufferSizeFor(ChunkSize);

    /// <inheritdoc />
    public ReadOnlySpan<byte> ChunkSha256(long index) => _reader.GetChunkDigest(index);

    /// <inheritdoc />
    public IChunkSourceReader OpenReader() => new Reader(this);

    /// <inheritdoc />
    public void Dispose() => _reader.Dispose();

    private sealed class Reader(ContainerChunkSource source) : IChunkSourceReader
    {
        private readonly Crypto.ChunkSealer _opener = source._reader.CreateOpener();

        public ulong ReadChunk(long index, Span<byte> destination)
        {
            // Plaintext reads are rare (one-shot replicas of small files): the record buffer is rented for the call only.
            var record = source._scratch.Rent(CancellationToken.None);
            try
            {
                var length = source._reader.ReadChunk(_opener, index, record, destination);
                if (length != destination.Length)
                {
                    throw new ContainerException(ContainerFault.RecordCorrupt, source._reader.Path, index, $"the chunk holds {length} bytes, not {destination.Length}.");
                }
            }
            finally
            {
                source._scratch.Return(record);
            }

            return source._reader.GetEntry(index).PlainCrc64;
        }

        public EncodedChunk ReadEncoded(long index, ChunkBuffer buffer)
        {
            var entry = source._reader.ReadStoredChunk(_opener, index, buffer);
            return new EncodedChunk(ContainerFormat.RecordHeaderSize, entry.StoredLength, entry.Encoding == Compression.ChunkEncoding.Lz4, entry.PlainCrc64);
        }

        public void Dispose() => _opener.Dispose();
    }
}
