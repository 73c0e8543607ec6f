using System.IO.Pipelines;
using System.Security.Cryptography;
using System.Text;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Protocol;
using TurboMft.Engine.Storage;
using TurboMft.Host.Metrics;

namespace TurboMft.Host.Http;

/// <summary>
/// Reads the framing of a batch body (<see cref="BatchFormat"/>, docs/protocol.md "Batch upload") from a pipe: the
/// preamble, then per entry its header and path (<see cref="ReadHeaderAsync"/>), the caller's admission of the path
/// (<see cref="Admit"/>), and its content, checked against its CRC-64/NVME and SHA-256 (<see cref="ReadContentAsync"/>).
/// Every framing or verification error is a <see cref="BatchFramingException"/> naming the entry.
/// </summary>
/// <param name="body">The request body.</param>
/// <param name="maxFiles">Most entries one batch may hold.</param>
/// <param name="maxEntrySize">Largest content of one entry (one chunk).</param>
public sealed class BatchBodyReader(PipeReader body, int maxFiles, int maxEntrySize)
{
    private readonly byte[] _header = new byte[BatchFormat.EntryHeaderSize + SHA256.HashSizeInBytes + BatchFormat.MaxPathBytes];
    private readonly HashSet<string> _paths = new(StringComparer.Ordinal);
    private readonly UTF8Encoding _strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private bool _started;

    /// <summary>Entries read so far (their headers).</summary>
    public int Entries { get; private set; }

    /// <summary>
    /// Reads the preamble (on the first call) and the next entry's header and path; null at the end marker, after checking
    /// that nothing follows it.
    /// </summary>
    /// <exception cref="BatchFramingException">The body is truncated or malformed, or holds too many files.</exception>
    public async ValueTask<BatchEntryHeader?> ReadHeaderAsync()
    {
        if (!_started)
        {
            _started = true;
            await FillAsync(0, BatchFormat.PreambleSize, Entries).ConfigureAwait(false);
            if (BatchFormat.CheckPreamble(_header) is { } preambleError)
            {
                throw new BatchFramingException(BatchFramingError.Malformed, preambleError);
            }
        }

        var entry = Entries;
        await FillAsync(0, 2, entry).ConfigureAwait(false);
        var pathBytes = BatchFormat.ReadPathLength(_header);
        if (pathBytes == 0)
        {
            // The end marker closes the body: anything after it is a framing error, not ignored data.
            var tail = await body.ReadAsync(CancellationToken.None).ConfigureAwait(false);
            var trailing = tail.Buffer.Length;
            body.AdvanceTo(tail.Buffer.End);
            if (trailing > 0 || !tail.IsCompleted)
            {
                throw new BatchFramingException(BatchFramingError.Malformed, "Bytes follow the batch's end marker.");
            }

            return null;
        }

        if (entry >= maxFiles)
        {
            throw new BatchFramingException(BatchFramingError.TooManyFiles, $"A batch holds at most {maxFiles} files; send the rest in another.");
        }

        await FillAsync(2, BatchFormat.EntryHeaderSize - 2, entry).ConfigureAwait(false);
        if (BatchFormat.ReadEntryHeader(_header, out var hasSha, out var size, out var crc) is { } headerError)
        {
            throw new BatchFramingException(BatchFramingError.Malformed, $"Entry {entry}: {headerError}");
        }

        if (pathBytes > BatchFormat.MaxPathBytes)
        {
            throw new BatchFramingException(BatchFramingError.BadPath, $"Entry {entry}: the path is {pathBytes} bytes; at most {BatchFormat.MaxPathBytes}.");
        }

        var extra = (hasSha ? SHA256.HashSizeInBytes : 0) + pathBytes;
        await FillAsync(BatchFormat.EntryHeaderSize, extra, entry).ConfigureAwait(false);
        var pathStart = BatchFormat.EntryHeaderSize + (hasSha ? SHA256.HashSizeInBytes : 0);
        string text;
        try
        {
            text = _strictUtf8.GetString(_header, pathStart, pathBytes);
        }
        catch (DecoderFallbackException)
        {
            throw new BatchFramingException(BatchFramingError.BadPath, $"Entry {entry}: the path is not valid UTF-8.");
        }

        if (!text.StartsWith('/'))
        {
            throw new BatchFramingException(BatchFramingError.BadPath, $"Entry {entry}: the path must be absolute (start with '/').");
        }

        if (!RemotePath.TryParse(text, out var path, out var pathError))
        {
            throw new BatchFramingException(BatchFramingError.BadPath, $"Entry {entry}: {pathError}");
        }

        Entries++;
        return new BatchEntryHeader(entry, path, size, crc, hasSha ? _header.AsSpan(BatchFormat.EntryHeaderSize, SHA256.HashSizeInBytes).ToArray() : null);
    }

    /// <summary>Admits an entry the caller may write: refuses a path already in the batch and content over one chunk.</summary>
    /// <exception cref="BatchFramingException">A duplicate path, or an entry too large.</exception>
    public void Admit(BatchEntryHeader entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (!_paths.Add(entry.Path.Value))
        {
            throw new BatchFramingException(BatchFramingError.DuplicatePath, $"Entry {entry.Index}: '{entry.Path.Value}' is already in this batch.");
        }

        if (entry.Size > (uint)maxEntrySize)
        {
            throw new BatchFramingException(BatchFramingError.EntryTooLarge, $"Entry {entry.Index} ('{entry.Path.Value}') is {entry.Size} bytes; batch entries hold at most {maxEntrySize} (one chunk); upload larger files through a session.");
        }
    }

