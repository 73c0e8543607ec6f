using System.Globalization;

namespace TurboMft.Compare.Results;

/// <summary>One row of results.tsv: one transfer by one tool in one round, as bench/compare/run.sh measured it.</summary>
/// <param name="Scenario">S1…S5.</param>
/// <param name="Dataset">random, historian, files-64k, files-1m.</param>
/// <param name="Key">The tool's stable key within the scenario (push, scp, rsync-z…).</param>
/// <param name="Label">What the tables show.</param>
/// <param name="Role">ref (turbomft's default, the ratios' reference), turbomft, peer or ceiling.</param>
/// <param name="Round">1-based round.</param>
/// <param name="Phase">Empty, or for S4: clean, first (killed at half), rerun.</param>
/// <param name="Bytes">Bytes of the source (file or tree).</param>
/// <param name="Files">Files in the source.</param>
/// <param name="WallSeconds">Wall time of the whole command.</param>
/// <param name="ClientCpuSeconds">User + system CPU of the client's processes.</param>
/// <param name="ServerCpuSeconds">User + system CPU of the server's processes during the transfer.</param>
/// <param name="ClientRssKib">Peak resident memory of the client's processes.</param>
/// <param name="ServerRssKib">Peak resident memory of the server's processes.</param>
/// <param name="WireBytes">Bytes the client's end of the link sent (S2, S4), null on loopback.</param>
/// <param name="Ok">The command exited 0 and its result equals the source.</param>
/// <param name="Extra">Scenario-specific values (k=v;k=v).</param>
/// <param name="Note">Why it failed, or a remark.</param>
/// <param name="Load1">The 1-minute load average after the transfer.</param>
internal sealed record Measurement(
    string Scenario,
    string Dataset,
    string Key,
    string Label,
    string Role,
    int Round,
    string Phase,
    long Bytes,
    int Files,
    double WallSeconds,
    double ClientCpuSeconds,
    double ServerCpuSeconds,
    long? ClientRssKib,
    long? ServerRssKib,
    long? WireBytes,
    bool Ok,
    IReadOnlyDictionary<string, string> Extra,
    string Note,
    double? Load1)
{
    /// <summary>True for a many-files dataset, where files per second is the measure.</summary>
    public bool CountsFiles => Files > 1;

    /// <summary>Files per second for a tree, else 10⁶ bytes per second.</summary>
    public double Throughput => WallSeconds <= 0 ? 0 : CountsFiles ? Files / WallSeconds : Bytes / WallSeconds / 1e6;

    /// <summary>A numeric value from <see cref="Extra"/>, or null.</summary>
    public long? ExtraNumber(string key) =>
        Extra.TryGetValue(key, out var text) && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;
}
