using System.Diagnostics;

namespace TurboMft.Host.Cli.Bench;

/// <summary>Single-thread throughput of one operation on a fixed number of bytes: best of several short rounds.</summary>
internal static class Throughput
{
    /// <summary>Runs <paramref name="operation"/> repeatedly and returns the best rate seen, in bytes per second.</summary>
    public static double Measure(long bytesPerOperation, Action operation, int rounds = 5, double secondsPerRound = 0.12)
    {
        // Warm-up lets tiered JIT reach optimised code before timing.
        for (var i = 0; i < 4; i++)
        {
            operation();
        }

        var best = 0.0;
        for (var round = 0; round < rounds; round++)
        {
            var started = Stopwatch.GetTimestamp();
            long operations = 0;
            TimeSpan elapsed;
            do
            {
                operation();
                operations++;
                elapsed = Stopwatch.GetElapsedTime(started);
            }
            while (elapsed.TotalSeconds < secondsPerRound);
            best = Math.Max(best, bytesPerOperation * operations / elapsed.TotalSeconds);
        }

        return best;
    }
}