    /// <summary>
    /// Reads an admitted entry's content into <paramref name="destination"/> (at least its size) and checks it; returns
    /// its SHA-256.
    /// </summary>
    /// <exception cref="BatchFramingException">The body is truncated, or the content does not match its CRC or SHA-256.</exception>
    public async ValueTask<byte[]> ReadContentAsync(BatchEntryHeader entry, Memory<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var content = destination[..(int)entry.Size];
        if (!await RequestBody.FillAsync(body, content).ConfigureAwait(false))
        {
            throw Truncated(entry.Index);
        }

        if (ChunkCrc.Compute(content.Span) != entry.Crc64)
        {
            throw new BatchFramingException(BatchFramingError.CrcMismatch, $"Entry {entry.Index} ('{entry.Path.Value}'): the content does not match its CRC-64/NVME {ChunkCrc.Format(entry.Crc64)}; nothing of the batch was committed.");
        }

        var sha = SHA256.HashData(content.Span);
        if (entry.Sha256 is { } expected && !CryptographicOperations.FixedTimeEquals(sha, expected))
        {
            throw new BatchFramingException(BatchFramingError.DigestMismatch, $"Entry {entry.Index} ('{entry.Path.Value}'): the content does not match its SHA-256; nothing of the batch was committed.");
        }

        return sha;
    }

    private static BatchFramingException Truncated(int entry) =>
        new(BatchFramingError.Truncated, $"The body ended in entry {entry}, before the batch's end marker; nothing of the batch was committed.");

    private async ValueTask FillAsync(int offset, int count, int entry)
    {
        if (!await RequestBody.FillAsync(body, _header.AsMemory(offset, count)).ConfigureAwait(false))
        {
            throw Truncated(entry);
        }
    }
}

/// <summary>One batch entry's header as read: its position, canonical path, size, CRC-64/NVME and optional SHA-256.</summary>
/// <param name="Index">0-based position in the batch.</param>
/// <param name="Path">The canonical path.</param>
/// <param name="Size">Content bytes.</param>
/// <param name="Crc64">The CRC-64/NVME of the content, as sent.</param>
/// <param name="Sha256">The SHA-256 of the content, when sent.</param>
public sealed record BatchEntryHeader(int Index, RemotePath Path, uint Size, ulong Crc64, byte[]? Sha256);

/// <summary>What is wrong with a batch body; each maps to one problem answer (<see cref="BatchFramingException.ToResult"/>).</summary>
public enum BatchFramingError
{
    /// <summary>The body ended before the end marker.</summary>
    Truncated,

    /// <summary>A bad preamble, unknown flags, a non-zero reserved byte, or bytes after the end marker.</summary>
    Malformed,

    /// <summary>A path that is too long, not UTF-8, not absolute, or breaks a path rule.</summary>
    BadPath,

    /// <summary>More entries than a batch may hold.</summary>
    TooManyFiles,

    /// <summary>A path that is already in the batch.</summary>
    DuplicatePath,

    /// <summary>An entry larger than one chunk.</summary>
    EntryTooLarge,

    /// <summary>Content that does not match its CRC-64/NVME.</summary>
    CrcMismatch,

    /// <summary>Content that does not match its SHA-256.</summary>
    DigestMismatch,
}

/// <summary>A batch body that cannot be accepted: its <see cref="Error"/> and a message naming the entry.</summary>
public sealed class BatchFramingException : Exception
{
    /// <summary>A framing error with its message.</summary>
    public BatchFramingException(BatchFramingError error, string message)
        : base(message) => Error = error;

    /// <summary>A malformed batch with a message.</summary>
    public BatchFramingException()
        : this(BatchFramingError.Malformed, "The batch body is malformed.")
    {
    }

    /// <summary>A malformed batch with a message.</summary>
    public BatchFramingException(string message)
        : this(BatchFramingError.Malformed, message)
    {
    }

    /// <summary>A malformed batch with a message and its cause.</summary>
    public BatchFramingException(string message, Exception inner)
        : base(message, inner) => Error = BatchFramingError.Malformed;

    /// <summary>What is wrong.</summary>
    public BatchFramingError Error { get; }

    /// <summary>The verification check that failed, for a CRC or digest mismatch.</summary>
    public VerificationCheck? FailedCheck => Error switch
    {
        BatchFramingError.CrcMismatch => VerificationCheck.ChunkCrc,
        BatchFramingError.DigestMismatch => VerificationCheck.FileDigest,
        _ => null,
    };

    /// <summary>The problem answer for this error.</summary>
    public Microsoft.AspNetCore.Http.IResult ToResult() => Error switch
    {
        BatchFramingError.Truncated => Problems.BadRequest("batch-truncated", Message),
        BatchFramingError.BadPath => Problems.BadPath(Message),
        BatchFramingError.TooManyFiles => Problems.Result(Microsoft.AspNetCore.Http.StatusCodes.Status413PayloadTooLarge, "batch-too-large", "Batch too large", Message),
        BatchFramingError.DuplicatePath => Problems.BadRequest("batch-duplicate-path", Message),
        BatchFramingError.EntryTooLarge => Problems.BadRequest("batch-entry-too-large", Message),
        BatchFramingError.CrcMismatch => Problems.Unverified("chunk-crc-mismatch", Message),
        BatchFramingError.DigestMismatch => Problems.Unverified("file-digest-mismatch", Message),
        _ => Problems.BadRequest("batch-malformed", Message),
    };
}
