using TurboMft.Engine.Buffers;
using TurboMft.Engine.Container;

namespace TurboMft.Engine.Pipeline;

/// <summary>
/// Full verification of a container on N workers: every chunk authenticates, decodes, matches its CRC and its recorded
/// SHA-256, and the chunk digests hash to the recorded <c>sha256-tree</c>. Throws <see cref="ContainerException"/>
/// naming the first bad chunk.
/// </summary>
public static class ContainerVerifier
{
    /// <summary>Verifies <paramref name="reader"/>'s container with the workers and pool of <paramref name="options"/>.</summary>
    public static async Task VerifyAsync(ContainerReader reader, PipelineOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(options);
        var ownsPool = options.Pool is null;
        var pool = options.Pool ?? new ChunkBufferPool(ContainerFormat.BufferSizeFor(reader.Geometry.ChunkSize), 2 * options.EffectiveWorkers);
        try
        {
            await ChunkPipeline.RunAsync(
                reader.Geometry.ChunkCount,
                options.EffectiveWorkers,
                reader.CreateOpener,
                (opener, index, token) =>
                {
                    var record = pool.Rent(token);
                    ChunkBuffer? plain = null;
                    try
                    {
                        plain = pool.Rent(token);
                        var length = reader.ReadChunk(opener, index, record, plain.Span);
                        reader.CheckChunkDigest(index, plain.Span[..length]);
                    }
                    finally
                    {
                        pool.Return(record);
                        if (plain is not null)
                        {
                            pool.Return(plain);
                        }
                    }
                },
                cancellationToken).ConfigureAwait(false);
            reader.CheckFileDigest();
        }
        finally
        {
            if (ownsPool)
            {
                pool.Dispose();
            }
        }
    }
}
