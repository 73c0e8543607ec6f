using System.Collections.Concurrent;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Container;
using TurboMft.Engine.Crypto;
using TurboMft.Host.Metadata;

namespace TurboMft.Host.Ingest;

/// <summary>
/// An upload session whose staging container is open for writing: the writer, the file's data key, and a small pool
/// of AES-GCM sealers (one per concurrent chunk request; AesGcm is not thread-safe). Chunk writes share the session;
/// completing or aborting takes it exclusively.
/// </summary>
public sealed class OpenUpload : IDisposable
{
    private readonly ConcurrentBag<ChunkSealer> _sealers = [];
    private readonly ReaderWriterLockSlim _gate = new();
    private readonly DataKey _key;
    private bool _closed;
    private long _lastExtendedTicks;

    /// <summary>Wraps an open writer; takes ownership of <paramref name="key"/>.</summary>
    public OpenUpload(UploadSession session, ContainerWriter writer, DataKey key)
    {
        Session = session;
        Writer = writer;
        _key = key;
        Geometry = new ChunkGeometry(session.Size, session.ChunkSize);
    }

    /// <summary>The session as stored.</summary>
    public UploadSession Session { get; }

    /// <summary>The staging container writer.</summary>
    public ContainerWriter Writer { get; }

    /// <summary>The file's size and chunking.</summary>
    public ChunkGeometry Geometry { get; }

    /// <summary>True at most once per <paramref name="interval"/>: whether this chunk should push the session's expiry forward.</summary>
    public bool ShouldExtendExpiry(DateTimeOffset now, TimeSpan interval)
    {
        var last = Interlocked.Read(ref _lastExtendedTicks);
        return now.UtcTicks - last >= interval.Ticks && Interlocked.CompareExchange(ref _lastExtendedTicks, now.UtcTicks, last) == last;
    }

    /// <summary>Runs <paramref name="write"/> with a sealer while the session is open; false if it was closed meanwhile.</summary>
    public bool TryWrite(Action<ChunkSealer> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        _gate.EnterReadLock();
        try
        {
            if (_closed)
            {
                return false;
            }

            var sealer = _sealers.TryTake(out var pooled) ? pooled : Writer.CreateSealer();
            try
            {
                write(sealer);
            }
            finally
            {
                _sealers.Add(sealer);
            }

            return true;
        }
        finally
        {
            _gate.ExitReadLock();
        }
    }

    /// <summary>Waits for chunk writes in progress, then runs <paramref name="close"/> exclusively; false if already closed.</summary>
    public bool TryClose<T>(Func<T> close, out T result)
    {
        ArgumentNullException.ThrowIfNull(close);
        _gate.EnterWriteLock();
        try
        {
            if (_closed)
            {
                result = default!;
                return false;
            }

            result = close();
            _closed = true;
            return true;
        }
        finally
        {
            _gate.ExitWriteLock();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Writer.Dispose();
        while (_sealers.TryTake(out var sealer))
        {
            sealer.Dispose();
        }

        _key.Dispose();
        _gate.Dispose();
    }
}
