using System.Diagnostics;
using TurboMft.Load.Recording;
using TurboMft.Load.Workload;

namespace TurboMft.Load.Scenarios;

/// <summary>
/// N transferring clients, each a loop of uploads and downloads drawn from the seeded mix, one operation at a time (with
/// its chunks in flight) until the measurement window closes; operations still running then get the drain time to
/// finish, after which they are cancelled and counted as such (not as errors).
/// </summary>
public static class ClientFleet
{
    /// <summary>Runs <paramref name="clients"/> clients of <paramref name="session"/>; the window must have been started on <paramref name="recorder"/>.</summary>
    public static async Task RunAsync(LoadSession session, int clients, LoadRecorder recorder, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(recorder);
        using var drained = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        drained.CancelAfter(TimeSpan.FromSeconds(recorder.WindowSeconds) + session.Settings.Drain);
        var loops = Enumerable.Range(0, clients).Select(i => Task.Run(() => RunClientAsync(session, i, recorder, drained.Token), CancellationToken.None));
        await Task.WhenAll(loops).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
    }

    private static async Task RunClientAsync(LoadSession session, int index, LoadRecorder recorder, CancellationToken drained)
    {
        var settings = session.Settings;

        // Each client's own sequence of choices, the same for the same seed whatever the scheduling.
        var random = new Random(unchecked((int)(settings.Seed * 1_000_003) + index));
        using var client = new TransferClient(session.Target, session.Payload, recorder, settings.Profile);
        while (recorder.WindowOpen && !drained.IsCancellationRequested)
        {
            var download = random.NextDouble() < settings.DownloadShare;
            var size = settings.Sizes.Pick(random);
            var started = Stopwatch.GetTimestamp();
            try
            {
                if (download)
                {
                    await client.DownloadAsync(session.SeedPath(size), size.Bytes, drained).ConfigureAwait(false);
                    recorder.Latency($"{Operations.Download} {size.Label}", started);
                }
                else
                {
                    await client.UploadAsync(session.UploadPath(index), size.Bytes, drained).ConfigureAwait(false);
                    recorder.Latency($"{Operations.Upload} {size.Label}", started);
                }
            }
            catch (OperationCanceledException) when (drained.IsCancellationRequested)
            {
                recorder.Outcome("cancelled at the end of the drain");
                return;
            }
            catch (OperationFailedException e)
            {
                recorder.Error(e.Operation, FailureKinds.Classify(e));

                // A failing server must not turn the loop into a spin.
                await Task.Delay(100, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }
}
