using System.Buffers;
using System.Threading.Channels;
using TurboMft.Engine.Native;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Audit;

/// <summary>Settings of an <see cref="AuditLog"/>.</summary>
public sealed record AuditLogOptions
{
    /// <summary>A file that would grow past this is closed and the next one started (default 64 MiB).</summary>
    public long MaxFileBytes { get; init; } = 64L << 20;

    /// <summary>Records appended without waiting are fsynced at the latest this long after they are written (default 1 s).</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// The hash-chained, HMAC-keyed audit log of a data directory (docs/audit.md): <c>audit-NNNNNN.jsonl</c> files under
/// one exclusive writer. A single writer task drains a queue in call order, assigns <c>seq</c>, chains and signs each
/// record, and commits groups with one fsync; the head anchor follows each commit. Rotates by size and by UTC day.
/// Fails closed: after a write or fsync error every append throws <see cref="AuditUnavailableException"/>.
/// </summary>
public sealed class AuditLog : IAuditTrail, IAsyncDisposable
{
    private const int MaxBatch = 4096;

    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly AuditKey _key;
    private readonly bool _ownsKey;
    private readonly AuditLogOptions _options;
    private readonly TimeProvider _time;
    private readonly FileStream _lock;
    private readonly FileStream _head;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ArrayBufferWriter<byte> _buffer = new(64 * 1024);
    private readonly List<TaskCompletionSource> _waiting = [];
    private readonly Task _writer;

    // Owned by the writer (the constructor before the writer starts).
    private FileStream? _file;
    private long _fileNumber;
    private long _fileLength;
    private DateOnly? _fileDay;
    private long _lastRecordFile;
    private long _seq;
    private long _appended;
    private string _prev = AuditChain.GenesisPrev;
    private long _headSeq = -1;
    private long? _unsyncedSince;

    private volatile AuditUnavailableException? _failure;
    private int _disposed;

