using System.Globalization;
using TurboMft.Load.Recording;
using TurboMft.Load.Reporting;
using TurboMft.Load.Workload;

namespace TurboMft.Load.Scenarios;

/// <summary>
/// <c>slow</c>: slow clients trickle one-shot upload bodies below the server's minimum data rate while normal clients
/// transfer; the server must cut the slow ones off (reported as cut-offs, the intended outcome) and the normal clients
/// must see no error.
/// </summary>
public static class SlowScenario
{
    /// <summary>The scenario's name.</summary>
    public const string Name = "slow";

    /// <summary>Runs the scenario; throws <see cref="ArgumentException"/> when the trickle is not below the server's minimum rate.</summary>
    public static async Task<LoadReport> RunAsync(LoadSession session, SlowSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(settings);
        var (rate, grace) = session.MinimumBodyRate;
        if (settings.BytesPerSecond >= rate)
        {
            throw new ArgumentException(Invariant($"--slow-rate {settings.BytesPerSecond} B/s is not below the server's minimum request body rate ({rate} B/s): the server would never cut the slow clients off."));
        }

        var date = DateTimeOffset.UtcNow;
        using var slow = new SlowClients(session, settings, TimeSpan.FromSeconds(grace + 5));
        var run = await session.MeasureAsync($"{settings.Clients} clients + {settings.SlowClients} slow", settings.Clients, slow, cancellationToken).ConfigureAwait(false);
        var notCutOff = run.Errors.Where(e => e.Key.StartsWith("not cut off", StringComparison.Ordinal)).Sum(e => e.Value);
        var normalErrors = run.Errors.Where(e => !e.Key.EndsWith($"({Operations.SlowPut})", StringComparison.Ordinal)).Sum(e => e.Value);
        var toCutOff = run.Latencies.FirstOrDefault(l => l.Operation == Operations.SlowPut);
        var targets = new[]
        {
            new TargetCheck("slow clients cut off", "every trickle cut off by the server", Invariant($"{run.CutOffs} cut-offs, {notCutOff} not cut off, {run.Errors.Where(e => e.Key.EndsWith($"({Operations.SlowPut})", StringComparison.Ordinal)).Sum(e => e.Value) - notCutOff} other slow-client failures"), run.CutOffs > 0 && notCutOff == 0),
            new TargetCheck("normal clients' errors", "zero", Invariant($"{normalErrors}"), normalErrors == 0),
            new TargetCheck(
                "time to cut-off",
                Invariant($"about the server's grace ({grace:0} s)"),
                toCutOff is null ? "no cut-off" : Invariant($"p50 {toCutOff.P50Ms / 1000:0.0} s, max {toCutOff.MaxMs / 1000:0.0} s"),
                toCutOff is null ? null : toCutOff.MaxMs / 1000 <= grace + 5),
        };
        var notes = new List<string>
        {
            Invariant($"Server minimum request body rate {rate} B/s after a {grace} s grace (from /v1/info); slow clients send {settings.BytesPerSecond} B/s of a {settings.BodySize}-byte one-shot PUT, each on its own connection, and start again after each cut-off."),
        };
        if (session.Settings.Duration.TotalSeconds < grace + 2)
        {
            notes.Add(Invariant($"The window ({session.Settings.Duration.TotalSeconds:0} s) is shorter than the grace plus 2 s: cut-offs can only come during the drain."));
        }

        return new LoadReport
        {
            Scenario = Name,
            Date = date,
            Machine = MachineInfo.Current(),
            Runs = [run],
            Targets = targets,
            OutcomesAsIntended = targets[0].Met == true && targets[1].Met == true,
            Notes = notes,
        };
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>The slow clients, trickling until the clients' window closes.</summary>
    private sealed class SlowClients(LoadSession session, SlowSettings settings, TimeSpan cutOffExpectedWithin) : IBackgroundLoad, IDisposable
    {
        private readonly List<SlowClient> _clients = [];

        public async Task RunAsync(LoadRecorder recorder, CancellationToken cancellationToken)
        {
            for (var i = 0; i < settings.SlowClients; i++)
            {
                _clients.Add(new SlowClient(session.Target, session.Payload, recorder, session.Settings.Profile.HttpVersion));
            }

            await Task.WhenAll(_clients.Select((client, i) => Task.Run(
                async () =>
                {
                    var path = string.Create(CultureInfo.InvariantCulture, $"{session.Folder}/slow/s{i:D3}");
                    while (recorder.WindowOpen && !cancellationToken.IsCancellationRequested)
                    {
                        await client.TrickleAsync(path, settings.BodySize, settings.BytesPerSecond, cutOffExpectedWithin, cancellationToken).ConfigureAwait(false);

                        // A pause between trickles keeps a refused connection from turning into a spin.
                        await Task.Delay(100, CancellationToken.None).ConfigureAwait(false);
                    }
                },
                CancellationToken.None))).ConfigureAwait(false);
        }

        public RunReport Describe(RunReport run) => run;

        public void Dispose()
        {
            foreach (var client in _clients)
            {
                client.Dispose();
            }
        }
    }
}
