using System.CommandLine;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Pipeline;

namespace TurboMft.Host.Cli;

/// <summary><c>turbomft digest FILE</c>: the file's <c>sha256-tree</c> (and plain SHA-256), computed in parallel.</summary>
internal static class DigestCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var file = new Argument<FileInfo>("FILE") { Description = "The file to digest." };
        var sha256 = new Option<bool>("--sha256") { Description = "Also print the plain SHA-256 (sha256sum-compatible)." };
        var chunkSize = CliOptions.ChunkSize();
        var workers = CliOptions.Workers();
        var json = CliOptions.Json();
        var command = new Command("digest", "Print a file's sha256-tree digest (docs/format.md), computed on all cores.")
        {
            file, sha256, chunkSize, workers, json,
        };
        command.SetAction((parse, cancellationToken) => CliErrors.GuardAsync(error, async () =>
        {
            var path = parse.GetRequiredValue(file).FullName;
            var options = new PipelineOptions
            {
                ChunkSize = parse.GetValue(chunkSize),
                Workers = parse.GetValue(workers),
                WholeFileSha256 = parse.GetValue(sha256),
            };
            var asJson = parse.GetValue(json);
            var size = File.Exists(path) ? new FileInfo(path).Length : 0;
            var result = await ProgressDisplay.RunAsync("digest", size, !asJson, progress =>
                FileDigester.ComputeAsync(path, options with { Progress = progress }, cancellationToken)).ConfigureAwait(false);
            var plain = result.WholeFileSha256 is { } bytes ? WholeFileSha256.Format(bytes) : null;
            if (asJson)
            {
                var seconds = result.Elapsed.TotalSeconds;
                await output.WriteLineAsync(CliJson.Serialize(new
                {
                    file = path,
                    bytes = result.Geometry.FileSize,
                    chunkSize = result.Geometry.ChunkSize,
                    chunks = result.Geometry.ChunkCount,
                    digest = result.Digest.ToString(),
                    sha256 = plain,
                    seconds,
                    bytesPerSecond = seconds > 0 ? result.Geometry.FileSize / seconds : 0,
                })).ConfigureAwait(false);
            }
            else
            {
                await output.WriteLineAsync($"{result.Digest}  {parse.GetRequiredValue(file)}").ConfigureAwait(false);
                if (plain is not null)
                {
                    await output.WriteLineAsync($"{plain}  {parse.GetRequiredValue(file)}").ConfigureAwait(false);
                }
            }

            return ExitCodes.Ok;
        }));
        return command;
    }
}