    private AuditLog(string directory, AuditKey key, bool ownsKey, AuditLogOptions options, TimeProvider time, FileStream lockFile)
    {
        Directory = directory;
        _key = key;
        _ownsKey = ownsKey;
        _options = options;
        _time = time;
        _lock = lockFile;
        try
        {
            var startup = Recover();
            var headPath = Path.Combine(directory, AuditFiles.HeadName);
            CheckHead(headPath, startup);
            _head = new FileStream(headPath, OwnerOnly(FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read));
            if (_head.Length != AuditHead.Size)
            {
                _head.SetLength(AuditHead.Size);
            }

            WriteBatch([.. startup.Select(e => new Pending(e, null))]);
            Commit();
            DurableFileSystem.FlushDirectory(directory);
        }
        catch
        {
            _file?.Dispose();
            _head?.Dispose();
            throw;
        }

        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>The audit directory (<c>DIR/audit</c>).</summary>
    public string Directory { get; }

    /// <summary>The seq of the last record written (durable or about to be).</summary>
    public long LastSeq => Interlocked.Read(ref _seq);

    /// <summary>Records written since this log was opened (recovery records at open included).</summary>
    public long Appended => Interlocked.Read(ref _appended);

    /// <summary>Opens the audit log of <paramref name="data"/> with its audit key (<see cref="DataDirectory.LoadAuditKey"/>).</summary>
    /// <exception cref="AuditUnavailableException">Another process holds the log (a running server), or it cannot be opened.</exception>
    /// <exception cref="AuditKeyException">The audit key is missing or unsafe.</exception>
    public static AuditLog Open(DataDirectory data, AuditLogOptions? options = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        var key = data.LoadAuditKey();
        try
        {
            return Open(data.AuditPath, key, ownsKey: true, options, time);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>Opens (creating if needed) the audit log in <paramref name="directory"/>; the caller keeps owning <paramref name="key"/>.</summary>
    /// <exception cref="AuditUnavailableException">Another process holds the log (a running server), or it cannot be opened.</exception>
    public static AuditLog Open(string directory, AuditKey key, AuditLogOptions? options = null, TimeProvider? time = null) =>
        Open(directory, key, ownsKey: false, options, time);

    /// <summary>
    /// Appends <paramref name="auditEvent"/> and completes once it is on disk (one fsync per group of concurrent callers).
    /// Cancelling stops the wait, not the record.
    /// </summary>
    /// <exception cref="AuditUnavailableException">The log cannot be written or is closed; fail the operation.</exception>
    public ValueTask AppendDurableAsync(AuditEvent auditEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(auditEvent);
        cancellationToken.ThrowIfCancellationRequested();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Enqueue(new Pending(auditEvent, done));
        return new ValueTask(cancellationToken.CanBeCanceled ? done.Task.WaitAsync(cancellationToken) : done.Task);
    }

    /// <summary>Appends <paramref name="auditEvent"/>; it is fsynced with the next group commit, at the latest <see cref="AuditLogOptions.FlushInterval"/> later.</summary>
    /// <exception cref="AuditUnavailableException">The log has failed or is closed (fail closed: the caller's operation should fail too).</exception>
    public void Append(AuditEvent auditEvent)
    {
        ArgumentNullException.ThrowIfNull(auditEvent);
        Enqueue(new Pending(auditEvent, null));
    }

    /// <summary>Completes once every record appended before the call is on disk.</summary>
    /// <exception cref="AuditUnavailableException">The log cannot be written or is closed.</exception>
    public Task FlushAsync(CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Enqueue(new Pending(null, done));
        return done.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Writes and fsyncs what is queued, then closes the files and releases the lock.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
        _file?.Dispose();
        _head.Dispose();
        _lock.Dispose();
        if (_ownsKey)
        {
            _key.Dispose();
        }
    }

    private static AuditLog Open(string directory, AuditKey key, bool ownsKey, AuditLogOptions? options, TimeProvider? time)
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
            return new AuditLog(directory, key, ownsKey, options ?? new AuditLogOptions(), time ?? TimeProvider.System, lockFile);
        }
        catch (Exception e)
        {
            lockFile.Dispose();
            if (e is IOException and not AuditUnavailableException)
            {
                throw new AuditUnavailableException($"cannot open the audit log in {directory}: {e.Message}", e);
            }

            throw;
        }
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

    private void Enqueue(Pending pending)
    {
        if (_failure is { } failure)
        {
            throw new AuditUnavailableException(failure.Message, failure.InnerException);
        }

        if (!_queue.Writer.TryWrite(pending))
        {
            throw _failure is { } failed
                ? new AuditUnavailableException(failed.Message, failed.InnerException)
                : new AuditUnavailableException($"the audit log in {Directory} is closed");
        }
    }

    /// <summary>
    /// Brings the log to a clean end after an unclean stop and finds where the chain continues (docs/audit.md,
    /// "Recovery"). Returns the records that say what was repaired.
    /// </summary>
    private List<AuditEvent> Recover()
    {
        var startup = new List<AuditEvent>();
        var files = AuditFiles.List(Directory);
        if (files.Count == 0)
        {
            return startup;
        }

        var (lastNumber, lastPath) = files[^1];
        var dropped = TruncatePartialLine(lastPath);
        if (dropped > 0)
        {
            startup.Add(SystemEvent("audit.recovered", $"dropped {dropped} bytes of a partial record at the end of {AuditFiles.Name(lastNumber)} after an unclean stop"));
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

        return startup;
    }

    /// <summary>Compares the head anchor with the log's end; anything but "at or behind the end" is recorded as <c>audit.gap</c>.</summary>
    private void CheckHead(string headPath, List<AuditEvent> startup)
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
            startup.Add(SystemEvent("audit.gap", gap));
        }
    }

    private async Task WriteLoopAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<Pending>();
        try
        {
            while (true)
            {
                if (!reader.TryRead(out var first))
                {
                    if (!await WaitForWorkAsync(reader).ConfigureAwait(false))
                    {
                        break;
                    }

                    continue;
                }

                batch.Add(first);
                while (batch.Count < MaxBatch && reader.TryRead(out var next))
                {
                    batch.Add(next);
                }

                WriteBatch(batch);
                batch.Clear();
                if (_waiting.Count > 0)
                {
                    Commit();
                }
            }

            Commit();
        }
        catch (Exception e)
        {
            Fail(e, batch);
        }
    }

