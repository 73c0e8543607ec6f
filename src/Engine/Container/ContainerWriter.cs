using System.Buffers;
using System.Security.Cryptography;
using TurboMft.Engine.Buffers;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Compression;
using TurboMft.Engine.Crypto;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Native;
using TurboMft.Engine.Storage;

namespace TurboMft.Engine.Container;

/// <summary>
/// Writes a container: sealed chunk records written in any order by any number of workers, then a sealed trailer with
/// the index and digests. Thread-safe for <see cref="WriteChunk"/>. It writes into a staged object of an object store
/// (<see cref="IStagedObject"/>) or a file of its own. Where a record goes is the <see cref="ContainerLayout"/>'s: appended
/// (each worker reserves its bytes with one atomic add) or in the slot of its index (several writers, even on several
/// nodes, write one container without agreeing on anything; docs/format.md, "Slotted layout").
/// </summary>
public sealed class ContainerWriter : IDisposable
{
    private readonly IStagedObject _file;
    private readonly DataKey _dataKey;
    private readonly ChunkTable _table;
    private readonly ContainerLayout _layout;
    private long _tail;
    private int _completed;

    private ContainerWriter(IStagedObject file, ContainerHeader header, DataKey dataKey, long tail, ChunkTable table, ContainerLayout layout = ContainerLayout.Appended)
    {
        _file = file;
        Header = header;
        _dataKey = dataKey;
        _tail = tail;
        _table = table;
        _layout = layout;
    }

    /// <summary>Where this writer puts records.</summary>
    public ContainerLayout Layout => _layout;

    /// <summary>The container file (for a staged object: where its store keeps it).</summary>
    public string Path => _file.Name;

    /// <summary>The header written at offset 0.</summary>
    public ContainerHeader Header { get; }

    /// <summary>The file version id.</summary>
    public Guid FileId => Header.FileId;

    /// <summary>Chunks written so far.</summary>
    public long ChunksHeld => _table.Count;

    /// <summary>Bytes reserved so far (header and records).</summary>
    public long Length => Interlocked.Read(ref _tail);

