using System.Security.Cryptography;

namespace TurboMft.Engine.Container;

/// <summary>
/// Thread-safe table of the chunks a container holds, with each chunk's SHA-256; grows by doubling so that recording a
/// chunk does not allocate. The last record written for an index wins (re-sent chunks are idempotent).
/// </summary>
internal sealed class ChunkTable
{
    private readonly Lock _lock = new();
    private ChunkEntry[] _entries;
    private byte[] _digests;
    private bool[] _present;
    private long _count;

    public ChunkTable(long expectedChunks)
    {
        var capacity = (int)Math.Clamp(expectedChunks, 16, int.MaxValue / SHA256.HashSizeInBytes);
        _entries = new ChunkEntry[capacity];
        _digests = new byte[capacity * SHA256.HashSizeInBytes];
        _present = new bool[capacity];
    }

    /// <summary>Chunks held.</summary>
    public long Count
    {
        get
        {
            lock (_lock)
            {
                return _count;
            }
        }
    }

    public void Record(in ChunkEntry entry, ReadOnlySpan<byte> sha256)
    {
        lock (_lock)
        {
            EnsureCapacity(entry.Index);
            var i = (int)entry.Index;
            _entries[i] = entry;
            sha256.CopyTo(_digests.AsSpan(i * SHA256.HashSizeInBytes, SHA256.HashSizeInBytes));
            if (!_present[i])
            {
                _present[i] = true;
                _count++;
            }
        }
    }

    public bool Contains(long index)
    {
        lock (_lock)
        {
            return index < _present.Length && _present[index];
        }
    }

    /// <summary>Indices held, ascending.</summary>
    public long[] Indices()
    {
        lock (_lock)
        {
            var result = new long[_count];
            var n = 0;
            for (var i = 0; i < _present.Length && n < result.Length; i++)
            {
                if (_present[i])
                {
                    result[n++] = i;
                }
            }

            return result;
        }
    }

    /// <summary>Copies the first <paramref name="chunkCount"/> entries and digests; every one must be present.</summary>
    public (ChunkEntry[] Entries, byte[] Digests, long FirstMissing) Snapshot(long chunkCount)
    {
        lock (_lock)
        {
            for (long i = 0; i < chunkCount; i++)
            {
                if (i >= _present.Length || !_present[i])
                {
                    return ([], [], i);
                }
            }

            var entries = _entries.AsSpan(0, (int)chunkCount).ToArray();
            var digests = _digests.AsSpan(0, (int)chunkCount * SHA256.HashSizeInBytes).ToArray();
            return (entries, digests, -1);
        }
    }

    /// <summary>The highest index held, or -1.</summary>
    public long HighestIndex()
    {
        lock (_lock)
        {
            for (var i = _present.Length - 1; i >= 0; i--)
            {
                if (_present[i])
                {
                    return i;
                }
            }

            return -1;
        }
    }

    private void EnsureCapacity(long index)
    {
        if (index >= int.MaxValue / SHA256.HashSizeInBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, "Chunk index is beyond what one container can hold.");
        }

        if (index < _entries.Length)
        {
            return;
        }

        var capacity = (int)Math.Min(Math.Max(index + 1, (long)_entries.Length * 2), int.MaxValue / SHA256.HashSizeInBytes);
        Array.Resize(ref _entries, capacity);
        Array.Resize(ref _digests, capacity * SHA256.HashSizeInBytes);
        Array.Resize(ref _present, capacity);
    }
}
