using System.Security.Cryptography;
using TurboMft.Engine.Buffers;
using TurboMft.Engine.Compression;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Storage;

namespace TurboMft.Engine.Container;

/// <summary>
/// Finds the complete, authentic records of a container that was cut off (crash, kill -9, dropped upload) or never
/// completed: scans record by record from the header, resynchronising on the record magic after a gap, and keeps a
/// record only if its header check, AES-GCM tag and CRC all verify. The last authentic record of an index wins.
/// </summary>
public static class ContainerRecovery
{
    /// <summary>Scans <paramref name="path"/>; the resolved key is disposed before returning.</summary>
    public static RecoveredContainer Scan(string path, DataKeyResolver resolveKey)
    {
        ArgumentNullException.ThrowIfNull(resolveKey);
        using var file = LocalObjectFile.OpenForReading(path, FileShare.ReadWrite);
        return Scan(file, resolveKey);
    }

    /// <summary>Scans <paramref name="file"/> (a staged object reopened by its store; left open); the resolved key is disposed before returning.</summary>
    public static RecoveredContainer Scan(IRandomAccessObject file, DataKeyResolver resolveKey)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(resolveKey);
        var length = file.Length;
        var header = ContainerHeader.ReadFrom(file);
        using var key = resolveKey(header.FileId, header.WrappedKey);
        using var opener = new Crypto.ChunkSealer(key, header.FileId);
        var buffer = new ChunkBuffer(ContainerFormat.BufferSizeFor(header.ChunkSize));
        var plain = new byte[header.ChunkSize];
        var found = new Dictionary<long, (ChunkEntry Entry, byte[] Sha)>();
        long position = ContainerFormat.HeaderSize, validLength = ContainerFormat.HeaderSize, skipped = 0;
        while (position + ContainerFormat.RecordOverhead <= length)
        {
            if (TryReadRecord(file, opener, buffer, plain, position, length, out var entry))
            {
                found[entry.Index] = (entry, SHA256.HashData(plain.AsSpan(0, entry.PlainLength)));
                position += entry.RecordLength;
                validLength = position;
                continue;
            }

            // Not a record here: a gap left by a writer that died, a trailer, or the cut-off tail. Resynchronise.
            var next = FindNextMagic(file, position + 1, length);
            skipped += (next < 0 ? length : next) - position;
            if (next < 0)
            {
                break;
            }

            position = next;
        }

        var ordered = found.Values.OrderBy(r => r.Entry.Index).ToArray();
        var digests = new byte[ordered.Length * SHA256.HashSizeInBytes];
        for (var i = 0; i < ordered.Length; i++)
        {
            ordered[i].Sha.CopyTo(digests, i * SHA256.HashSizeInBytes);
        }

        CryptographicOperations.ZeroMemory(plain);
        return new RecoveredContainer(header, [.. ordered.Select(r => r.Entry)], digests, validLength, length);
    }

    private static bool TryReadRecord(IRandomAccessObject file, Crypto.ChunkSealer opener, ChunkBuffer buffer, byte[] plain, long position, long length, out ChunkEntry entry)
    {
        var header = buffer.Span[..ContainerFormat.RecordHeaderSize];
        if (file.Read(header, position) != header.Length ||
            !ChunkRecord.TryReadHeader(header, position, out entry) ||
            position + entry.RecordLength > length ||
            entry.RecordLength > buffer.Capacity ||
            entry.PlainLength > plain.Length)
        {
            entry = default;
            return false;
        }

        var record = buffer.Span[..entry.RecordLength];
        if (file.Read(record, position) != record.Length)
        {
            return false;
        }

        var ciphertext = record.Slice(ContainerFormat.RecordHeaderSize, entry.StoredLength);
        if (!opener.TryOpen(entry.Info, record.Slice(ChunkRecord.NonceOffset, Crypto.ChunkSealer.NonceSize), ciphertext, record[^Crypto.ChunkSealer.TagSize..], ciphertext))
        {
            return false;
        }

        try
        {
            ChunkCompressor.Decode(entry.Encoding, ciphertext, plain.AsSpan(0, entry.PlainLength));
        }
        catch (ChunkDecodeException)
        {
            return false;
        }

        return ChunkCrc.Compute(plain.AsSpan(0, entry.PlainLength)) == entry.PlainCrc64;
    }

    private static long FindNextMagic(IRandomAccessObject file, long from, long length)
    {
        var window = new byte[1 << 20];
        var magic = ContainerFormat.RecordMagic;
        while (from + magic.Length <= length)
        {
            var read = file.Read(window, from);
            if (read < magic.Length)
            {
                return -1;
            }

            var at = window.AsSpan(0, read).IndexOf(magic);
            if (at >= 0)
            {
                return from + at;
            }

            from += read - magic.Length + 1;
        }

        return -1;
    }
}

/// <summary>The authentic records found in an incomplete container.</summary>
/// <param name="Header">The container header.</param>
/// <param name="Records">One entry per chunk index held, ascending.</param>
/// <param name="Digests">SHA-256 of each record's plaintext, in the order of <paramref name="Records"/>.</param>
/// <param name="ValidLength">End of the last complete record: where writing may resume.</param>
/// <param name="FileLength">Length of the file scanned.</param>
public sealed record RecoveredContainer(ContainerHeader Header, IReadOnlyList<ChunkEntry> Records, byte[] Digests, long ValidLength, long FileLength);
