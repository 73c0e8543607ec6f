using System.Diagnostics;
using TurboMft.Engine.Buffers;
using TurboMft.Engine.Container;

namespace TurboMft.Engine.Pipeline;

/// <summary>
/// Turns a container back into a file: positional read of each record → AES-256-GCM open → LZ4 decode → CRC check →
/// (optionally SHA-256 against the trailer) → positional write, on N workers. Writes to a temporary name and renames
/// on success, so a failed unpack never leaves a partial file under the target name.
/// </summary>
public static class ContainerUnpacker
{
    /// <summary>Unpacks <paramref name="reader"/>'s file into <paramref name="targetPath"/> (which must not exist).</summary>
    public static async Task<UnpackResult> UnpackAsync(
        ContainerReader reader, string targetPath, PipelineOptions options, bool verifyChunkDigests = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(options);
        var started = Stopwatch.GetTimestamp();
        var geometry = reader.Geometry;
        var workers = options.EffectiveWorkers;
        var ownsPool = options.Pool is null;
        var bufferSize = ContainerFormat.BufferSizeFor(geometry.ChunkSize);
        var pool = options.Pool ?? new ChunkBufferPool(bufferSize, 2 * workers);
        var progress = new ProgressCounter(geometry.ChunkCount, geometry.FileSize, options.Progress);
        var temporary = targetPath + ".tmf-partial";
        var done = false;
        try
        {
            using (var output = File.OpenHandle(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, FileOptions.None, geometry.FileSize))
            {
                await ChunkPipeline.RunAsync(
                    geometry.ChunkCount,
                    workers,
                    reader.CreateOpener,
                    (opener, index, token) =>
                    {
                        var record = pool.Rent(token);
                        ChunkBuffer? plain = null;
                        try
                        {
                            plain = pool.Rent(token);
                            var length = reader.ReadChunk(opener, index, record, plain.Span);
                            var span = plain.Span[..length];
                            if (verifyChunkDigests)
                            {
                                reader.CheckChunkDigest(index, span);
                            }

                            RandomAccess.Write(output, span, geometry.OffsetOf(index));
                            progress.Add(length);
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
                RandomAccess.FlushToDisk(output);
            }

            File.Move(temporary, targetPath, overwrite: false);
            done = true;
            return new UnpackResult(reader.Digest, geometry.FileSize, Stopwatch.GetElapsedTime(started));
        }
        finally
        {
            if (ownsPool)
            {
                pool.Dispose();
            }

            if (!done)
            {
                File.Delete(temporary);
            }
        }
    }
}

/// <summary>The outcome of unpacking a container.</summary>
/// <param name="Digest">The file's <c>sha256-tree</c> (verified chunk by chunk when requested).</param>
/// <param name="FileSize">Bytes written.</param>
/// <param name="Elapsed">Wall time.</param>
public sealed record UnpackResult(Integrity.FileDigest Digest, long FileSize, TimeSpan Elapsed);
