using System.Buffers;
using TurboMft.Engine.Buffers;

namespace TurboMft.Engine.Datasets;

/// <summary>
/// Deterministic synthetic files for tests, benchmarks and load runs: the same kind, seed and offset give the same bytes
/// on every machine and runtime. Content is defined in independent <see cref="BlockSize"/> blocks, so any range can be
/// produced on its own, in parallel, in constant memory.
/// </summary>
public static class DatasetGenerator
{
    /// <summary>The unit in which content is defined: any block is a function of (kind, seed, block index) alone.</summary>
    public const int BlockSize = 64 * 1024;

    /// <summary>The size of the pieces <see cref="WriteFileAsync"/> fills and writes in parallel.</summary>
    public const int WriteBlockSize = 4 * 1024 * 1024;

    /// <summary>Width in pixels of an <see cref="DatasetKind.ImagingFrames"/> frame.</summary>
    public const int ImagingFrameWidth = ImagingFrameBlock.Width;

    /// <summary>Height in pixels of an <see cref="DatasetKind.ImagingFrames"/> frame.</summary>
    public const int ImagingFrameHeight = ImagingFrameBlock.Height;

    /// <summary>The first line of a <see cref="DatasetKind.HistorianCsv"/> file.</summary>
    public static ReadOnlySpan<byte> HistorianCsvHeader => HistorianCsvBlock.Header;

    /// <summary>
    /// Fills <paramref name="destination"/> with the bytes that a file of <paramref name="kind"/> generated from
    /// <paramref name="seed"/> holds at <paramref name="offset"/>. Files have no end: any offset is valid.
    /// </summary>
    public static void Fill(DatasetKind kind, long seed, long offset, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ValidateKind(kind);

        var block = offset / BlockSize;
        var skip = (int)(offset % BlockSize);
        byte[]? scratch = null;
        try
        {
            while (!destination.IsEmpty)
            {
                var take = Math.Min(BlockSize - skip, destination.Length);
                if (take == BlockSize)
                {
                    FillBlock(kind, seed, block, destination[..BlockSize]);
                }
                else
                {
                    // Partial blocks at either end are generated whole, then the wanted slice is copied out.
                    scratch ??= ArrayPool<byte>.Shared.Rent(BlockSize);
                    var whole = scratch.AsSpan(0, BlockSize);
                    FillBlock(kind, seed, block, whole);
                    whole.Slice(skip, take).CopyTo(destination);
                }

                destination = destination[take..];
                block++;
                skip = 0;
            }
        }
        finally
        {
            if (scratch is not null)
            {
                ArrayPool<byte>.Shared.Return(scratch);
            }
        }
    }

    /// <summary>
    /// Writes a file of <paramref name="length"/> bytes of <paramref name="kind"/> content to <paramref name="path"/>
    /// (replacing it), filling <see cref="WriteBlockSize"/> pieces in parallel on every core with positional writes.
    /// Memory stays at two pieces per core whatever the length. A failed or cancelled write deletes the partial file.
    /// </summary>
    public static async Task WriteFileAsync(string path, DatasetKind kind, long length, long seed = 1, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ValidateKind(kind);

        var workers = Environment.ProcessorCount;
        var pieces = (length + WriteBlockSize - 1) / WriteBlockSize;
        using var handle = File.OpenHandle(path, FileMode.Create, FileAccess.Write, FileShare.None, FileOptions.None, preallocationSize: length);
        try
        {
            using var pool = new ChunkBufferPool(WriteBlockSize, ChunkBufferPool.DefaultMaxInFlight(workers));
            var options = new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = ct };
            await Parallel.ForAsync(0L, pieces, options, async (piece, token) =>
            {
                var buffer = await pool.RentAsync(token).ConfigureAwait(false);
                try
                {
                    var offset = piece * WriteBlockSize;
                    var bytes = buffer.Span[..(int)Math.Min(WriteBlockSize, length - offset)];
                    Fill(kind, seed, offset, bytes);
                    RandomAccess.Write(handle, bytes, offset);
                }
                finally
                {
                    pool.Return(buffer);
                }
            }).ConfigureAwait(false);

            // Preallocation may or may not extend the file depending on the platform; make the length exact.
            RandomAccess.SetLength(handle, length);
        }
        catch
        {
            handle.Dispose();
            File.Delete(path);
            throw;
        }
    }

    private static void FillBlock(DatasetKind kind, long seed, long block, Span<byte> destination)
    {
        switch (kind)
        {
            case DatasetKind.HistorianCsv:
                HistorianCsvBlock.Fill(seed, block, destination);
                break;
            case DatasetKind.ImagingFrames:
                ImagingFrameBlock.Fill(seed, block, destination);
                break;
            default:
                RandomBlock.Fill(seed, block, destination);
                break;
        }
    }

    private static void ValidateKind(DatasetKind kind)
    {
        if (!Enum.IsDefined(kind))
        {
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown dataset kind; use HistorianCsv, ImagingFrames or Random.");
        }
    }
}
