namespace TurboMft.Compare.Summaries;

/// <summary>One target turbomft is measured against (issue 5): a ratio, the bound it should reach, and what this run gave.</summary>
/// <param name="Scenario">Where it is measured.</param>
/// <param name="What">What the ratio is.</param>
/// <param name="Bound">The target's bound.</param>
/// <param name="AtMost">True when the value should be at most <paramref name="Bound"/> (else at least).</param>
/// <param name="Value">The ratio of medians (or the median), null when the run did not measure it.</param>
/// <param name="PerRound">The median over rounds of the ratio within one round, where that applies.</param>
internal sealed record Target(string Scenario, string What, double Bound, bool AtMost, double? Value, double? PerRound)
{
    /// <summary>Null when not measured.</summary>
    public bool? Met => Value is null ? null : AtMost ? Value <= Bound : Value >= Bound;

    /// <summary>Every target this run can say something about (scenarios that ran).</summary>
    public static IReadOnlyList<Target> Of(Comparison run)
    {
        var targets = new List<Target>();
        void Throughput(string scenario, string dataset, string what, string a, string b, double bound)
        {
            var x = run.Tool(scenario, dataset, a);
            var y = run.Tool(scenario, dataset, b);
            if (x is not null || y is not null)
            {
                targets.Add(new Target(scenario, what, bound, false, Comparison.Ratio(x, y), Comparison.PairedRatio(x, y)));
            }
        }

        Throughput("S1", "random", "push ÷ scp", "push", "scp", 1.5);
        Throughput("S1", "random", "push ÷ curl PUT → nginx", "push", "nginx", 1.5);
        Throughput("S1", "random", "push --verify sha256 ÷ scp", "push-sha256", "scp", 1.2);
        Throughput("S1", "random", "transport efficiency: push ÷ TLS sink (4 connections)", "push", "sink-c4", 0.7);
        Throughput("S5", "random", "pull ÷ scp download", "pull", "scp", 1.5);

        if (run.Tool("S2", "historian", "push") is { } push && run.LinkBytesPerSecond is { } link)
        {
            var perRound = push.Succeeded.Select(r => r.Bytes / r.WallSeconds / link).ToList();
            targets.Add(new Target("S2", "push effective throughput ÷ link rate", 2.5, false,
                push.Throughput is { } mbps ? mbps * 1e6 / link : null, perRound.Count > 0 ? Statistics.Median(perRound) : null));
        }

        Throughput("S2", "historian", "push ÷ rsync -z", "push", "rsync-z", 1.3);
        Throughput("S3", "files-64k", "push ÷ rsync, files/s (64 KiB files)", "push", "rsync", 2);
        Throughput("S3", "files-1m", "push ÷ rsync, files/s (1 MiB files)", "push", "rsync", 2);

        var resumed = run.Interruptions.FirstOrDefault(i => i.Role == Roles.Reference);
        if (resumed is not null)
        {
            targets.Add(new Target("S4", "chunks sent twice per connection (killed run + rerun − clean, on the link)", 2, true,
                resumed.ChunksSentTwicePerConnection, null));
            var rclone = run.Interruptions.FirstOrDefault(i => i.Key == "rclone");
            if (rclone is not null)
            {
                targets.Add(new Target("S4", "push ÷ rclone, effective speed over killed run + rerun (beats its whole-file restart: > 1)", 1, false,
                    resumed.Throughput is { } a && rclone.Throughput is > 0 ? a / rclone.Throughput.Value : null, null));
            }
        }

        return targets;
    }
}
