namespace TurboMft.Engine.Buffers;

/// <summary>A pinned, fixed-capacity byte array that carries one chunk through any stage of the pipeline.</summary>
public sealed class ChunkBuffer
{
    private int _rented;

    internal ChunkBuffer(int capacity)
    {
        // Pinned so that native I/O and the AES-GCM provider never see the array move.
        Array = GC.AllocateUninitializedArray<byte>(capacity, pinned: true);
    }

    /// <summary>The underlying pinned array.</summary>
    public byte[] Array { get; }

    /// <summary>Usable bytes in <see cref="Array"/>.</summary>
    public int Capacity => Array.Length;

    /// <summary>The whole buffer as a span.</summary>
    public Span<byte> Span => Array;

    /// <summary>The whole buffer as memory.</summary>
    public Memory<byte> Memory => Array;

    internal bool MarkRented() => Interlocked.Exchange(ref _rented, 1) == 0;

    internal bool MarkReturned() => Interlocked.Exchange(ref _rented, 0) == 1;
}
