using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text;
using TurboMft.Host.Audit;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Server;

namespace TurboMft.Host.Cli;

/// <summary><c>turbomft audit verify|export</c>: check and export a data directory's audit log offline (docs/audit.md).</summary>
internal static class AuditCommand
{
    public static Command Create(TextWriter output, TextWriter error) =>
        new("audit", "Verify the tamper-evident audit log, or export it as JSON lines or RFC 5424 syslog.") { Verify(output, error), Export(output, error) };

    /// <summary><c>--data DIR</c>, else TURBOMFT_DATA.</summary>
    internal static Option<string?> DataOption(string description) => new("--data") { Description = description + " Env: TURBOMFT_DATA.", HelpName = "DIR" };

    internal static DataDirectory OpenData(string? data) =>
        DataDirectory.OpenExisting(data ?? Environment.GetEnvironmentVariable("TURBOMFT_DATA") ?? string.Empty);

    private static Command Verify(TextWriter output, TextWriter error)
    {
        var data = DataOption("Data directory whose audit/ to verify.");
        var command = new Command("verify", "Check every record's HMAC, the seq and hash chain across all files and the head anchor; exit 1 naming the first break.") { data };
        command.SetAction((parse, _) => CliErrors.GuardAsync(error, async () =>
        {
            var directory = OpenData(parse.GetValue(data));
            using var key = directory.LoadAuditKey();
            var result = AuditVerifier.Verify(OfflineStores.AuditReader(directory), key);
            foreach (var notice in result.Notices)
            {
                await output.WriteLineAsync($"note: {notice}").ConfigureAwait(false);
            }

            if (result.Break is { } broken)
            {
                throw new AuditChainBrokenException(broken, result.Records);
            }

            await output.WriteLineAsync($"ok: {result.Records} records, last seq {result.LastSeq}").ConfigureAwait(false);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Export(TextWriter output, TextWriter error)
    {
        var data = DataOption("Data directory whose audit/ to export.");
        var format = new Option<string>("--format")
        {
            Description = "jsonl: the stored lines, verifiable with the audit key; syslog: RFC 5424 lines (facility 13, log audit).",
            DefaultValueFactory = _ => "jsonl",
            HelpName = "jsonl|syslog",
        };
        format.AcceptOnlyFromAmong("jsonl", "syslog");
        var since = new Option<DateTimeOffset?>("--since")
        {
            Description = "Only records written at or after this time (RFC 3339, e.g. 2026-11-26T00:00:00Z).",
            CustomParser = ParseTime,
            HelpName = "TIME",
        };
        var file = new Option<FileInfo?>("--output") { Description = "Write to this new file instead of stdout.", HelpName = "FILE" };
        var command = new Command("export", "Print the audit records (all, or since a time) for a SIEM.") { data, format, since, file };
        command.SetAction((parse, cancellationToken) => CliErrors.GuardAsync(error, async () =>
        {
            var directory = OpenData(parse.GetValue(data));
            var query = new AuditQuery { Since = parse.GetValue(since) };
            var syslog = parse.GetValue(format) == "syslog";
            var host = AuditExport.HostName();
            var target = parse.GetValue(file);
            await using var stream = target is null ? null : new FileStream(target.FullName, FileMode.CreateNew, FileAccess.Write);
            await using var fileWriter = stream is null ? null : new StreamWriter(stream, new UTF8Encoding(false));
            var writer = fileWriter ?? output;
            var count = 0;
            foreach (var record in query.Run(OfflineStores.AuditReader(directory)))
            {
                cancellationToken.ThrowIfCancellationRequested();
                await writer.WriteAsync((syslog ? AuditExport.ToSyslog(record, host) : AuditExport.ToJsonLine(record)) + "\n").ConfigureAwait(false);
                count++;
            }

            if (fileWriter is not null)
            {
                await fileWriter.FlushAsync(cancellationToken).ConfigureAwait(false);
                await output.WriteLineAsync($"exported {count} records to {target!.FullName}").ConfigureAwait(false);
            }

            return ExitCodes.Ok;
        }));
        return command;
    }

    private static DateTimeOffset? ParseTime(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time))
        {
            return time;
        }

        result.AddError($"'{text}' is not a time; write RFC 3339, e.g. 2026-11-26T00:00:00Z.");
        return null;
    }
}

/// <summary>The audit log does not verify; the message names the first break.</summary>
public sealed class AuditChainBrokenException : Exception
{
    /// <summary>Creates the exception for <paramref name="broken"/>, after <paramref name="verified"/> records verified.</summary>
    public AuditChainBrokenException(AuditBreak broken, long verified)
        : base($"audit log broken after {verified} verified records: {broken}")
    {
        Break = broken;
    }

    /// <summary>Creates the exception.</summary>
    public AuditChainBrokenException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public AuditChainBrokenException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public AuditChainBrokenException(string message, Exception? inner)
        : base(message, inner)
    {
    }

    /// <summary>The first break, when known.</summary>
    public AuditBreak? Break { get; }
}