    /// <summary>
    /// Creates a new container file (never overwrites). <paramref name="dataKey"/> stays owned by the caller and must
    /// outlive the writer. <paramref name="expectedChunks"/> sizes the index up front; it grows if exceeded.
    /// <paramref name="reserveBytes"/> reserves disk space up front (fallocate) so a full disk fails now, with a clear
    /// <see cref="DiskFullException"/>, rather than midway; the file is cut to its real length on completion.
    /// </summary>
    public static ContainerWriter Create(string path, ContainerHeader header, DataKey dataKey, long expectedChunks = 0, long reserveBytes = 0)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(dataKey);
        ChunkGeometry.Validate(header.ChunkSize);
        var file = LocalObjectFile.CreateNew(path, reserveBytes);
        try
        {
            return Create(file, header, dataKey, expectedChunks);
        }
        catch
        {
            File.Delete(path);
            throw;
        }
    }

    /// <summary>
    /// Starts a container in <paramref name="staged"/>, a new staged object of an object store (its space reserved by the
    /// store), by writing its header. The writer owns <paramref name="staged"/> from here on, and disposes it on failure too;
    /// removing the staging is the store's. <paramref name="dataKey"/> as for the other overload.
    /// </summary>
    public static ContainerWriter Create(IStagedObject staged, ContainerHeader header, DataKey dataKey, long expectedChunks = 0, ContainerLayout layout = ContainerLayout.Appended)
    {
        ArgumentNullException.ThrowIfNull(staged);
        try
        {
            ArgumentNullException.ThrowIfNull(header);
            ArgumentNullException.ThrowIfNull(dataKey);
            ChunkGeometry.Validate(header.ChunkSize);
            Span<byte> bytes = stackalloc byte[ContainerFormat.HeaderSize];
            header.Write(bytes);
            staged.Write(bytes, 0);
            return new ContainerWriter(staged, header, dataKey, ContainerFormat.HeaderSize, new ChunkTable(expectedChunks), layout);
        }
        catch
        {
            staged.Dispose();
            throw;
        }
    }

    /// <summary>Bytes a container of <paramref name="fileSize"/> bytes takes at most (every chunk raw), for <c>reserveBytes</c>.</summary>
    public static long MaxLength(long fileSize, int chunkSize)
    {
        var chunks = new ChunkGeometry(fileSize, chunkSize).ChunkCount;
        return ContainerFormat.HeaderSize + fileSize + (chunks * (ContainerFormat.RecordOverhead + ContainerFormat.TrailerEntrySize))
            + ContainerFormat.TrailerFixedSize + ChunkSealer.NonceSize + ChunkSealer.TagSize + ContainerFormat.FooterSize;
    }

    /// <summary>
    /// Bytes a <see cref="ContainerLayout.Slotted"/> container of <paramref name="fileSize"/> bytes takes at most: every
    /// chunk in a slot of its own, whatever its encoding. The unused end of a slot is a hole, not written.
    /// </summary>
    public static long MaxSlottedLength(long fileSize, int chunkSize)
    {
        var chunks = new ChunkGeometry(fileSize, chunkSize).ChunkCount;
        return SlotOffset(chunkSize, chunks) + (chunks * ContainerFormat.TrailerEntrySize)
            + ContainerFormat.TrailerFixedSize + ChunkSealer.NonceSize + ChunkSealer.TagSize + ContainerFormat.FooterSize;
    }

    /// <summary>The bytes of one slot of a <see cref="ContainerLayout.Slotted"/> container: the largest record a chunk of <paramref name="chunkSize"/> can make.</summary>
    public static long SlotLength(int chunkSize) => ContainerFormat.RecordOverhead + (long)ChunkCompressor.MaxEncodedLength(chunkSize);

    /// <summary>Where the record of chunk <paramref name="index"/> starts in a <see cref="ContainerLayout.Slotted"/> container.</summary>
    public static long SlotOffset(int chunkSize, long index) => ContainerFormat.HeaderSize + (index * SlotLength(chunkSize));

    /// <summary>
    /// Reopens a <see cref="ContainerLayout.Slotted"/> container that other writers may be writing too, to write more
    /// chunks into it: nothing is cut or scanned, and the writer knows only the chunks it writes or is told of with
    /// <see cref="Adopt"/> (the others' are in the upload's chunk receipts, not in this process). The writer owns
    /// <paramref name="staged"/> from here on.
    /// </summary>
    public static ContainerWriter Reopen(IStagedObject staged, ContainerHeader header, DataKey dataKey)
    {
        ArgumentNullException.ThrowIfNull(staged);
        try
        {
            ArgumentNullException.ThrowIfNull(header);
            ArgumentNullException.ThrowIfNull(dataKey);
            return new ContainerWriter(staged, header, dataKey, ContainerFormat.HeaderSize, new ChunkTable(0), ContainerLayout.Slotted);
        }
        catch
        {
            staged.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Takes a record another writer put in this <see cref="ContainerLayout.Slotted"/> container into the index the
    /// trailer will hold (from its chunk receipt: where it is, how long, its CRC-64 and plaintext SHA-256).
    /// </summary>
    /// <exception cref="ContainerException">The record is not where its slot is, or does not fit it (ChunkOutOfPlace).</exception>
    public void Adopt(in ChunkEntry entry, ReadOnlySpan<byte> sha256)
    {
        if (_layout != ContainerLayout.Slotted)
        {
            throw new InvalidOperationException("Only a slotted container takes records written by others.");
        }

        if (entry.Index < 0 || entry.Offset != SlotOffset(Header.ChunkSize, entry.Index) || entry.RecordLength > SlotLength(Header.ChunkSize) || entry.PlainLength > Header.ChunkSize)
        {
            throw new ContainerException(ContainerFault.ChunkOutOfPlace, Path, entry.Index, $"chunk {entry.Index} is recorded at offset {entry.Offset} with {entry.StoredLength} bytes, which is not its slot.");
        }

        _table.Record(entry, sha256);
        AdvanceTail(entry.Offset + entry.RecordLength);
    }

    /// <summary>
    /// Reopens an incomplete container (after a crash or a dropped upload) to continue writing: keeps exactly the
    /// complete, authentic records found by <see cref="ContainerRecovery"/> and cuts off anything after the last one.
    /// </summary>
    public static ContainerWriter Resume(string path, DataKey dataKey, RecoveredContainer recovered) =>
        Resume(LocalObjectFile.OpenForWriting(path), dataKey, recovered);

    /// <summary>
    /// <see cref="Resume(string, DataKey, RecoveredContainer)"/> for a staged object reopened by its store; the writer owns
    /// <paramref name="staged"/> from here on, and disposes it on failure too.
    /// </summary>
    public static ContainerWriter Resume(IStagedObject staged, DataKey dataKey, RecoveredContainer recovered)
    {
        ArgumentNullException.ThrowIfNull(staged);
        try
        {
            ArgumentNullException.ThrowIfNull(recovered);
            staged.SetLength(recovered.ValidLength);
            var table = new ChunkTable(recovered.Records.Count);
            for (var i = 0; i < recovered.Records.Count; i++)
            {
                table.Record(recovered.Records[i], recovered.Digests.AsSpan(i * SHA256.HashSizeInBytes, SHA256.HashSizeInBytes));
            }

            return new ContainerWriter(staged, recovered.Header, dataKey, recovered.ValidLength, table);
        }
        catch
        {
            staged.Dispose();
            throw;
        }
    }

    /// <summary>A sealer for one worker (AesGcm is not thread-safe); dispose it when the worker ends.</summary>
    public ChunkSealer CreateSealer() => new(_dataKey, Header.FileId);

    /// <summary>True when chunk <paramref name="index"/> has been written.</summary>
    public bool Holds(long index) => _table.Contains(index);

    /// <summary>Indices of the chunks held, ascending.</summary>
    public long[] HeldChunks() => _table.Indices();

    /// <summary>
    /// Compresses (adaptively), seals and writes one chunk whose plaintext sits in <paramref name="plain"/> at
    /// <see cref="ContainerFormat.RecordHeaderSize"/>. The caller has already computed the plaintext's CRC and SHA-256;
    /// the plaintext is encrypted in place, so the buffer no longer holds it afterwards.
    /// </summary>
    public ChunkEntry WriteChunk(
        ChunkSealer sealer, ChunkCompressor compressor, long index, ChunkBuffer plain, int length, ulong plainCrc64, ReadOnlySpan<byte> sha256, ChunkBuffer scratch)
    {
        ArgumentNullException.ThrowIfNull(compressor);
        ArgumentNullException.ThrowIfNull(plain);
        ArgumentNullException.ThrowIfNull(scratch);
        var source = plain.Span.Slice(ContainerFormat.RecordHeaderSize, length);
        var target = scratch.Span[ContainerFormat.RecordHeaderSize..^ChunkSealer.TagSize];
        var encoding = compressor.Compress(source, target, out var written);
        return encoding == ChunkEncoding.Lz4
            ? WriteEncodedChunk(sealer, index, scratch, written, encoding, length, plainCrc64, sha256)
            : WriteEncodedChunk(sealer, index, plain, length, ChunkEncoding.Raw, length, plainCrc64, sha256);
    }

    /// <summary>
    /// Seals and writes a chunk already in its stored encoding (for example LZ4 bytes exactly as a client sent them, after
    /// the caller decoded and verified them). The payload sits in <paramref name="record"/> at <see cref="ContainerFormat.RecordHeaderSize"/>.
    /// </summary>
    public ChunkEntry WriteEncodedChunk(
        ChunkSealer sealer, long index, ChunkBuffer record, int storedLength, ChunkEncoding encoding, int plainLength, ulong plainCrc64, ReadOnlySpan<byte> sha256)
    {
        ArgumentNullException.ThrowIfNull(sealer);
        ArgumentNullException.ThrowIfNull(record);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        if (Volatile.Read(ref _completed) != 0)
        {
            throw new InvalidOperationException($"Container '{Path}' is already complete.");
        }

        if (plainLength > Header.ChunkSize)
        {
            throw new ArgumentOutOfRangeException(nameof(plainLength), plainLength, $"Chunk {index} is larger than the container's chunk size {Header.ChunkSize}.");
        }

        var recordLength = ContainerFormat.RecordOverhead + storedLength;
        var span = record.Span[..recordLength];
        long offset;
        if (_layout == ContainerLayout.Slotted)
        {
            if (recordLength > SlotLength(Header.ChunkSize))
            {
                throw new ArgumentOutOfRangeException(nameof(storedLength), storedLength, $"Chunk {index}'s record does not fit its slot.");
            }

            offset = SlotOffset(Header.ChunkSize, index);
            AdvanceTail(offset + recordLength);
        }
        else
        {
            offset = Interlocked.Add(ref _tail, recordLength) - recordLength;
        }

        var entry = new ChunkEntry(index, offset, storedLength, plainLength, encoding, plainCrc64);
        var payload = span.Slice(ContainerFormat.RecordHeaderSize, storedLength);
        sealer.Seal(entry.Info, payload, payload, ChunkRecord.Nonce(span), span[^ChunkSealer.TagSize..]);
        ChunkRecord.WriteHeader(span, entry);
        _file.Write(span, offset);
        _table.Record(entry, sha256);
        return entry;
    }

    /// <summary>
    /// Completes the container for a file of <paramref name="fileSize"/> bytes: every chunk must be held. Computes the
    /// <c>sha256-tree</c>, compares it with <paramref name="expected"/> when given, writes the sealed trailer and footer
    /// and flushes the file to disk. Throws <see cref="ContainerException"/> (ChunkMissing, FileDigestMismatch).
    /// </summary>
    public ContainerSummary Complete(long fileSize, FileDigest? expected = null, ReadOnlySpan<byte> wholeFileSha256 = default, bool flushToDisk = true)
    {
        var geometry = new ChunkGeometry(fileSize, Header.ChunkSize);
        var (entries, digests, firstMissing) = _table.Snapshot(geometry.ChunkCount);
        if (firstMissing >= 0)
        {
            throw new ContainerException(ContainerFault.ChunkMissing, Path, firstMissing, $"the container holds {_table.Count} of {geometry.ChunkCount} chunks; send the missing ones before completing.");
        }

        if (_table.HighestIndex() >= geometry.ChunkCount)
        {
            throw new ContainerException(ContainerFault.ChunkOutOfPlace, Path, _table.HighestIndex(), $"a file of {fileSize} bytes has only {geometry.ChunkCount} chunks.");
        }

        foreach (var entry in entries)
        {
            if (entry.PlainLength != geometry.LengthOf(entry.Index))
            {
                throw new ContainerException(ContainerFault.ChunkOutOfPlace, Path, entry.Index, $"the chunk holds {entry.PlainLength} bytes; a file of {fileSize} bytes needs {geometry.LengthOf(entry.Index)} there.");
            }
        }

        var digest = TreeDigestBuilder.Compute(geometry, digests);
        if (expected is { } wanted && wanted != digest)
        {
            throw new ContainerException(ContainerFault.FileDigestMismatch, Path, null, $"the chunks hash to {digest}, not the expected {wanted}.");
        }

        var trailerOffset = Interlocked.Read(ref _tail);
        var trailerLength = WriteTrailer(geometry, entries, digests, digest, wholeFileSha256, trailerOffset);
        if (flushToDisk)
        {
            // Durable, then dropped from the page cache so a multi-GB store does not evict hotter data.
            _file.Flush();
        }

        Volatile.Write(ref _completed, 1);
        long compressed = 0, stored = 0;
        foreach (var entry in entries)
        {
            stored += entry.StoredLength;
            compressed += entry.Encoding == ChunkEncoding.Lz4 ? 1 : 0;
        }

        return new ContainerSummary(Header.FileId, digest, fileSize, geometry.ChunkCount, compressed, stored, trailerOffset + trailerLength);
    }

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();

    // Slotted records end anywhere: the trailer goes after the one that ends last.
    private void AdvanceTail(long end)
    {
        var tail = Interlocked.Read(ref _tail);
        while (end > tail)
        {
            var seen = Interlocked.CompareExchange(ref _tail, end, tail);
            if (seen == tail)
            {
                return;
            }

            tail = seen;
        }
    }

    private long WriteTrailer(ChunkGeometry geometry, ChunkEntry[] entries, byte[] digests, FileDigest digest, ReadOnlySpan<byte> wholeFileSha256, long trailerOffset)
    {
        var plainLength = ContainerFormat.TrailerFixedSize + (entries.Length * ContainerFormat.TrailerEntrySize);
        var sealedLength = ChunkSealer.NonceSize + plainLength + ChunkSealer.TagSize;
        var total = sealedLength + ContainerFormat.FooterSize;
        var rented = ArrayPool<byte>.Shared.Rent(plainLength + total);
        try
        {
            var plain = rented.AsSpan(0, plainLength);
            var output = rented.AsSpan(plainLength, total);
            ContainerTrailer.WritePlain(plain, geometry, entries, digests, digest, wholeFileSha256);
            ContainerTrailer.Seal(_dataKey, Header, plain, output[..sealedLength]);
            ContainerTrailer.WriteFooter(output[sealedLength..], trailerOffset, sealedLength);
            _file.Write(output, trailerOffset);
            _file.SetLength(trailerOffset + total);
            return total;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(rented.AsSpan(0, plainLength));
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}

/// <summary>What a completed container holds.</summary>
/// <param name="FileId">File version id.</param>
/// <param name="Digest">The file's <c>sha256-tree</c>.</param>
/// <param name="FileSize">Plaintext bytes.</param>
/// <param name="ChunkCount">Chunks.</param>
/// <param name="ChunksCompressed">Chunks stored LZ4-compressed.</param>
/// <param name="StoredPayloadBytes">Sum of stored (compressed or raw) payload lengths.</param>
/// <param name="ContainerLength">Bytes of the container file.</param>
public sealed record ContainerSummary(Guid FileId, FileDigest Digest, long FileSize, long ChunkCount, long ChunksCompressed, long StoredPayloadBytes, long ContainerLength);
