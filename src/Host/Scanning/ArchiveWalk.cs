using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.IO.Hashing;
using System.Text;

namespace TurboMft.Host.Scanning;

/// <summary>
/// One walk through an archive and everything nested in it, front to back, with the budget of <see cref="ArchiveLimits"/>
/// shared by all levels. Findings are thrown as <see cref="ArchiveFindingException"/>; corrupt input as
/// <see cref="InvalidDataException"/>.
/// </summary>
internal sealed class ArchiveWalk(ArchiveLimits limits, AreaContentPolicy policy)
{
    private const uint LocalHeader = 0x04034B50;
    private const uint CentralHeader = 0x02014B50;
    private const uint EndOfCentralDirectory = 0x06054B50;
    private const uint Zip64EndOfCentralDirectory = 0x06064B50;
    private const uint Zip64Locator = 0x07064B50;
    private const uint DataDescriptor = 0x08074B50;
    private const uint DigitalSignature = 0x05054B50;

    private string? _where;

    public int Entries { get; private set; }

    public long Expanded { get; private set; }

    /// <summary>The entry being read when the walk failed, as a prefix for a malformed-archive detail.</summary>
    public string Where => _where is null ? string.Empty : $"in {_where}: ";

    /// <summary>Walks <paramref name="content"/>, an archive of <paramref name="type"/> at nesting <paramref name="level"/> (the file is 1).</summary>
    public Task WalkAsync(Stream content, string type, string name, ReadOnlyMemory<byte> head, int level, CancellationToken cancellationToken) => type switch
    {
        FileTypes.Zip => WalkZipAsync(content, name, level, cancellationToken),
        FileTypes.Gzip => WalkGzipAsync(content, name, head, level, cancellationToken),
        FileTypes.Tar => WalkTarAsync(content, name, level, cancellationToken),
        _ => Task.CompletedTask,
    };

    /// <summary>Counts decompressed bytes against the total and the entry's ratio; throws the bomb finding.</summary>
    public void AddExpanded(string entry, int count, long entryOutput, long entryInput)
    {
        Expanded += count;
        if (Expanded > limits.MaxExpandedBytes)
        {
            throw new ArchiveFindingException("archive-bomb:expanded-size", $"entries expand to more than {limits.MaxExpandedBytes} bytes in all (stopped in '{entry}').");
        }

        if (entryOutput > limits.RatioFloorBytes && entryOutput > Math.Max(1, entryInput) * limits.MaxRatio)
        {
            throw new ArchiveFindingException("archive-bomb:ratio", $"entry '{entry}' expands more than {limits.MaxRatio}:1 ({entryOutput} bytes from {entryInput}).");
        }
    }

    private void CountEntry(string entry)
    {
        if (++Entries > limits.MaxEntries)
        {
            throw new ArchiveFindingException("archive-bomb:entry-count", $"more than {limits.MaxEntries} entries in all (stopped at '{entry}').");
        }
    }

