using System.Diagnostics;
using TurboMft.Engine.Buffers;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Integrity;

namespace TurboMft.Engine.Pipeline;

/// <summary>Computes a file's <c>sha256-tree</c> in parallel (and, on request, its plain SHA-256 alongside).</summary>
public static class FileDigester
{
    /// <summary>Digests <paramref name="path"/> with the chunk size and workers of <paramref name="options"/>.</summary>
    public static async Task<DigestResult> ComputeAsync(string path, PipelineOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ChunkGeometry.Validate(options.ChunkSize);
        var started = Stopwatch.GetTimestamp();
        using var source = SourceFile.Open(path);
        var geometry = new ChunkGeometry(RandomAccess.GetLength(source.Handle), options.ChunkSize);
        var workers = options.EffectiveWorkers;
        var ownsPool = options.Pool is null;
        var pool = options.Pool ?? new ChunkBufferPool(options.ChunkSize, 2 * workers);
        var tree = new TreeDigestBuilder(geometry);
        var progress = new ProgressCounter(geometry.ChunkCount, geometry.FileSize, options.Progress);
        try
        {
            var wholeFile = options.WholeFileSha256 ? WholeFileHasher.HashAsync(source.Handle, cancellationToken) : Task.FromResult<byte[]>([]);
            await ChunkPipeline.RunAsync(
                geometry.ChunkCount,
                workers,
                () => NoWorkerState.Instance,
                (_, index, token) =>
                {
                    var buffer = pool.Rent(token);
                    try
                    {
                        var span = buffer.Span[..geometry.LengthOf(index)];
                        source.ReadExactly(span, geometry.OffsetOf(index), index);
                        tree.AddChunk(index, span);
                        progress.Add(span.Length);
                    }
                    finally
                    {
                        pool.Return(buffer);
                    }
                },
                cancellationToken).ConfigureAwait(false);
            var sha256 = await wholeFile.ConfigureAwait(false);
            return new DigestResult(tree.Finish(), sha256.Length > 0 ? sha256 : null, geometry, Stopwatch.GetElapsedTime(started));
        }
        finally
        {
            if (ownsPool)
            {
                pool.Dispose();
            }
        }
    }

    private sealed class NoWorkerState : IDisposable
    {
        public static readonly NoWorkerState Instance = new();

        public void Dispose()
        {
        }
    }
}

/// <summary>A file's digests.</summary>
/// <param name="Digest">The <c>sha256-tree</c>.</param>
/// <param name="WholeFileSha256">The plain SHA-256 when requested, else null.</param>
/// <param name="Geometry">Size and chunking used.</param>
/// <param name="Elapsed">Wall time.</param>
public sealed record DigestResult(FileDigest Digest, byte[]? WholeFileSha256, ChunkGeometry Geometry, TimeSpan Elapsed);
