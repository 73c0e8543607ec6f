namespace TurboMft.Engine.Storage;

/// <summary>
/// Bytes of a stored object read at any offset, from any number of threads (the way <c>ContainerReader</c> reads): a
/// committed object from <see cref="IObjectStore.OpenRead"/>, or a staged one. Dispose it to release the object.
/// </summary>
public interface IRandomAccessObject : IDisposable
{
    /// <summary>Where the object is kept, for messages (a path on a local disk).</summary>
    string Name { get; }

    /// <summary>The object's length in bytes now.</summary>
    long Length { get; }

    /// <summary>Reads into <paramref name="destination"/> from <paramref name="offset"/>; returns the bytes read (fewer only at the end).</summary>
    int Read(Span<byte> destination, long offset);
}

/// <summary>
/// The staging of one upload, open for writing (<see cref="IObjectStore.CreateStaging"/>, <see cref="IObjectStore.OpenStaging"/>):
/// positional writes go straight to the store's file, from any number of threads at distinct offsets. Dispose it before
/// the store commits it.
/// </summary>
public interface IStagedObject : IRandomAccessObject
{
    /// <summary>The upload whose staging this is.</summary>
    Guid Id { get; }

    /// <summary>Writes <paramref name="source"/> at <paramref name="offset"/>.</summary>
    void Write(ReadOnlySpan<byte> source, long offset);

    /// <summary>Cuts or extends the object to <paramref name="length"/> bytes.</summary>
    void SetLength(long length);

    /// <summary>Makes everything written so far durable, then lets the store drop it from its cache.</summary>
    void Flush();
}
