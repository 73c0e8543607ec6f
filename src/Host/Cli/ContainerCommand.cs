using System.CommandLine;
using TurboMft.Engine.Compression;
using TurboMft.Engine.Container;
using TurboMft.Engine.Crypto;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Pipeline;

namespace TurboMft.Host.Cli;

/// <summary><c>turbomft container pack|unpack|verify|rewrap</c>: encrypted containers on local disk (docs/format.md).</summary>
internal static class ContainerCommand
{
    public static Command Create(TextWriter output, TextWriter error) =>
        new("container", "Encrypt a file into a container, restore it, verify it, or re-wrap its key after rotation.")
        {
            Pack(output, error), Unpack(output, error), Verify(output, error), Rewrap(output, error),
        };

    private static Command Pack(TextWriter output, TextWriter error)
    {
        var source = new Argument<FileInfo>("SOURCE") { Description = "File to pack." };
        var target = new Argument<FileInfo>("CONTAINER") { Description = "Container to create (must not exist)." };
        var keyFile = MasterKeyOptions.KeyFile();
        var chunkSize = CliOptions.ChunkSize();
        var workers = CliOptions.Workers();
        var noCompress = new Option<bool>("--no-compress") { Description = "Store every chunk raw." };
        var sha256 = new Option<bool>("--sha256") { Description = "Also record the whole-file SHA-256." };
        var json = CliOptions.Json();
        var command = new Command("pack", "Pack a file into a new encrypted container.") { source, target, keyFile, chunkSize, workers, noCompress, sha256, json };
        command.SetAction((parse, cancellationToken) => CliErrors.GuardAsync(error, async () =>
        {
            using var ring = MasterKeyOptions.Load(parse.GetValue(keyFile));
            var sourcePath = parse.GetRequiredValue(source).FullName;
            var targetPath = parse.GetRequiredValue(target).FullName;
            var fileId = Guid.CreateVersion7();
            using var dataKey = DataKey.Generate();
            var wrapped = new byte[ContainerFormat.WrappedKeySize];
            ring.Wrap(dataKey, fileId).WriteTo(wrapped);
            var options = new PipelineOptions
            {
                ChunkSize = parse.GetValue(chunkSize),
                Workers = parse.GetValue(workers),
                Compression = parse.GetValue(noCompress) ? CompressionMode.Off : CompressionMode.Adaptive,
                WholeFileSha256 = parse.GetValue(sha256),
            };
            var asJson = parse.GetValue(json);
            var size = File.Exists(sourcePath) ? new FileInfo(sourcePath).Length : 0;
            var result = await ProgressDisplay.RunAsync("pack", size, !asJson, progress =>
                ContainerPacker.PackAsync(sourcePath, targetPath, dataKey, wrapped, fileId, options with { Progress = progress }, cancellationToken)).ConfigureAwait(false);
            var c = result.Container;
            var seconds = result.Elapsed.TotalSeconds;
            if (asJson)
            {
                await output.WriteLineAsync(CliJson.Serialize(new
                {
                    source = sourcePath,
                    container = targetPath,
                    fileId = c.FileId,
                    keyId = ring.ActiveKeyId,
                    bytes = c.FileSize,
                    chunks = c.ChunkCount,
                    chunksCompressed = c.ChunksCompressed,
                    storedBytes = c.ContainerLength,
                    digest = c.Digest.ToString(),
                    sha256 = result.WholeFileSha256 is { } s ? WholeFileSha256.Format(s) : null,
                    seconds,
                    bytesPerSecond = seconds > 0 ? c.FileSize / seconds : 0,
                })).ConfigureAwait(false);
            }
            else
            {
                await output.WriteLineAsync($"{c.Digest}  {targetPath}").ConfigureAwait(false);
                await output.WriteLineAsync($"packed {c.FileSize} bytes in {c.ChunkCount} chunks ({c.ChunksCompressed} compressed) into {c.ContainerLength} bytes, {c.FileSize / Math.Max(seconds, 1e-9) / 1e9:0.00} GB/s").ConfigureAwait(false);
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Unpack(TextWriter output, TextWriter error)
    {
        var container = new Argument<FileInfo>("CONTAINER") { Description = "Container to read." };
        var target = new Argument<FileInfo>("TARGET") { Description = "File to create (must not exist)." };
        var keyFile = MasterKeyOptions.KeyFile();
        var workers = CliOptions.Workers();
        var json = CliOptions.Json();
        var command = new Command("unpack", "Restore the file from a container, checking every chunk against its digest.") { container, target, keyFile, workers, json };
        command.SetAction((parse, cancellationToken) => CliErrors.GuardAsync(error, async () =>
        {
            using var ring = MasterKeyOptions.Load(parse.GetValue(keyFile));
            var targetPath = parse.GetRequiredValue(target).FullName;
            if (File.Exists(targetPath))
            {
                throw new IOException($"'{targetPath}' already exists; choose another target or remove it first.");
            }

            using var reader = ContainerReader.Open(parse.GetRequiredValue(container).FullName, MasterKeyOptions.Resolver(ring));
            var asJson = parse.GetValue(json);
            var options = new PipelineOptions { ChunkSize = reader.Geometry.ChunkSize, Workers = parse.GetValue(workers) };
            var result = await ProgressDisplay.RunAsync("unpack", reader.Geometry.FileSize, !asJson, progress =>
                ContainerUnpacker.UnpackAsync(reader, targetPath, options with { Progress = progress }, verifyChunkDigests: true, cancellationToken)).ConfigureAwait(false);
            var seconds = result.Elapsed.TotalSeconds;
            await output.WriteLineAsync(asJson
                ? CliJson.Serialize(new { target = targetPath, bytes = result.FileSize, digest = result.Digest.ToString(), seconds, bytesPerSecond = seconds > 0 ? result.FileSize / seconds : 0 })
                : $"{result.Digest}  {targetPath}").ConfigureAwait(false);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Verify(TextWriter output, TextWriter error)
    {
        var container = new Argument<FileInfo>("CONTAINER") { Description = "Container to verify." };
        var keyFile = MasterKeyOptions.KeyFile();
        var workers = CliOptions.Workers();
        var command = new Command("verify", "Authenticate and hash every chunk and check the file digest; exit 1 naming the first bad chunk.") { container, keyFile, workers };
        command.SetAction((parse, cancellationToken) => CliErrors.GuardAsync(error, async () =>
        {
            using var ring = MasterKeyOptions.Load(parse.GetValue(keyFile));
            var path = parse.GetRequiredValue(container).FullName;
            using var reader = ContainerReader.Open(path, MasterKeyOptions.Resolver(ring));
            await ContainerVerifier.VerifyAsync(reader, new PipelineOptions { Workers = parse.GetValue(workers) }, cancellationToken).ConfigureAwait(false);
            await output.WriteLineAsync($"ok {reader.Digest}  {path} ({reader.Geometry.FileSize} bytes, {reader.Geometry.ChunkCount} chunks)").ConfigureAwait(false);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Rewrap(TextWriter output, TextWriter error)
    {
        var container = new Argument<FileInfo>("CONTAINER") { Description = "Container whose data key moves to the active master key." };
        var keyFile = MasterKeyOptions.KeyFile();
        var command = new Command("rewrap", "Re-wrap a container's data key under the active master key (no data is re-encrypted).") { container, keyFile };
        command.SetAction((parse, _) => CliErrors.GuardAsync(error, async () =>
        {
            using var ring = MasterKeyOptions.Load(parse.GetValue(keyFile));
            var path = parse.GetRequiredValue(container).FullName;
            var (before, after) = ContainerKeyRewrap.Rewrap(path, ring);
            await output.WriteLineAsync(before == after ? $"{path}: already under master key {after}" : $"{path}: data key re-wrapped {before} -> {after}").ConfigureAwait(false);
            return ExitCodes.Ok;
        }));
        return command;
    }
}
