using System.Buffers;
using TurboMft.Engine.Native;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Audit;

/// <summary>
/// The audit store on local disk (docs/audit.md, "Files"): <c>audit-NNNNNN.jsonl</c> files rotated by size and by UTC day,
/// the head anchor <c>head</c> rewritten after each commit, and <c>lock</c>, held exclusively while the store is open so that
/// one process writes the directory. Opening it brings the log to a clean end after an unclean stop ("Recovery").
/// </summary>
public sealed class AuditFileStore : IAuditStore
{
    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly AuditKey _key;
    private readonly long _maxFileBytes;
    private readonly FileStream _lock;
    private readonly FileStream _head;
    private readonly ArrayBufferWriter<byte> _buffer = new(64 * 1024);
    private readonly List<AuditEvent> _recovered = [];
    private readonly AuditFileReader _reader;

    private FileStream? _file;
    private long _fileNumber;
    private long _fileLength;
    private DateOnly? _fileDay;
    private long _lastRecordFile;
    private long _seq;
    private string _prev = AuditChain.GenesisPrev;
    private long _headSeq = -1;
    private bool _unsynced;
    private int _disposed;

    private AuditFileStore(string directory, AuditKey key, long maxFileBytes, FileStream lockFile)
    {
        Directory = directory;
        _reader = new AuditFileReader(directory);
        _key = key;
        _maxFileBytes = maxFileBytes;
        _lock = lockFile;
        try
        {
            Recover();
            var headPath = Path.Combine(directory, AuditFiles.HeadName);
            CheckHead(headPath);
            _head = new FileStream(headPath, OwnerOnly(FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read));
            if (_head.Length != AuditHead.Size)
            {
                _head.SetLength(AuditHead.Size);
            }

            DurableFileSystem.FlushDirectory(directory);
        }
        catch
        {
            _file?.Dispose();
            _head?.Dispose();
            throw;
        }
    }

    /// <summary>The audit directory (absolute).</summary>
    public string Directory { get; }

    /// <inheritdoc />
    public AuditStoreHead Head => new(_seq, _prev);

    /// <inheritdoc />
    public IReadOnlyList<AuditEvent> Recovered => _recovered;

