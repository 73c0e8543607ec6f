using System.Threading.Channels;
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
/// The hash-chained, HMAC-keyed audit log (docs/audit.md): the chain over an <see cref="IAuditStore"/>. A single writer task
/// drains a queue in call order, assigns <c>seq</c>, chains and signs each record, hands them to the store, and commits
/// groups with one store commit (one fsync for the local files, <see cref="AuditFileStore"/>). Fails closed: after a write
/// or commit error every append throws <see cref="AuditUnavailableException"/>.
/// </summary>
public sealed class AuditLog : IAuditTrail, IAsyncDisposable
{
    private const int MaxBatch = 4096;

    private readonly IAuditStore _store;
    private readonly AuditKey _key;
    private readonly bool _ownsKey;
    private readonly AuditLogOptions _options;
    private readonly TimeProvider _time;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly List<SealedAuditRecord> _sealed = [];
    private readonly List<TaskCompletionSource> _waiting = [];
    private readonly Task _writer;

    // Owned by the writer (the constructor before the writer starts).
    private long _seq;
    private long _appended;
    private string _prev;
    private long? _unsyncedSince;
    private bool _uncommitted = true;

    private volatile AuditUnavailableException? _failure;
    private int _disposed;

    private AuditLog(IAuditStore store, AuditKey key, bool ownsKey, AuditLogOptions options, TimeProvider time)
    {
        _store = store;
        _key = key;
        _ownsKey = ownsKey;
        _options = options;
        _time = time;
        (_seq, _prev) = (store.Head.Seq, store.Head.Hash);
        WriteBatch([.. store.Recovered.Select(e => new Pending(e, null))]);
        Commit();
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>Where the records are kept.</summary>
    public IAuditStore Store => _store;

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
    /// Opens the audit chain over <paramref name="store"/>, which the log owns from now on (it is disposed with it, also when
    /// this fails); the caller keeps owning <paramref name="key"/>, which must be the one the stored records were sealed with.
    /// </summary>
    /// <exception cref="AuditUnavailableException">The store's recovery records cannot be written.</exception>
    public static AuditLog Open(IAuditStore store, AuditKey key, AuditLogOptions? options = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(key);
        try
        {
            return new AuditLog(store, key, ownsKey: false, options ?? new AuditLogOptions(), time ?? TimeProvider.System);
        }
        catch (Exception e)
        {
            store.DisposeAsync().AsTask().GetAwaiter().GetResult();
            if (e is IOException and not AuditUnavailableException)
            {
                throw new AuditUnavailableException($"cannot open the audit log: {e.Message}", e);
            }

            throw;
        }
    }

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

    /// <summary>Writes and commits what is queued, then closes the store (for the local files: releases the lock).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
        await _store.DisposeAsync().ConfigureAwait(false);
        if (_ownsKey)
        {
            _key.Dispose();
        }
    }

    private static AuditLog Open(string directory, AuditKey key, bool ownsKey, AuditLogOptions? options, TimeProvider? time)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(key);
        options ??= new AuditLogOptions();
        var store = OpenFiles(directory, key, options);
        try
        {
            return new AuditLog(store, key, ownsKey, options, time ?? TimeProvider.System);
        }
        catch (Exception e)
        {
            store.DisposeAsync().AsTask().GetAwaiter().GetResult();
            if (e is IOException and not AuditUnavailableException)
            {
                throw new AuditUnavailableException($"cannot open the audit log in {store.Directory}: {e.Message}", e);
            }

            throw;
        }
    }

    private static AuditFileStore OpenFiles(string directory, AuditKey key, AuditLogOptions options)
    {
        try
        {
            return AuditFileStore.Open(directory, key, options.MaxFileBytes);
        }
        catch (IOException e) when (e is not AuditUnavailableException)
        {
            throw new AuditUnavailableException($"cannot open the audit log in {Path.GetFullPath(directory)}: {e.Message}", e);
        }
    }

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
                : new AuditUnavailableException($"the audit log{Where} is closed");
        }
    }

    private string Where => _store is AuditFileStore files ? " in " + files.Directory : string.Empty;

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

    /// <summary>Encodes, chains and seals the records and hands them to the store; making them durable is <see cref="Commit"/>'s.</summary>
    private void WriteBatch(List<Pending> batch)
    {
        var seq = _seq;
        var prev = _prev;
        foreach (var pending in batch)
        {
            if (pending.Event is { } auditEvent)
            {
                var now = _time.GetUtcNow();
                var line = AuditChain.Encode(seq + 1, now, auditEvent, prev, _key);
                prev = AuditChain.Hash(line);
                _sealed.Add(new SealedAuditRecord(++seq, now, line, prev));
            }

            if (pending.Done is { } done)
            {
                _waiting.Add(done);
            }
        }

        if (_sealed.Count == 0)
        {
            return;
        }

        _store.Write(_sealed);
        _prev = prev;
        Interlocked.Exchange(ref _seq, seq);
        Interlocked.Add(ref _appended, _sealed.Count);
        _sealed.Clear();
        _unsyncedSince ??= _time.GetTimestamp();
        _uncommitted = true;
    }

    /// <summary>One store commit for everything written (for the local files: one fsync, then the head anchor), then the waiters are released.</summary>
    private void Commit()
    {
        if (_uncommitted)
        {
            _store.Commit();
            _unsyncedSince = null;
            _uncommitted = false;
        }

        // After the commit: a caller that saw its record durable also sees the store's anchor cover it.
        foreach (var done in _waiting)
        {
            done.TrySetResult();
        }

        _waiting.Clear();
    }

    private void Fail(Exception e, List<Pending> batch)
    {
        var failure = new AuditUnavailableException(
            $"the audit log{Where} could not be written ({e.Message}); audited operations fail until it is repaired and the server restarted",
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

    /// <summary>A queued record (or, with no event, a flush barrier) and who waits for its fsync.</summary>
    private sealed record Pending(AuditEvent? Event, TaskCompletionSource? Done);
}