    /// <summary>Waits for more records; when some are written but not fsynced, no longer than the flush interval.</summary>
    private async ValueTask<bool> WaitForWorkAsync(ChannelReader<Pending> reader)
    {
        if (_unsyncedSince is not { } since)
        {
            return await reader.WaitToReadAsync().ConfigureAwait(false);
        }

        var remaining = _options.FlushInterval - _time.GetElapsedTime(since);
        if (remaining > TimeSpan.Zero)
        {
            using var timeout = new CancellationTokenSource(remaining, _time);
            try
            {
                return await reader.WaitToReadAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
            }
        }

        Commit();
        return true;
    }

    /// <summary>Encodes, chains and writes the records (rotating as needed); the fsync is <see cref="Commit"/>'s.</summary>
    private void WriteBatch(List<Pending> batch)
    {
        foreach (var pending in batch)
        {
            if (pending.Event is { } auditEvent)
            {
                var now = _time.GetUtcNow();
                var line = AuditChain.Encode(_seq + 1, now, auditEvent, _prev, _key);
                if (MustRotate(now, line.Length + 1))
                {
                    Rotate();
                }

                _buffer.Write(line);
                _buffer.Write("\n"u8);
                _fileLength += line.Length + 1;
                _fileDay ??= DateOnly.FromDateTime(now.UtcDateTime);
                _prev = AuditChain.Hash(line);
                _lastRecordFile = _fileNumber;
                Interlocked.Increment(ref _seq);
                Interlocked.Increment(ref _appended);
            }

            if (pending.Done is { } done)
            {
                _waiting.Add(done);
            }
        }

        WriteOut();
    }

    private bool MustRotate(DateTimeOffset now, int bytes) =>
        _file is null
        || (_fileLength > 0 && _fileLength + bytes > _options.MaxFileBytes)
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
        _unsyncedSince ??= _time.GetTimestamp();
    }

    /// <summary>One fsync for everything written, then the head anchor moves, then the waiters are released.</summary>
    private void Commit()
    {
        if (_unsyncedSince is not null)
        {
            _file!.Flush(flushToDisk: true);
            _unsyncedSince = null;
        }

        if (_headSeq != _seq)
        {
            _head.Position = 0;
            _head.Write(new AuditHead(_seq, _seq == 0 ? 0 : _lastRecordFile, _prev).Encode(_key));
            _head.Flush(flushToDisk: true);
            _headSeq = _seq;
        }

        // After the anchor: a caller that saw its record durable also sees the anchor cover it.
        foreach (var done in _waiting)
        {
            done.TrySetResult();
        }

        _waiting.Clear();
    }

    private void Fail(Exception e, List<Pending> batch)
    {
        var failure = new AuditUnavailableException(
            $"the audit log in {Directory} could not be written ({e.Message}); audited operations fail until it is repaired and the server restarted",
            e);
        _failure = failure;
        _queue.Writer.TryComplete(failure);
        foreach (var done in _waiting)
        {
            done.TrySetException(failure);
        }

        _waiting.Clear();
        foreach (var pending in batch)
        {
            pending.Done?.TrySetException(failure);
        }

        while (_queue.Reader.TryRead(out var pending))
        {
            pending.Done?.TrySetException(failure);
        }
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

    /// <summary>A queued record (or, with no event, a flush barrier) and who waits for its fsync.</summary>
    private sealed record Pending(AuditEvent? Event, TaskCompletionSource? Done);
}
