using System.CommandLine;

namespace TurboMft.Host.Cli;

/// <summary>
/// <c>turbomft notify test --server URL</c>: has a running server raise a <c>test</c> incident and prints what became of it
/// on each channel (docs/content-security.md, "Incident notifications"). Exit 0 only when a webhook or syslog channel is
/// configured and every channel delivered it.
/// </summary>
internal static class NotifyCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var server = new Option<string>("--server") { Description = "The server, https://host:port; needs --ca or --pin and an admin token (--token-file or TURBOMFT_TOKEN).", HelpName = "URL", Required = true };
        var access = new ServerAccessOptions();
        var json = CliOptions.Json();
        var test = new Command("test", "Raise a 'test' incident on the server and report, per channel (log, webhook, syslog), whether it was delivered.") { server, json };
        access.AddTo(test);
        test.SetAction((parse, cancellationToken) => CliErrors.GuardAsync(error, async () =>
        {
            using var client = access.OpenAdminClient(parse, parse.GetRequiredValue(server));
            var result = await client.TestNotificationsAsync(cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                await output.WriteLineAsync(CliJson.Serialize(result)).ConfigureAwait(false);
            }
            else
            {
                await output.WriteLineAsync($"test incident {result.IncidentId ?? "-"} (correlation {result.CorrelationId})").ConfigureAwait(false);
                var width = result.Channels.Select(c => c.Channel.Length).DefaultIfEmpty(0).Max();
                foreach (var channel in result.Channels)
                {
                    await output.WriteLineAsync($"{channel.Channel.PadRight(width)}  {channel.Status,-9}  {channel.Detail}").ConfigureAwait(false);
                }
            }

            if (!result.Channels.Any(c => c.Channel != "log"))
            {
                await error.WriteLineAsync("turbomft: error: no notification channel is configured (Notifications.WebhookUrl, Notifications.SyslogTarget): the test incident was only written to the server log").ConfigureAwait(false);
                return ExitCodes.Failed;
            }

            var undelivered = result.Channels.Where(c => c.Status != "delivered").Select(c => $"{c.Channel} {c.Status}").ToList();
            if (undelivered.Count > 0)
            {
                await error.WriteLineAsync($"turbomft: error: not delivered everywhere: {string.Join(", ", undelivered)}").ConfigureAwait(false);
                return ExitCodes.Failed;
            }

            return ExitCodes.Ok;
        }));
        return new Command("notify", "Incident notifications (signed webhook, syslog).") { test };
    }
}
