using System.Security.Cryptography;
using TurboMft.Engine.Buffers;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Compression;
using TurboMft.Engine.Crypto;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Storage;

namespace TurboMft.Engine.Container;

/// <summary>Resolves a container's data key from its file id and wrapped-key field (typically a KeyRing unwrap).</summary>
public delegate DataKey DataKeyResolver(Guid fileId, ReadOnlySpan<byte> wrappedKey);

/// <summary>
/// Reads a completed container: the trailer is authenticated on open, then any chunk can be read at random, from any
/// number of threads (one <see cref="ChunkSealer"/> per thread). Nothing unauthenticated is ever returned as plaintext.
/// It reads a file of its own or an object store's object (<see cref="IRandomAccessObject"/>), by offset.
/// </summary>
public sealed class ContainerReader : IDisposable
{
    private readonly IRandomAccessObject _file;
    private readonly DataKey _dataKey;
    private readonly TrailerContents _trailer;

    private ContainerReader(IRandomAccessObject file, ContainerHeader header, DataKey dataKey, TrailerContents trailer, long length)
    {
        _file = file;
        Header = header;
        _dataKey = dataKey;
        _trailer = trailer;
        Length = length;
    }

    /// <summary>The container file (for a stored object: where its store keeps it).</summary>
    public string Path => _file.Name;

    /// <summary>The container's header.</summary>
    public ContainerHeader Header { get; }

    /// <summary>File size and chunking.</summary>
    public ChunkGeometry Geometry => _trailer.Geometry;

    /// <summary>The file's <c>sha256-tree</c>, as recorded at completion.</summary>
    public FileDigest Digest => _trailer.Digest;

    /// <summary>The whole-file SHA-256 if it was recorded, else null.</summary>
    public ReadOnlyMemory<byte>? WholeFileSha256 => _trailer.WholeFileSha256;

    /// <summary>Bytes of the container file.</summary>
    public long Length { get; }

    /// <summary>The index entry of chunk <paramref name="index"/>.</summary>
    public ChunkEntry GetEntry(long index) => _trailer.Entries[index];

    /// <summary>The recorded SHA-256 of chunk <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> GetChunkDigest(long index) => _trailer.Digests.AsSpan((int)index * SHA256.HashSizeInBytes, SHA256.HashSizeInBytes);

    /// <summary>
    /// Opens a completed container and authenticates its trailer. The resolver's key is owned by the reader afterwards.
    /// Throws <see cref="ContainerException"/> (NotAContainer, HeaderCorrupt, TrailerMissing, TrailerCorrupt).
    /// </summary>
    public static ContainerReader Open(string path, DataKeyResolver resolveKey)
    {
        ArgumentNullException.ThrowIfNull(resolveKey);
        return Open(LocalObjectFile.OpenForReading(path), resolveKey);
    }

    /// <summary>
    /// <see cref="Open(string, DataKeyResolver)"/> for an object of a store (<see cref="IObjectStore.OpenRead"/>): the reader
    /// owns <paramref name="file"/> from here on, and disposes it on failure too.
    /// </summary>
    public static ContainerReader Open(IRandomAccessObject file, DataKeyResolver resolveKey)
    {
        ArgumentNullException.ThrowIfNull(file);
        DataKey? key = null;
        try
        {
            ArgumentNullException.ThrowIfNull(resolveKey);
            var path = file.Name;
            var length = file.Length;
            var header = ContainerHeader.ReadFrom(file);
            Span<byte> footer = stackalloc byte[ContainerFormat.FooterSize];
            if (length < ContainerFormat.HeaderSize + ContainerFormat.FooterSize ||
                file.Read(footer, length - ContainerFormat.FooterSize) != ContainerFormat.FooterSize ||
                !ContainerTrailer.TryReadFooter(footer, length, out var trailerOffset, out var sealedLength))
            {
                throw new ContainerException(ContainerFault.TrailerMissing, path, null, "no valid footer at the end of the file: the container is incomplete or truncated; `ContainerRecovery` can list its complete records.");
            }

            key = resolveKey(header.FileId, header.WrappedKey);
            var sealedTrailer = new byte[sealedLength];
            if (file.Read(sealedTrailer, trailerOffset) != sealedLength)
            {
                throw new ContainerException(ContainerFault.TrailerMissing, path, null, "the trailer is cut short.");
            }

            var plain = new byte[sealedLength - ChunkSealer.NonceSize - ChunkSealer.TagSize];
            if (!ContainerTrailer.TryOpen(key, header, sealedTrailer, plain))
            {
                throw new ContainerException(ContainerFault.TrailerCorrupt, path, null, "the trailer does not authenticate: wrong key, or the header or trailer was altered.");
            }

            if (!ContainerTrailer.TryParse(plain, header.ChunkSize, out var trailer))
            {
                throw new ContainerException(ContainerFault.TrailerCorrupt, path, null, "the trailer's fields are inconsistent.");
            }

            foreach (var entry in trailer.Entries)
            {
                if (entry.Offset < ContainerFormat.HeaderSize || entry.Offset + entry.RecordLength > trailerOffset)
                {
                    throw new ContainerException(ContainerFault.TrailerCorrupt, path, entry.Index, "the index points outside the record area.");
                }
            }

            return new ContainerReader(file, header, key, trailer, length);
        }
        catch
        {
            key?.Dispose();
            file.Dispose();
            throw;
        }
    }

    /// <summary>An opener for one thread (AesGcm is not thread-safe); dispose it when the thread is done.</summary>
    public ChunkSealer CreateOpener() => new(_dataKey, Header.FileId);