    /// <summary>Type-checks one entry's content, walks into it if it is an archive itself, and reads it to its end.</summary>
    private async Task InspectEntryAsync(Stream content, string entryName, string archiveName, int level, CancellationToken cancellationToken)
    {
        var head = ArrayPool<byte>.Shared.Rent(FileTypeDetector.HeadLength);
        try
        {
            var read = await content.ReadAtLeastAsync(head.AsMemory(0, FileTypeDetector.HeadLength), FileTypeDetector.HeadLength, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            var type = FileTypeDetector.Detect(head.AsSpan(0, read), complete: read < FileTypeDetector.HeadLength);
            var leaf = LeafName(entryName);
            if (FileTypeRules.Check(type, leaf, policy, applyAllowList: false) is { } finding)
            {
                throw new ArchiveFindingException(finding.Finding, $"entry '{entryName}' of '{archiveName}': {finding.Detail}");
            }

            var rest = new PrefixedStream(head.AsMemory(0, read), content);
            if (FileTypes.Walkable.Contains(type))
            {
                if (level + 1 > limits.MaxDepth)
                {
                    throw new ArchiveFindingException("archive-bomb:depth", $"entry '{entryName}' of '{archiveName}' is a {type} archive at nesting level {level + 1}; at most {limits.MaxDepth} levels are inspected.");
                }

                await WalkAsync(rest, type, entryName, head.AsMemory(0, read), level + 1, cancellationToken).ConfigureAwait(false);
            }

            await ForwardReadStream.DrainAsync(rest, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(head);
        }
    }

    private static string LeafName(string entryName)
    {
        var trimmed = entryName.TrimEnd('/');
        var slash = trimmed.LastIndexOfAny(['/', '\\']);
        return slash < 0 ? trimmed : trimmed[(slash + 1)..];
    }

    // ---- gzip ----------------------------------------------------------------------------------------------------------

    private async Task WalkGzipAsync(Stream content, string name, ReadOnlyMemory<byte> head, int level, CancellationToken cancellationToken)
    {
        var entry = GzipMemberName(head.Span) ?? StripGzipExtension(name);
        CountEntry(entry);
        _where = $"'{name}'";
        var compressed = new CountingStream(content);
        var gzip = new GZipStream(compressed, CompressionMode.Decompress, leaveOpen: true);
        await using (gzip.ConfigureAwait(false))
        {
            var expanded = new EntryContentStream(gzip, this, entry, () => compressed.Count, computeCrc: false);
            await InspectEntryAsync(expanded, entry, name, level, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The original file name stored in a gzip header (RFC 1952 FNAME), if the header fits in the head.</summary>
    private static string? GzipMemberName(ReadOnlySpan<byte> head)
    {
        if (head.Length < 10 || (head[3] & 0x08) == 0)
        {
            return null;
        }

        var at = 10;
        if ((head[3] & 0x04) != 0)
        {
            if (head.Length < 12)
            {
                return null;
            }

            at += 2 + BinaryPrimitives.ReadUInt16LittleEndian(head[10..]);
        }

        if (at >= head.Length)
        {
            return null;
        }

        var end = head[at..].IndexOf((byte)0);
        return end <= 0 ? null : Encoding.Latin1.GetString(head.Slice(at, end));
    }

    private static string StripGzipExtension(string name) =>
        name.EndsWith(".tgz", StringComparison.OrdinalIgnoreCase) ? name[..^4] + ".tar"
        : name.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? name[..^3]
        : name;

    // ---- tar -----------------------------------------------------------------------------------------------------------

    private async Task WalkTarAsync(Stream content, string name, int level, CancellationToken cancellationToken)
    {
        const int block = 512;
        const int maxMetadata = 1 << 20;
        var header = new byte[block];
        string? longName = null;
        string? paxPath = null;
        long? paxSize = null;
        while (true)
        {
            var read = await content.ReadAtLeastAsync(header, block, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            if (read == 0 || (read == block && header.AsSpan().IndexOfAnyExcept((byte)0) < 0))
            {
                // Two zero blocks (or the end of the stream) end the archive; what follows is padding.
                return;
            }

            if (read < block)
            {
                throw new InvalidDataException($"tar archive '{name}' ends inside a header.");
            }

            if (!TarChecksumMatches(header))
            {
                throw new InvalidDataException($"tar archive '{name}': a header fails its checksum after {Entries} entries.");
            }

            var size = paxSize ?? ParseTarNumber(header.AsSpan(124, 12), name);
            var type = (char)header[156];
            var entry = longName ?? paxPath ?? TarHeaderName(header);
            longName = paxPath = null;
            paxSize = null;
            _where = $"'{name}' entry '{entry}'";
            var data = new BoundedStream(content, size, $"tar entry '{entry}'");
            switch (type)
            {
                case 'L' or 'x' or 'K' or 'g' or 'V':
                    if (size > maxMetadata)
                    {
                        throw new InvalidDataException($"tar archive '{name}': a {type} metadata entry of {size} bytes exceeds {maxMetadata}.");
                    }

                    var metadata = new byte[size];
                    await data.ReadExactlyAsync(metadata, cancellationToken).ConfigureAwait(false);
                    if (type == 'L')
                    {
                        longName = Encoding.UTF8.GetString(metadata).TrimEnd('\0');
                    }
                    else if (type == 'x')
                    {
                        (paxPath, paxSize) = ParsePax(metadata, name);
                    }

                    break;
                case 'S' or 'M':
                    throw new ArchiveFindingException("archive-uninspectable:tar-sparse-or-multivolume", $"tar entry '{entry}' of '{name}' is a GNU sparse or multi-volume member, which is not inspected.");
                case '1' or '2' or '3' or '4' or '5' or '6':
                    CountEntry(entry);
                    await ForwardReadStream.DrainAsync(data, cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    // Regular files ('0', '\0', '7') and, as POSIX asks, unknown types.
                    CountEntry(entry);
                    await InspectEntryAsync(new EntryContentStream(data, this, entry, null, computeCrc: false), entry, name, level, cancellationToken).ConfigureAwait(false);
                    break;
            }

            var padding = (int)((block - (size % block)) % block);
            if (padding > 0 && await content.ReadAtLeastAsync(header.AsMemory(0, padding), padding, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false) < padding)
            {
                throw new InvalidDataException($"tar archive '{name}' ends inside the padding of '{entry}'.");
            }
        }
    }

    private static bool TarChecksumMatches(ReadOnlySpan<byte> header)
    {
        var recorded = header.Slice(148, 8);
        long unsignedSum = 0, signedSum = 0;
        for (var i = 0; i < 512; i++)
        {
            var b = i is >= 148 and < 156 ? (byte)' ' : header[i];
            unsignedSum += b;
            signedSum += (sbyte)b;
        }

        var text = Encoding.ASCII.GetString(recorded).Trim('\0', ' ');
        if (text.Length == 0 || text.Any(c => c is < '0' or > '7'))
        {
            return false;
        }

        var value = Convert.ToInt64(text, 8);
        return value == unsignedSum || value == signedSum;
    }

    private static long ParseTarNumber(ReadOnlySpan<byte> field, string name)
    {
        if ((field[0] & 0x80) != 0)
        {
            // GNU base-256: big-endian two's complement in the remaining bytes.
            long value = 0;
            foreach (var b in field[1..])
            {
                value = checked((value << 8) | b);
            }

            return value >= 0 ? value : throw new InvalidDataException($"tar archive '{name}': negative size.");
        }

        var text = Encoding.ASCII.GetString(field).Trim('\0', ' ');
        if (text.Length == 0)
        {
            return 0;
        }

        foreach (var c in text)
        {
            if (c is < '0' or > '7')
            {
                throw new InvalidDataException($"tar archive '{name}': size field '{text}' is not octal.");
            }
        }

        return Convert.ToInt64(text, 8);
    }

    private static string TarHeaderName(ReadOnlySpan<byte> header)
    {
        static string Field(ReadOnlySpan<byte> bytes)
        {
            var end = bytes.IndexOf((byte)0);
            return Encoding.UTF8.GetString(end < 0 ? bytes : bytes[..end]);
        }

        var name = Field(header[..100]);
        var prefix = header.Slice(257, 5).SequenceEqual("ustar"u8) ? Field(header.Slice(345, 155)) : string.Empty;
        return prefix.Length > 0 ? prefix + "/" + name : name;
    }

    private static (string? Path, long? Size) ParsePax(ReadOnlySpan<byte> records, string name)
    {
        string? path = null;
        long? size = null;
        while (!records.IsEmpty)
        {
            var space = records.IndexOf((byte)' ');
            if (space <= 0 || !int.TryParse(records[..space], NumberStyles.None, CultureInfo.InvariantCulture, out var length) || length <= space || length > records.Length)
            {
                throw new InvalidDataException($"tar archive '{name}': a pax extended header is malformed.");
            }

            var record = Encoding.UTF8.GetString(records[(space + 1)..(length - 1)]);
            records = records[length..];
            var equals = record.IndexOf('=', StringComparison.Ordinal);
            if (equals < 0)
            {
                continue;
            }

            var key = record[..equals];
            var value = record[(equals + 1)..];
            if (key == "path")
            {
                path = value;
            }
            else if (key == "size")
            {
                size = long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed)
                    ? parsed
                    : throw new InvalidDataException($"tar archive '{name}': pax size '{value}' is not a number.");
            }
        }

        return (path, size);
    }

    // ---- zip -----------------------------------------------------------------------------------------------------------

    /// <summary>
    /// Reads a ZIP front to back: every local entry (inspected as it streams by), then the central directory, which must
    /// list exactly the entries seen, each once; then the end records. Entries the central directory shares or hides are
    /// how overlapping-file bombs and scanner evasions work, so any disagreement is a finding.
    /// </summary>
    private async Task WalkZipAsync(Stream content, string name, int level, CancellationToken cancellationToken)
    {
        using var input = new ZipInput(content);
        var locals = new Dictionary<long, LocalEntry>();
        var seen = new HashSet<long>();
        long? centralStart = null;
        var centralEntries = 0L;
        while (true)
        {
            if (!await input.EnsureAsync(4, cancellationToken).ConfigureAwait(false))
            {
                throw new InvalidDataException($"zip archive '{name}' ends at offset {input.Position + input.Available} without its end-of-central-directory record.");
            }

            var offset = input.Position;
            var signature = BinaryPrimitives.ReadUInt32LittleEndian(input.Peek(4));
            switch (signature)
            {
                case LocalHeader when centralStart is null:
                    var local = await ReadLocalEntryAsync(input, name, level, cancellationToken).ConfigureAwait(false);
                    locals[offset] = local;
                    seen.Add(offset);
                    break;
                case DataDescriptor when offset == 0:
                    // The marker of a split archive written as one piece.
                    input.Advance(4);
                    break;
                case CentralHeader:
                    centralStart ??= offset;
                    centralEntries++;
                    await CheckCentralEntryAsync(input, name, locals, seen, cancellationToken).ConfigureAwait(false);
                    break;
                case DigitalSignature:
                    await input.RequireAsync(6, cancellationToken).ConfigureAwait(false);
                    var signatureLength = BinaryPrimitives.ReadUInt16LittleEndian(input.Peek(6)[4..]);
                    await input.SkipAsync(6 + signatureLength, cancellationToken).ConfigureAwait(false);
                    break;
                case Zip64EndOfCentralDirectory:
                    await input.RequireAsync(12, cancellationToken).ConfigureAwait(false);
                    var recordLength = BinaryPrimitives.ReadUInt64LittleEndian(input.Peek(12)[4..]);
                    if (recordLength > 1 << 20)
                    {
                        throw new InvalidDataException($"zip archive '{name}': the zip64 end record claims {recordLength} bytes.");
                    }

                    await input.SkipAsync(12 + (long)recordLength, cancellationToken).ConfigureAwait(false);
                    break;
                case Zip64Locator:
                    await input.SkipAsync(20, cancellationToken).ConfigureAwait(false);
                    break;
                case EndOfCentralDirectory:
                    await CheckEndAsync(input, name, centralStart ?? offset, centralEntries, locals, cancellationToken).ConfigureAwait(false);
                    return;
                default:
                    throw new InvalidDataException($"zip archive '{name}': unexpected bytes at offset {offset} (signature 0x{signature:X8}).");
            }
        }
    }

    private async Task<LocalEntry> ReadLocalEntryAsync(ZipInput input, string archive, int level, CancellationToken cancellationToken)
    {
        await input.RequireAsync(30, cancellationToken).ConfigureAwait(false);
        var h = input.Peek(30);
        var flags = BinaryPrimitives.ReadUInt16LittleEndian(h[6..]);
        var method = BinaryPrimitives.ReadUInt16LittleEndian(h[8..]);
        var crc = BinaryPrimitives.ReadUInt32LittleEndian(h[14..]);
        long compressedSize = BinaryPrimitives.ReadUInt32LittleEndian(h[18..]);
        long size = BinaryPrimitives.ReadUInt32LittleEndian(h[22..]);
        var nameLength = BinaryPrimitives.ReadUInt16LittleEndian(h[26..]);
        var extraLength = BinaryPrimitives.ReadUInt16LittleEndian(h[28..]);
        input.Advance(30);
        var nameBytes = await input.ReadBytesAsync(nameLength, cancellationToken).ConfigureAwait(false);
        var extra = await input.ReadBytesAsync(extraLength, cancellationToken).ConfigureAwait(false);
        var entry = Encoding.UTF8.GetString(nameBytes);
        ReadZip64(extra, ref size, ref compressedSize);
        _where = $"'{archive}' entry '{entry}'";
        CountEntry(entry);

        var streamed = (flags & 0x0008) != 0;
        if ((flags & 0x0001) != 0 || method == 99)
        {
            throw new ArchiveFindingException("archive-uninspectable:encrypted", $"entry '{entry}' of '{archive}' is encrypted; its content cannot be inspected.");
        }

        if (method is not (0 or 8))
        {
            throw new ArchiveFindingException($"archive-uninspectable:method-{method}", $"entry '{entry}' of '{archive}' uses compression method {method}; only stored (0) and deflate (8) are inspected.");
        }

        // With a data descriptor the sizes follow the data: deflate finds its own end; stored data ends at a descriptor
        // that matches it.
        var sizesKnown = !streamed || (compressedSize > 0 && (method == 8 || compressedSize == size));
        var dataStart = input.Position;
        var data = sizesKnown || method == 8
            ? input.OpenData(sizesKnown ? compressedSize : null, $"zip entry '{entry}'")
            : input.OpenStoredUntilDescriptor($"zip entry '{entry}'");
        uint actualCrc;
        long actualSize;
        if (method == 0)
        {
            var stored = new EntryContentStream(data, this, entry, null, computeCrc: true);
            await InspectEntryAsync(stored, entry, archive, level, cancellationToken).ConfigureAwait(false);
            (actualCrc, actualSize) = (stored.Crc, stored.Length64);
        }
        else
        {
            var deflate = new DeflateStream(data, CompressionMode.Decompress, leaveOpen: true);
            await using (deflate.ConfigureAwait(false))
            {
                var expanded = new EntryContentStream(deflate, this, entry, () => ZipInput.HandedBy(data), computeCrc: true);
                await InspectEntryAsync(expanded, entry, archive, level, cancellationToken).ConfigureAwait(false);
                (actualCrc, actualSize) = (expanded.Crc, expanded.Length64);
            }

            if (sizesKnown)
            {
                // Bytes after the end of the deflate data but inside the declared size are skipped, not trusted.
                await input.SkipAsync(compressedSize - ZipInput.HandedBy(data), cancellationToken).ConfigureAwait(false);
            }
        }

        if (streamed)
        {
            var handed = input.Position - dataStart;
            var descriptor = await FindDescriptorAsync(input, dataStart, handed, actualCrc, actualSize, sizesKnown ? compressedSize : method == 0 ? actualSize : null, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidDataException($"zip entry '{entry}' of '{archive}': no data descriptor matches its data (CRC-32 {actualCrc:x8}, {actualSize} bytes).");
            (crc, compressedSize, size) = descriptor;
        }

        if (actualCrc != crc || actualSize != size)
        {
            throw new InvalidDataException($"zip entry '{entry}' of '{archive}' does not match its header: {actualSize} bytes with CRC-32 {actualCrc:x8}, declared {size} bytes with {crc:x8}.");
        }

        return new LocalEntry(NameHash(nameBytes), crc, compressedSize, size);
    }

    /// <summary>
    /// Finds the data descriptor after a streamed entry: the decompressor may have read up to <see cref="ZipInput.MaxHandOut"/>
    /// bytes past its data, so the descriptor is the first place within them whose CRC-32 and sizes match what was read.
    /// </summary>
    private static async Task<(uint Crc, long Compressed, long Size)?> FindDescriptorAsync(
        ZipInput input, long dataStart, long handed, uint crc, long size, long? compressedSize, CancellationToken cancellationToken)
    {
        var window = (int)Math.Min(handed, 2 * ZipInput.MaxHandOut);
        input.Rewind(window);
        await input.EnsureAsync(window + 24, cancellationToken).ConfigureAwait(false);
        var bytes = input.Peek(input.Available);
        var searchStart = input.Position;
        for (var i = 0; i <= window && i < bytes.Length; i++)
        {
            var compressed = searchStart + i - dataStart;
            if (compressedSize is { } known && compressed != known)
            {
                continue;
            }

            var at = bytes[i..];
            var signed = at.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(at) == DataDescriptor;
            var length = (signed ? MatchDescriptor(at[4..], crc, compressed, size) : 0) is > 0 and var withSignature
                ? 4 + withSignature
                : MatchDescriptor(at, crc, compressed, size);
            if (length > 0)
            {
                input.Advance(i + length);
                return (crc, compressed, size);
            }
        }

        return null;
    }

    /// <summary>The length of a descriptor (without signature) at the start of <paramref name="d"/> that matches, else 0.</summary>
    private static int MatchDescriptor(ReadOnlySpan<byte> d, uint crc, long compressed, long size)
    {
        if (d.Length < 12 || BinaryPrimitives.ReadUInt32LittleEndian(d) != crc)
        {
            return 0;
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(d[4..]) == compressed && BinaryPrimitives.ReadUInt32LittleEndian(d[8..]) == size)
        {
            return 12;
        }

        return d.Length >= 20 && (long)BinaryPrimitives.ReadUInt64LittleEndian(d[4..]) == compressed && (long)BinaryPrimitives.ReadUInt64LittleEndian(d[12..]) == size
            ? 20
            : 0;
    }

    private static async Task CheckCentralEntryAsync(ZipInput input, string archive, Dictionary<long, LocalEntry> locals, HashSet<long> seen, CancellationToken cancellationToken)
    {
        await input.RequireAsync(46, cancellationToken).ConfigureAwait(false);
        var h = input.Peek(46);
        var disk = BinaryPrimitives.ReadUInt16LittleEndian(h[34..]);
        var crc = BinaryPrimitives.ReadUInt32LittleEndian(h[16..]);
        long compressedSize = BinaryPrimitives.ReadUInt32LittleEndian(h[20..]);
        long size = BinaryPrimitives.ReadUInt32LittleEndian(h[24..]);
        var nameLength = BinaryPrimitives.ReadUInt16LittleEndian(h[28..]);
        var extraLength = BinaryPrimitives.ReadUInt16LittleEndian(h[30..]);
        var commentLength = BinaryPrimitives.ReadUInt16LittleEndian(h[32..]);
        long offset = BinaryPrimitives.ReadUInt32LittleEndian(h[42..]);
        input.Advance(46);
        var nameBytes = await input.ReadBytesAsync(nameLength, cancellationToken).ConfigureAwait(false);
        var extra = await input.ReadBytesAsync(extraLength, cancellationToken).ConfigureAwait(false);
        await input.SkipAsync(commentLength, cancellationToken).ConfigureAwait(false);
        ReadZip64(extra, ref size, ref compressedSize, ref offset);
        var entry = Encoding.UTF8.GetString(nameBytes);
        if (disk != 0 && disk != 0xFFFF)
        {
            throw new InvalidDataException($"zip archive '{archive}' spans several disks (entry '{entry}').");
        }

        if (!locals.Remove(offset, out var local))
        {
            if (seen.Contains(offset))
            {
                throw new ArchiveFindingException("archive-bomb:overlapping-entries", $"the central directory of '{archive}' lists the data at offset {offset} more than once (entry '{entry}'): overlapping entries expand the same bytes many times.");
            }

            throw new InvalidDataException($"zip archive '{archive}': central directory entry '{entry}' points to offset {offset}, where no entry starts.");
        }

        if (local.NameHash != NameHash(nameBytes) || local.Crc != crc || local.CompressedSize != compressedSize || local.Size != size)
        {
            throw new InvalidDataException($"zip archive '{archive}': central directory entry '{entry}' disagrees with its local header (name, CRC-32 or sizes).");
        }
    }

    private static async Task CheckEndAsync(ZipInput input, string archive, long centralStart, long centralEntries, Dictionary<long, LocalEntry> locals, CancellationToken cancellationToken)
    {
        await input.RequireAsync(22, cancellationToken).ConfigureAwait(false);
        var h = input.Peek(22);
        var total = BinaryPrimitives.ReadUInt16LittleEndian(h[10..]);
        var recordedStart = BinaryPrimitives.ReadUInt32LittleEndian(h[16..]);
        var commentLength = BinaryPrimitives.ReadUInt16LittleEndian(h[20..]);
        input.Advance(22);
        await input.SkipAsync(commentLength, cancellationToken).ConfigureAwait(false);
        if (total != 0xFFFF && total != (centralEntries & 0xFFFF))
        {
            throw new InvalidDataException($"zip archive '{archive}': the end record counts {total} entries, the central directory has {centralEntries}.");
        }

        if (recordedStart != 0xFFFFFFFF && recordedStart != centralStart)
        {
            throw new InvalidDataException($"zip archive '{archive}': the central directory is recorded at offset {recordedStart} but starts at {centralStart} (data before or inside the archive).");
        }

        if (locals.Count > 0)
        {
            throw new InvalidDataException($"zip archive '{archive}': {locals.Count} entries are missing from the central directory (hidden from extraction tools).");
        }
    }

    private static void ReadZip64(ReadOnlySpan<byte> extra, ref long size, ref long compressedSize)
    {
        long offset = 0;
        ReadZip64(extra, ref size, ref compressedSize, ref offset);
    }

    /// <summary>Replaces the 0xFFFFFFFF placeholders by the values of the zip64 extra field (in its fixed order).</summary>
    private static void ReadZip64(ReadOnlySpan<byte> extra, ref long size, ref long compressedSize, ref long offset)
    {
        while (extra.Length >= 4)
        {
            var id = BinaryPrimitives.ReadUInt16LittleEndian(extra);
            var length = BinaryPrimitives.ReadUInt16LittleEndian(extra[2..]);
            if (4 + length > extra.Length)
            {
                return;
            }

            var field = extra.Slice(4, length);
            if (id == 0x0001)
            {
                if (size == 0xFFFFFFFF && field.Length >= 8)
                {
                    size = (long)BinaryPrimitives.ReadUInt64LittleEndian(field);
                    field = field[8..];
                }

                if (compressedSize == 0xFFFFFFFF && field.Length >= 8)
                {
                    compressedSize = (long)BinaryPrimitives.ReadUInt64LittleEndian(field);
                    field = field[8..];
                }

                if (offset == 0xFFFFFFFF && field.Length >= 8)
                {
                    offset = (long)BinaryPrimitives.ReadUInt64LittleEndian(field);
                }

                if (size < 0 || compressedSize < 0 || offset < 0)
                {
                    throw new InvalidDataException("a zip64 size or offset is out of range.");
                }

                return;
            }

            extra = extra[(4 + length)..];
        }
    }

    private static ulong NameHash(ReadOnlySpan<byte> name) => XxHash64.HashToUInt64(name);

    /// <summary>What the walk remembers of a local entry until the central directory confirms it (no name: bounded memory).</summary>
    private readonly record struct LocalEntry(ulong NameHash, uint Crc, long CompressedSize, long Size);
}
