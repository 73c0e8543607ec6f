using Spectre.Console;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Pipeline;

namespace TurboMft.Host.Cli;

/// <summary>A progress bar on an interactive terminal (Spectre.Console); silent when redirected or in JSON mode.</summary>
internal static class ProgressDisplay
{
    public static bool IsInteractive => !Console.IsOutputRedirected && !Console.IsErrorRedirected;

    public static async Task<T> RunAsync<T>(string label, long totalBytes, bool enabled, Func<IProgress<PipelineProgress>?, Task<T>> work)
    {
        if (!enabled || !IsInteractive || totalBytes < (64L << 20))
        {
            return await work(null).ConfigureAwait(false);
        }

        T result = default!;
        await AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask($"{label} ({ByteSize.Format(totalBytes)})", maxValue: totalBytes);
                var progress = new Progress(task);
                result = await work(progress).ConfigureAwait(false);
                task.Value = totalBytes;
            }).ConfigureAwait(false);
        return result;
    }

    private sealed class Progress(ProgressTask task) : IProgress<PipelineProgress>
    {
        public void Report(PipelineProgress value) => task.Value = value.BytesDone;
    }
}
