using System.CommandLine;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Client;
using TurboMft.Engine.Pipeline;
using TurboMft.Engine.Protocol;

namespace TurboMft.Host.Cli;

/// <summary><c>turbomft push|pull|ls|rm</c>: transfers against a TurboMft server (docs/protocol.md), URL = https://host:port/remote/path.</summary>
internal static class TransferCommands
{
    public static IEnumerable<Command> Create(TextWriter output, TextWriter error) => [Push(output, error), Pull(output, error), List(output, error), Remove(output, error)];

    private static Command Push(TextWriter output, TextWriter error)
    {
        // One argument for SRC... URL: the parser cannot give a variadic argument back its last token.
        var paths = new Argument<string[]>("SRC... URL")
        {
            Description = "Files or directories (sent recursively with their structure), then where to: https://host:port/remote/path (a trailing / means 'into this folder').",
            Arity = new ArgumentArity(2, 100_000),
        };
        var common = new TransferOptions();
        var command = new Command(
            "push",
            "Upload files and directories; every file is verified against the server's committed digest. Exit 0 when verified, even if the server holds a file "
            + "pending a scan or an approval (a note on stderr says which); exit 1 if it quarantined one.") { paths };
        common.AddTo(command, withUploadOptions: true);
        command.SetAction((parse, cancellationToken) => CliErrors.GuardAsync(error, async () =>
        {
            var all = parse.GetRequiredValue(paths);
            var target = TransferUrl.Parse(all[^1]);
            var items = TransferPlan.ForPush(all[..^1], target);
            using var client = new TurboMftClient(common.ToClientOptions(parse, target.BaseAddress));
            var total = items.Sum(i => new FileInfo(i.LocalPath).Length);
            var asJson = parse.GetValue(common.Json);
            var result = await ProgressDisplay.RunAsync("push", total, !asJson, progress =>
                client.PushAsync(items, Adapt(progress), cancellationToken)).ConfigureAwait(false);
            await Report(output, asJson, "pushed", result, items.Count == 1 ? items[0].RemotePath : target.RemotePath).ConfigureAwait(false);
            await NoteHeldAsync(error, result).ConfigureAwait(false);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Pull(TextWriter output, TextWriter error)
    {
        var url = UrlArgument("What: https://host:port/remote/path (a trailing / pulls everything under that folder).");
        var destination = new Argument<string>("DEST") { Description = "Local file or directory." };
        var common = new TransferOptions();
        var command = new Command("pull", "Download with parallel range requests; every file is verified against the server's digest before it is renamed into place.") { url, destination };
        common.AddTo(command, withUploadOptions: false);
        command.SetAction((parse, cancellationToken) => CliErrors.GuardAsync(error, async () =>
        {
            var source = TransferUrl.Parse(parse.GetRequiredValue(url));
            using var client = new TurboMftClient(common.ToClientOptions(parse, source.BaseAddress));
            var listed = source.IsFolder ? await client.ListAsync(source.RemotePath, cancellationToken).ConfigureAwait(false) : [];
            foreach (var held in listed.Where(f => !f.IsReleased))
            {
                // Approvers and admins are listed held files too; they cannot be downloaded until released.
                await error.WriteLineAsync($"turbomft: note: skipping {held.Path}: it is {held.State}, not released").ConfigureAwait(false);
            }

            listed = [.. listed.Where(f => f.IsReleased)];
            var items = TransferPlan.ForPull(source, listed, parse.GetRequiredValue(destination));
            var asJson = parse.GetValue(common.Json);
            var total = source.IsFolder ? listed.Sum(f => f.Size) : 0;
            var result = await ProgressDisplay.RunAsync("pull", total, !asJson, progress =>
                client.PullAsync(items, listed, Adapt(progress), cancellationToken)).ConfigureAwait(false);
            await Report(output, asJson, "pulled", result, items.Count == 1 ? items[0].LocalPath : parse.GetRequiredValue(destination)).ConfigureAwait(false);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command List(TextWriter output, TextWriter error)
    {
        var url = UrlArgument("The folder or prefix: https://host:port/remote/path.");
        var common = new TransferOptions();
        var command = new Command("ls", "List the files under a remote path.") { url };
        common.AddTo(command, withUploadOptions: false);
        command.SetAction((parse, cancellationToken) => CliErrors.GuardAsync(error, async () =>
        {
            var target = TransferUrl.Parse(parse.GetRequiredValue(url));
            using var client = new TurboMftClient(common.ToClientOptions(parse, target.BaseAddress));
            var files = await client.ListAsync(target.RemotePath, cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(common.Json))
            {
                await output.WriteLineAsync(CliJson.Serialize(new { files })).ConfigureAwait(false);
            }
            else
            {
                foreach (var file in files)
                {
                    var state = file.IsReleased ? string.Empty : $"  [{file.State}]";
                    await output.WriteLineAsync($"{file.Size,15}  {file.CommittedAt:yyyy-MM-dd HH:mm:ss}  {file.Path}{state}").ConfigureAwait(false);
                }
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Remove(TextWriter output, TextWriter error)
    {
        var url = UrlArgument("The file: https://host:port/remote/path.");
        var common = new TransferOptions();
        var command = new Command("rm", "Delete a remote file.") { url };
        common.AddTo(command, withUploadOptions: false);
        command.SetAction((parse, cancellationToken) => CliErrors.GuardAsync(error, async () =>
        {
            var target = TransferUrl.Parse(parse.GetRequiredValue(url));
            if (target.IsFolder)
            {
                throw new ArgumentException($"'{parse.GetRequiredValue(url)}' names a folder; rm deletes one file, write its path without a trailing /.");
            }

            using var client = new TurboMftClient(common.ToClientOptions(parse, target.BaseAddress));
            await client.DeleteAsync(target.RemotePath, cancellationToken).ConfigureAwait(false);
            await output.WriteLineAsync(parse.GetValue(common.Json) ? CliJson.Serialize(new { deleted = target.RemotePath }) : $"deleted {target.RemotePath}").ConfigureAwait(false);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Argument<string> UrlArgument(string description) => new("URL") { Description = description };

    private static async Task Report(TextWriter output, bool asJson, string verb, TransferResult result, string where)
    {
        if (asJson)
        {
            await output.WriteLineAsync(CliJson.Serialize(result)).ConfigureAwait(false);
            return;
        }

        var skipped = result.ChunksSkipped > 0 ? $", {result.ChunksSkipped} chunks already there" : string.Empty;
        await output.WriteLineAsync(
            $"{verb} {result.Files} file(s), {ByteSize.Format(result.Bytes)} ({ByteSize.Format(result.BytesSent)} on the wire{skipped}) in {result.Seconds:0.00} s, {result.ThroughputMBps:0.0} MB/s, verified").ConfigureAwait(false);
        if (result.Digest is not null)
        {
            await output.WriteLineAsync($"{result.Digest}  {where}").ConfigureAwait(false);
        }
    }

    // The transfer itself succeeded; say clearly that the file cannot be downloaded yet, and why.
    private static async Task NoteHeldAsync(TextWriter error, TransferResult result)
    {
        foreach (var held in result.Held ?? [])
        {
            var why = held.State switch
            {
                ReleaseStates.PendingApproval => "it waits for approval by a second person with approve on its area (turbomft approvals list)",
                ReleaseStates.PendingScan => "it is still being scanned (or held while a scanner is unavailable); it is released when the scan is clean",
                _ => $"it is {held.State}",
            };
            await error.WriteLineAsync($"turbomft: note: {held.Path} is stored and verified but not downloadable yet: {why}").ConfigureAwait(false);
        }
    }

    private static IProgress<TransferProgress>? Adapt(IProgress<PipelineProgress>? display) =>
        display is null ? null : new Progress(display);

    private sealed class Progress(IProgress<PipelineProgress> display) : IProgress<TransferProgress>
    {
        public void Report(TransferProgress value) => display.Report(new PipelineProgress(value.FilesDone, value.FileCount, value.BytesDone, value.TotalBytes));
    }

    /// <summary>The options every transfer command shares, and their mapping to <see cref="TurboMftClientOptions"/>.</summary>
    private sealed class TransferOptions
    {
        public ServerAccessOptions Access { get; } = new();

        public Option<int> Connections { get; } = new("--connections")
        {
            Description = "Chunks in flight: parallel connections (default 4).",
            DefaultValueFactory = _ => 4,
            Validators = { r => { if (r.GetValueOrDefault<int>() is < 1 or > 256) { r.AddError("--connections must be from 1 to 256."); } } },
            HelpName = "N",
        };

        public Option<int> ChunkSize { get; } = CliOptions.ChunkSize();

        public Option<string> Compress { get; } = new Option<string>("--compress") { Description = "auto (LZ4 when it pays), lz4 (whenever smaller) or none.", DefaultValueFactory = _ => "auto" }
            .AcceptOnlyFromAmong("auto", "lz4", "none");

        public Option<string> Verify { get; } = new Option<string>("--verify") { Description = "fast (CRC-64 per chunk end to end, SHA-256 by the server) or sha256 (this side hashes every chunk with SHA-256 too).", DefaultValueFactory = _ => "fast" }
            .AcceptOnlyFromAmong("fast", "sha256");

        public Option<string> Http { get; } = new Option<string>("--http") { Description = "HTTP version: 1.1 (one connection per chunk in flight) or 2 (streams on one connection).", DefaultValueFactory = _ => "1.1", HelpName = "1.1|2" }
            .AcceptOnlyFromAmong("1.1", "2");

        public Option<int> BatchFiles { get; } = new("--batch-files")
        {
            Description = "Files smaller than a chunk travel in batch uploads of up to N files (default 256); 0 sends each by its own PUT.",
            DefaultValueFactory = _ => 256,
            Validators = { r => { if (r.GetValueOrDefault<int>() is < 0 or > 100_000) { r.AddError("--batch-files must be from 0 to 100000."); } } },
            HelpName = "N",
        };

        public Option<bool> Json { get; } = CliOptions.Json();

        public void AddTo(Command command, bool withUploadOptions)
        {
            Access.AddTo(command);
            command.Options.Add(Connections);
            command.Options.Add(Http);
            if (withUploadOptions)
            {
                command.Options.Add(ChunkSize);
                command.Options.Add(Compress);
                command.Options.Add(BatchFiles);
            }

            command.Options.Add(Verify);

            command.Options.Add(Json);
        }

        public TurboMftClientOptions ToClientOptions(ParseResult parse, Uri server)
        {
            var chunkSize = parse.GetResult(ChunkSize) is null ? ChunkGeometry.DefaultChunkSize : parse.GetValue(ChunkSize);
            return new TurboMftClientOptions
            {
                BaseAddress = server,
                Token = Access.ReadToken(parse),
                CaCertificatePath = parse.GetValue(Access.Ca)?.FullName,
                PinSha256 = parse.GetValue(Access.Pin),
                Connections = parse.GetValue(Connections),
                HttpVersion = parse.GetValue(Http) == "2" ? System.Net.HttpVersion.Version20 : System.Net.HttpVersion.Version11,
                ChunkSize = chunkSize,
                Compression = parse.GetResult(Compress) is null ? TransferCompression.Auto : Enum.Parse<TransferCompression>(parse.GetValue(Compress)!, ignoreCase: true),
                Verify = parse.GetResult(Verify) is null ? TransferVerify.Fast : Enum.Parse<TransferVerify>(parse.GetValue(Verify)!, ignoreCase: true),
                BatchFiles = parse.GetResult(BatchFiles) is null ? 256 : parse.GetValue(BatchFiles),
            };
        }
    }
}
