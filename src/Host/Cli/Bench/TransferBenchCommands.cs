using System.CommandLine;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Datasets;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Server;

namespace TurboMft.Host.Cli.Bench;

/// <summary>
/// Hidden helpers for bench/compare/run.sh: <c>bench sink</c> (the Kestrel TLS 1.3 ceiling), <c>bench sink-client</c>
/// (its sender) and <c>bench dataset</c> (a generated input file).
/// </summary>
internal static class TransferBenchCommands
{
    public static IEnumerable<Command> Create(TextWriter output, TextWriter error) => [Sink(output, error), SinkClient(output, error), Dataset(output, error)];

    private static Command Sink(TextWriter output, TextWriter error)
    {
        var listen = new Option<string>("--listen") { Description = "HOST:PORT (port 0 picks one).", DefaultValueFactory = _ => "127.0.0.1:0", HelpName = "HOST:PORT" };
        var data = new Option<string?>("--data") { Description = "Use DIR/tls/server.crt and server.key (a served data directory).", HelpName = "DIR" };
        var cert = new Option<FileInfo?>("--cert") { Description = "PEM certificate.", HelpName = "FILE" };
        var key = new Option<FileInfo?>("--key") { Description = "PEM private key (owner-only).", HelpName = "FILE" };
        var command = new Command("sink", "Kestrel TLS 1.3 connection handler that discards every byte: the transport ceiling.") { listen, data, cert, key };
        command.Hidden = true;
        command.SetAction((parse, cancellationToken) => CliErrors.GuardAsync(error, async () =>
        {
            var (certPath, keyPath) = parse.GetValue(data) is { } dir
                ? (Path.Combine(dir, "tls", "server.crt"), Path.Combine(dir, "tls", "server.key"))
                : (parse.GetValue(cert)?.FullName ?? throw new ArgumentException("Give --data DIR or --cert FILE --key FILE."),
                   parse.GetValue(key)?.FullName ?? throw new ArgumentException("Give --key FILE with --cert."));
            using var certificate = TlsCertificate.Load(certPath, keyPath);
            var endpoint = new ServerSettings { Listen = parse.GetValue(listen)! }.ParseListen();
            await using var sink = await TlsSink.StartAsync(endpoint, certificate, cancellationToken).ConfigureAwait(false);
            await output.WriteLineAsync($"sink listening on {sink.Address}").ConfigureAwait(false);
            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await sink.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C or SIGTERM: a clean stop.
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command SinkClient(TextWriter output, TextWriter error)
    {
        var connect = new Option<string>("--connect") { Description = "The sink's HOST:PORT.", Required = true, HelpName = "HOST:PORT" };
        var connections = new Option<int>("--connections") { Description = "Parallel TLS connections.", DefaultValueFactory = _ => 1, HelpName = "N" };
        var size = SizeOption("--size", "Total bytes to send, split evenly over the connections.", 1L << 30);
        var json = CliOptions.Json();
        var command = new Command("sink-client", "Send bytes to 'bench sink' over N TLS 1.3 connections and report the throughput.") { connect, connections, size, json };
        command.Hidden = true;
        command.SetAction((parse, cancellationToken) => CliErrors.GuardAsync(error, async () =>
        {
            var endpoint = new ServerSettings { Listen = parse.GetValue(connect)! }.ParseListen();
            var n = parse.GetValue(connections);
            if (n is < 1 or > 256)
            {
                throw new ArgumentException("--connections must be from 1 to 256.");
            }

            var run = await TlsSinkClient.SendAsync(endpoint, n, parse.GetValue(size), cancellationToken).ConfigureAwait(false);
            await output.WriteLineAsync(parse.GetValue(json)
                ? CliJson.Serialize(new { bytes = run.Bytes, connections = run.Connections, seconds = Math.Round(run.Seconds, 4), throughputMBps = Math.Round(run.ThroughputMBps, 1) })
                : $"sent {ByteSize.Format(run.Bytes)} on {run.Connections} connection(s) in {run.Seconds:0.00} s, {run.ThroughputMBps:0.0} MB/s").ConfigureAwait(false);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Dataset(TextWriter output, TextWriter error)
    {
        var kind = new Option<string>("--kind") { Description = "historian (CSV), imaging (16-bit frames) or random.", DefaultValueFactory = _ => "random" }
            .AcceptOnlyFromAmong("historian", "imaging", "random");
        var size = SizeOption("--size", "File size, e.g. 1GiB.", 1L << 30);
        var file = new Argument<FileInfo>("FILE") { Description = "Where to write (replaced)." };
        var command = new Command("dataset", "Write a generated file (DatasetGenerator, seed 1).") { kind, size, file };
        command.Hidden = true;
        command.SetAction((parse, cancellationToken) => CliErrors.GuardAsync(error, async () =>
        {
            var what = parse.GetValue(kind) switch
            {
                "historian" => DatasetKind.HistorianCsv,
                "imaging" => DatasetKind.ImagingFrames,
                _ => DatasetKind.Random,
            };
            var path = parse.GetRequiredValue(file).FullName;
            await DatasetGenerator.WriteFileAsync(path, what, parse.GetValue(size), ct: cancellationToken).ConfigureAwait(false);
            await output.WriteLineAsync($"wrote {ByteSize.Format(parse.GetValue(size))} of {what} to {path}").ConfigureAwait(false);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Option<long> SizeOption(string name, string description, long defaultBytes) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultBytes,
        CustomParser = r =>
        {
            var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : null;
            if (ByteSize.TryParse(text, out var bytes))
            {
                return bytes;
            }

            r.AddError($"'{text}' is not a size; write e.g. 1GiB or 512MiB.");
            return 0;
        },
        HelpName = "SIZE",
    };
}
