using TurboMft.Compare.Results;

namespace TurboMft.Compare.Summaries;

/// <summary>
/// S4 for one tool: per round a clean transfer, a run killed once the server held about half, and the same command
/// again; medians over the rounds where all three phases ran. "Sent twice" is what the interruption cost on the link:
/// bytes of the killed run plus the rerun, minus the clean run's (framing and headers cancel out).
/// </summary>
internal sealed class InterruptionSummary
{
    private InterruptionSummary(string key, string label, string role, IReadOnlyList<Round> rounds, IReadOnlyList<Measurement> failed, IReadOnlyList<Measurement> notInterrupted)
    {
        (Key, Label, Role) = (key, label, role);
        Failed = failed;
        NotInterrupted = notInterrupted;
        Rounds = rounds;
        if (rounds.Count == 0)
        {
            return;
        }

        Size = rounds[0].Clean.Bytes;
        CleanSeconds = Statistics.Median(rounds.Select(r => r.Clean.WallSeconds));
        FirstSeconds = Statistics.Median(rounds.Select(r => r.First.WallSeconds));
        RerunSeconds = Statistics.Median(rounds.Select(r => r.Rerun.WallSeconds));
        TotalSeconds = Statistics.Median(rounds.Select(r => r.First.WallSeconds + r.Rerun.WallSeconds));
        HeldFraction = Statistics.Median(rounds.Select(r => (double)(r.First.ExtraNumber("held") ?? 0) / Size));
        var wired = rounds.Where(r => r.Clean.WireBytes is not null && r.First.WireBytes is not null && r.Rerun.WireBytes is not null).ToList();
        if (wired.Count > 0)
        {
            RerunWireBytes = Statistics.Median(wired.Select(r => (double)r.Rerun.WireBytes!.Value));
            SentTwiceBytes = Statistics.Median(wired.Select(r => (double)(r.First.WireBytes!.Value + r.Rerun.WireBytes!.Value - r.Clean.WireBytes!.Value)));
        }

        var chunkSize = rounds[0].Rerun.ExtraNumber("chunk_size");
        var connections = rounds[0].Rerun.ExtraNumber("connections");
        if (chunkSize is > 0 && connections is > 0 && SentTwiceBytes is not null)
        {
            ChunkSize = chunkSize;
            Connections = connections;
            ChunksSentTwicePerConnection = Math.Max(0, SentTwiceBytes.Value) / chunkSize.Value / connections.Value;
        }

        if (rounds[0].Rerun.ExtraNumber("chunks") is { } chunks)
        {
            RerunChunksSkipped = Statistics.Median(rounds.Select(r => (double)(r.Rerun.ExtraNumber("skipped") ?? 0)));
            Chunks = chunks;
            RerunPayloadBytes = Statistics.Median(rounds.Select(r => (double)(r.Rerun.ExtraNumber("sent") ?? 0)));
        }
    }

    public string Key { get; }

    public string Label { get; }

    public string Role { get; }

    public IReadOnlyList<Round> Rounds { get; }

    /// <summary>Clean runs or reruns that failed or did not match the source.</summary>
    public IReadOnlyList<Measurement> Failed { get; }

    /// <summary>First runs that finished before half was held (the kill came too late).</summary>
    public IReadOnlyList<Measurement> NotInterrupted { get; }

    public long Size { get; }

    public double? CleanSeconds { get; }

    public double? FirstSeconds { get; }

    public double? RerunSeconds { get; }

    /// <summary>Killed run plus rerun.</summary>
    public double? TotalSeconds { get; }

    /// <summary>Share of the file the server held after the kill.</summary>
    public double? HeldFraction { get; }

    public double? RerunWireBytes { get; }

    public double? SentTwiceBytes { get; }

    public long? ChunkSize { get; }

    public long? Connections { get; }

    /// <summary>turbomft only: bytes sent twice in chunks, per connection.</summary>
    public double? ChunksSentTwicePerConnection { get; }

    /// <summary>turbomft only: chunks the rerun did not send because the server held them.</summary>
    public double? RerunChunksSkipped { get; }

    public long? Chunks { get; }

    /// <summary>turbomft only: payload bytes the rerun sent (its --json bytesSent).</summary>
    public double? RerunPayloadBytes { get; }

    /// <summary>Effective MB/s over the killed run plus the rerun.</summary>
    public double? Throughput => TotalSeconds is > 0 ? Size / TotalSeconds / 1e6 : null;

    public bool IsTurboMft => Role is Roles.Reference or Roles.TurboMft;

    /// <summary>One summary per S4 tool, in the order they first appear.</summary>
    public static IReadOnlyList<InterruptionSummary> Of(IEnumerable<Measurement> rows) =>
        [.. rows.Where(r => r.Scenario == "S4" && r.Phase.Length > 0)
            .GroupBy(r => r.Key)
            .Select(g =>
            {
                var rounds = new List<Round>();
                foreach (var byRound in g.GroupBy(r => r.Round))
                {
                    var clean = byRound.FirstOrDefault(r => r.Phase == "clean");
                    var first = byRound.FirstOrDefault(r => r.Phase == "first");
                    var rerun = byRound.FirstOrDefault(r => r.Phase == "rerun");
                    if (clean is { Ok: true } && first is not null && rerun is { Ok: true })
                    {
                        rounds.Add(new Round(clean, first, rerun));
                    }
                }

                var any = g.First();
                return new InterruptionSummary(
                    any.Key,
                    any.Label,
                    any.Role,
                    rounds,
                    [.. g.Where(r => !r.Ok)],
                    [.. g.Where(r => r.Phase == "first" && r.ExtraNumber("interrupted") == 0)]);
            })];

    /// <summary>The three phases of one round.</summary>
    internal sealed record Round(Measurement Clean, Measurement First, Measurement Rerun);
}