    /// <summary>
    /// Opens (creating if needed) the audit files in <paramref name="directory"/>, taking its lock. <paramref name="key"/> checks
    /// the last record and seals the head anchor; the caller keeps owning it.
    /// </summary>
    /// <exception cref="AuditUnavailableException">Another process holds the directory (a running server), or it cannot be opened.</exception>
    public static AuditFileStore Open(string directory, AuditKey key, long maxFileBytes = 64L << 20)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(key);
        directory = Path.GetFullPath(directory);
        FileStream lockFile;
        try
        {
            DataDirectory.CreateOwnerOnlyDirectory(directory);
            lockFile = new FileStream(Path.Combine(directory, AuditFiles.LockName), OwnerOnly(FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException e)
        {
            throw new AuditUnavailableException(
                $"the audit log in {directory} is in use by a running server (or another turbomft command): use the server's API, or stop the server first ({e.Message})", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new AuditUnavailableException($"cannot open the audit log in {directory}: {e.Message}", e);
        }

        try
        {
            return new AuditFileStore(directory, key, maxFileBytes, lockFile);
        }
        catch
        {
            lockFile.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public IEnumerable<AuditRecord> Read(long? afterSeq = null) => _reader.Read(afterSeq);

    /// <inheritdoc />
    public string AnchorName => _reader.AnchorName;

    /// <inheritdoc />
    public IEnumerable<StoredAuditLine> ReadLines() => _reader.ReadLines();

    /// <inheritdoc />
    public AuditAnchorReading ReadAnchor(AuditKey key) => _reader.ReadAnchor(key);

    /// <inheritdoc />
    public string PartName(long part) => _reader.PartName(part);

    /// <inheritdoc />
    /// <remarks>Rotates before a record that would take the file past its size or that falls on another UTC day than the file's first.</remarks>
    public void Write(IReadOnlyList<SealedAuditRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        foreach (var record in records)
        {
            if (record.Seq != _seq + 1)
            {
                throw new ArgumentException($"record seq {record.Seq} does not follow the store's head at seq {_seq}", nameof(records));
            }

            if (MustRotate(record.Time, record.Line.Length + 1))
            {
                Rotate();
            }

            _buffer.Write(record.Line);
            _buffer.Write("\n"u8);
            _fileLength += record.Line.Length + 1;
            _fileDay ??= DateOnly.FromDateTime(record.Time.UtcDateTime);
            _prev = record.Hash;
            _lastRecordFile = _fileNumber;
            _seq = record.Seq;
        }

        WriteOut();
    }

    /// <inheritdoc />
    /// <remarks>One fsync of the current file for everything written, then the head anchor is rewritten and fsynced.</remarks>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (_unsynced)
        {
            _file!.Flush(flushToDisk: true);
            _unsynced = false;
        }

        if (_headSeq != _seq)
        {
            _head.Position = 0;
            _head.Write(new AuditHead(_seq, _seq == 0 ? 0 : _lastRecordFile, _prev).Encode(_key));
            _head.Flush(flushToDisk: true);
            _headSeq = _seq;
        }
    }

    /// <summary>Closes the files and releases the lock (what was written but not committed is not fsynced).</summary>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _file?.Dispose();
            _head.Dispose();
            _lock.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    private static FileStreamOptions OwnerOnly(FileMode mode, FileAccess access, FileShare share)
    {
        var options = new FileStreamOptions { Mode = mode, Access = access, Share = share, BufferSize = 0 };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerReadWrite;
        }

        return options;
    }

    private static AuditEvent SystemEvent(string action, string detail) => new()
    {
        Action = action,
        Actor = AuditActor.System,
        Outcome = AuditOutcome.Failure,
        Detail = detail,
    };

    /// <summary>
    /// Brings the log to a clean end after an unclean stop and finds where the chain continues (docs/audit.md,
    /// "Recovery"); what it repaired goes to <see cref="Recovered"/>.
    /// </summary>
    private void Recover()
    {
        var files = AuditFiles.List(Directory);
        if (files.Count == 0)
        {
            return;
        }

        var (lastNumber, lastPath) = files[^1];
        var dropped = TruncatePartialLine(lastPath);
        if (dropped > 0)
        {
            _recovered.Add(SystemEvent("audit.recovered", $"dropped {dropped} bytes of a partial record at the end of {AuditFiles.Name(lastNumber)} after an unclean stop"));
        }

        for (var i = files.Count - 1; i >= 0 && _seq == 0; i--)
        {
            if (ReadLastLine(files[i].Path) is not { } line)
            {
                continue;
            }

            var record = AuditRecord.TryParse(line, out var error)
                ?? throw new AuditUnavailableException($"the last record of {files[i].Path} is malformed ({error}); run `turbomft audit verify` and move the damaged file aside");
            if (!AuditChain.HasValidHmac(line, _key))
            {
                throw new AuditUnavailableException(
                    $"the last record of {files[i].Path} (seq {record.Seq}) does not verify with this audit key: the key (keys/audit.key or {AuditKey.EnvironmentVariable}) is not the log's, or the record was edited; run `turbomft audit verify`");
            }

            _seq = record.Seq;
            _prev = AuditChain.Hash(line);
            _lastRecordFile = files[i].Number;
        }

        _fileNumber = lastNumber;
        _file = new FileStream(lastPath, OwnerOnly(FileMode.Append, FileAccess.Write, FileShare.Read));
        _fileLength = _file.Length;
        if (_fileLength > 0 && AuditFiles.ReadLines(lastPath).FirstOrDefault() is { Terminated: true } first
            && AuditRecord.TryParse(first.Bytes, out _) is { } firstRecord)
        {
            _fileDay = DateOnly.FromDateTime(firstRecord.Time.UtcDateTime);
        }
    }

    /// <summary>Compares the head anchor with the log's end; anything but "at or behind the end" is recorded as <c>audit.gap</c>.</summary>
    private void CheckHead(string headPath)
    {
        var head = AuditHead.Read(headPath, _key, out var error);
        string? gap = null;
        if (error is not null)
        {
            // All zeros: a first start stopped between creating the anchor and writing it.
            gap = _seq == 0 && File.ReadAllBytes(headPath).AsSpan().IndexOfAnyExcept((byte)0) < 0 ? null : error;
        }
        else if (head is null)
        {
            gap = _seq > 0 ? $"the head anchor is missing; the log ends at seq {_seq}" : null;
        }
        else if (head.Seq > _seq)
        {
            gap = $"the head anchor is at seq {head.Seq} in {AuditFiles.Name(head.File)} but the log ends at seq {_seq}: {head.Seq - _seq} records are missing";
        }
        else if (head.Seq == _seq && head.Hash != _prev)
        {
            gap = $"the head anchor's hash of seq {head.Seq} differs from the log's record: the end of the log was replaced";
        }

        if (gap is not null)
        {
            _recovered.Add(SystemEvent("audit.gap", gap));
        }
    }

    private bool MustRotate(DateTimeOffset now, int bytes) =>
        _file is null
        || (_fileLength > 0 && _fileLength + bytes > _maxFileBytes)
        || (_fileDay is { } day && day != DateOnly.FromDateTime(now.UtcDateTime));

    /// <summary>Closes the current file durably, then starts the next: a later file never holds records whose predecessors could be lost.</summary>
    private void Rotate()
    {
        if (_file is not null)
        {
            WriteOut();
            _file.Flush(flushToDisk: true);
            _file.Dispose();
        }

        _fileNumber++;
        _file = new FileStream(Path.Combine(Directory, AuditFiles.Name(_fileNumber)), OwnerOnly(FileMode.CreateNew, FileAccess.Write, FileShare.Read));
        DurableFileSystem.FlushDirectory(Directory);
        _fileLength = 0;
        _fileDay = null;
    }

    private void WriteOut()
    {
        if (_buffer.WrittenCount == 0)
        {
            return;
        }

        _file!.Write(_buffer.WrittenSpan);
        _buffer.ResetWrittenCount();
        _unsynced = true;
    }

    /// <summary>Cuts a last line that has no newline (a crash mid-append); returns the bytes dropped.</summary>
    private static long TruncatePartialLine(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read, 1);
        var length = stream.Length;
        var end = EndOfLastLine(stream);
        if (end == length)
        {
            return 0;
        }

        stream.SetLength(end);
        stream.Flush(flushToDisk: true);
        return length - end;
    }

    /// <summary>The offset just after the last newline (0 when there is none).</summary>
    private static long EndOfLastLine(FileStream stream) => LastNewlineBefore(stream, stream.Length) + 1;

    /// <summary>The offset of the last newline before <paramref name="end"/>, or -1.</summary>
    private static long LastNewlineBefore(FileStream stream, long end)
    {
        var block = new byte[64 * 1024];
        var position = end;
        while (position > 0)
        {
            var count = (int)Math.Min(block.Length, position);
            position -= count;
            stream.Position = position;
            stream.ReadExactly(block, 0, count);
            var index = block.AsSpan(0, count).LastIndexOf((byte)'\n');
            if (index >= 0)
            {
                return position + index;
            }
        }

        return -1;
    }

    /// <summary>The last newline-terminated line of a file (without the newline), or null when it has none.</summary>
    private static byte[]? ReadLastLine(string path)
    {
        using var stream = AuditFiles.OpenForReading(path);
        var end = EndOfLastLine(stream);
        if (end == 0)
        {
            return null;
        }

        var start = LastNewlineBefore(stream, end - 1) + 1;
        var line = new byte[end - 1 - start];
        stream.Position = start;
        stream.ReadExactly(line);
        return line;
    }
}