    /// <summary>
    /// Reads, authenticates, decodes and CRC-checks chunk <paramref name="index"/> into <paramref name="destination"/>,
    /// using <paramref name="scratch"/> (a buffer of <see cref="ContainerFormat.BufferSizeFor"/> bytes) for the record.
    /// Returns the plaintext length. Throws <see cref="ContainerException"/> naming the chunk on any fault.
    /// </summary>
    public int ReadChunk(ChunkSealer opener, long index, ChunkBuffer scratch, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(opener);
        ArgumentNullException.ThrowIfNull(scratch);
        var expected = _trailer.Entries[index];
        var record = ReadRecord(index, scratch);
        var plain = destination[..expected.PlainLength];
        var ciphertext = record.Slice(ContainerFormat.RecordHeaderSize, expected.StoredLength);
        Open(opener, expected, record, expected.Encoding == ChunkEncoding.Raw ? plain : ciphertext);

        if (expected.Encoding != ChunkEncoding.Raw)
        {
            try
            {
                ChunkCompressor.Decode(expected.Encoding, ciphertext, plain);
            }
            catch (ChunkDecodeException e)
            {
                throw new ContainerException(ContainerFault.ChunkDecodeFailed, Path, index, e.Message, e);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(ciphertext);
            }
        }

        if (ChunkCrc.Compute(plain) != expected.PlainCrc64)
        {
            CryptographicOperations.ZeroMemory(plain);
            throw new ContainerException(ContainerFault.ChunkCrcMismatch, Path, index, "the decoded plaintext does not match its CRC-64/NVME.");
        }

        return plain.Length;
    }

    /// <summary>
    /// Reads and authenticates chunk <paramref name="index"/> into <paramref name="record"/> (a buffer of
    /// <see cref="ContainerFormat.BufferSizeFor"/> bytes) and decrypts it there in its stored encoding, without decoding:
    /// the payload (an LZ4 block, or the plaintext) is at <see cref="ContainerFormat.RecordHeaderSize"/>, its length the
    /// entry's stored length. Replication sends it as it is and lets the receiver decode and CRC-check it.
    /// </summary>
    public ChunkEntry ReadStoredChunk(ChunkSealer opener, long index, ChunkBuffer record)
    {
        ArgumentNullException.ThrowIfNull(opener);
        ArgumentNullException.ThrowIfNull(record);
        var expected = _trailer.Entries[index];
        var sealedRecord = ReadRecord(index, record);
        Open(opener, expected, sealedRecord, sealedRecord.Slice(ContainerFormat.RecordHeaderSize, expected.StoredLength));
        return expected;
    }

    /// <summary>Throws <see cref="ContainerException"/> (ChunkDigestMismatch) unless <paramref name="plaintext"/> hashes to chunk <paramref name="index"/>'s recorded SHA-256.</summary>
    public void CheckChunkDigest(long index, ReadOnlySpan<byte> plaintext)
    {
        Span<byte> sha = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(plaintext, sha);
        if (!CryptographicOperations.FixedTimeEquals(sha, GetChunkDigest(index)))
        {
            throw new ContainerException(ContainerFault.ChunkDigestMismatch, Path, index, "the chunk's SHA-256 differs from the trailer's.");
        }
    }

    /// <summary>Throws <see cref="ContainerException"/> (FileDigestMismatch) unless the recorded chunk digests hash to the recorded <c>sha256-tree</c>.</summary>
    public void CheckFileDigest()
    {
        if (TreeDigestBuilder.Compute(Geometry, _trailer.Digests) != Digest)
        {
            throw new ContainerException(ContainerFault.FileDigestMismatch, Path, null, "the chunk digests do not hash to the recorded sha256-tree.");
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _dataKey.Dispose();
        _file.Dispose();
    }

    private Span<byte> ReadRecord(long index, ChunkBuffer scratch)
    {
        var expected = _trailer.Entries[index];
        var record = scratch.Span[..expected.RecordLength];
        if (_file.Read(record, expected.Offset) != record.Length)
        {
            throw new ContainerException(ContainerFault.RecordCorrupt, Path, index, "the record is cut short.");
        }

        if (!ChunkRecord.TryReadHeader(record, expected.Offset, out var found))
        {
            throw new ContainerException(ContainerFault.RecordCorrupt, Path, index, $"no valid record header at offset {expected.Offset}.");
        }

        if (found != expected)
        {
            throw new ContainerException(ContainerFault.ChunkOutOfPlace, Path, index, $"the record at offset {expected.Offset} claims chunk {found.Index} ({found.PlainLength} bytes, {found.Encoding}); records were swapped or moved.");
        }

        return record;
    }

    private void Open(ChunkSealer opener, ChunkEntry expected, Span<byte> record, Span<byte> payload)
    {
        var ciphertext = record.Slice(ContainerFormat.RecordHeaderSize, expected.StoredLength);
        var nonce = record.Slice(ChunkRecord.NonceOffset, ChunkSealer.NonceSize);
        var tag = record[^ChunkSealer.TagSize..];
        if (!opener.TryOpen(expected.Info, nonce, ciphertext, tag, payload))
        {
            throw new ContainerException(ContainerFault.ChunkAuthenticationFailed, Path, expected.Index, "the record does not authenticate: altered bytes, a record from another file, or the wrong key.");
        }
    }
}

/// <summary>The <see cref="DataKeyResolver"/> of a master key ring: the wrapped key of a container's header unwrapped for its file.</summary>
public static class KeyRingResolution
{
    /// <summary>Resolves a container's data key with <paramref name="keys"/> (docs/format.md, "Wrapped data key").</summary>
    public static DataKeyResolver Resolver(this KeyRing keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        return (fileId, wrapped) => keys.Unwrap(WrappedKey.Read(wrapped), fileId);
    }
}
