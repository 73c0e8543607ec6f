namespace TurboMft.Host.Tests.Bench;

/// <summary>The report tool (bench/TurboMft.Compare) on hand-written raw results: medians, ratios, failures and bad input.</summary>
public sealed class CompareReportTests : IDisposable
{
    private const string Header = "scenario\tdataset\tkey\tlabel\trole\tround\tphase\tbytes\tfiles\twall_s\tclient_cpu_s\tserver_cpu_s\tclient_rss_kib\tserver_rss_kib\twire_bytes\tok\textra\tnote\tload1";

    private readonly string _dir = Directory.CreateTempSubdirectory("tmf-compare-report-").FullName;

    [Fact]
    public async Task Medians_ratios_and_targets_come_from_the_successful_runs()
    {
        // push: 1e9 bytes in 2, 4, 5 s → median 250 MB/s; scp: 1, 2, 4 s → median 500 MB/s; ratio 0.50.
        await WriteAsync(
            Row("S1", "random", "push", "turbomft push", "ref", 1, 2, ok: true),
            Row("S1", "random", "push", "turbomft push", "ref", 2, 4, ok: true),
            Row("S1", "random", "push", "turbomft push", "ref", 3, 5, ok: true),
            Row("S1", "random", "scp", "scp", "peer", 1, 1, ok: true),
            Row("S1", "random", "scp", "scp", "peer", 2, 2, ok: true),
            Row("S1", "random", "scp", "scp", "peer", 3, 4, ok: true));

        var markdown = await RunReportAsync();

        Assert.Contains("| **turbomft push** | 250 | 200–500 |", markdown);
        Assert.Contains("| scp | 500 | 250–1000 |", markdown);
        Assert.Contains("| S1 | push ÷ scp | ≥ 1.50 | 0.50 | 0.50 | **no** |", markdown);
        Assert.Contains("None: every transfer exited 0", markdown);
        var png = await File.ReadAllBytesAsync(Path.Combine(_dir, "chart.png"));
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
    }

    [Fact]
    public async Task A_fast_wrong_answer_is_listed_as_a_failure_and_left_out_of_the_median()
    {
        await WriteAsync(
            Row("S1", "random", "push", "turbomft push", "ref", 1, 4, ok: true),
            Row("S1", "random", "nginx", "curl PUT → nginx", "peer", 1, 0.1, ok: false, note: "result differs from the source (cmp: differ: byte 1)"),
            Row("S1", "random", "nginx", "curl PUT → nginx", "peer", 2, 2, ok: true));

        var markdown = await RunReportAsync();

        Assert.Contains("| S1 random | curl PUT → nginx | 1 |  | result differs from the source (cmp: differ: byte 1) |", markdown);
        Assert.Contains("| curl PUT → nginx | 500 | 500–500 |", markdown);
        Assert.Contains("1/2 (**1 FAILED**)", markdown);
    }

    [Fact]
    public async Task Interrupted_runs_count_the_bytes_sent_twice_in_chunks_per_connection()
    {
        // 16 MiB file, 4 MiB chunks, 4 connections: clean 17e6 on the link, killed run 10e6, rerun 9e6 → 2e6 sent twice.
        const long size = 16L << 20;
        await WriteAsync(
            Row("S4", "random", "push", "turbomft push (resumes)", "ref", 1, 2, ok: true, phase: "clean", bytes: size, wire: 17_000_000),
            Row("S4", "random", "push", "turbomft push (resumes)", "ref", 1, 1, ok: true, phase: "first", bytes: size, wire: 10_000_000, extra: "interrupted=1;at_kill=8388608;held=8388608"),
            Row("S4", "random", "push", "turbomft push (resumes)", "ref", 1, 1, ok: true, phase: "rerun", bytes: size, wire: 9_000_000, extra: "sent=8388608;skipped=2;chunks=4;connections=4;chunk_size=4194304"));

        var markdown = await RunReportAsync();

        Assert.Contains("| **turbomft push (resumes)** | 2.00 | 50% | 1.00 | 2.00 |", markdown);
        Assert.Contains("| 2.00 | 1.00 | 1 |", markdown); // sent twice 2.00 MB, ratio 1.00, 1 round
        Assert.Contains("the bytes sent twice come to 0.12 chunks of 4 MiB per connection", markdown);
    }

    [Fact]
    public async Task A_malformed_row_is_refused_with_its_line()
    {
        await File.WriteAllTextAsync(Path.Combine(_dir, "results.tsv"), Header + "\nS1\trandom\tpush\n");
        await File.WriteAllTextAsync(Path.Combine(_dir, "meta.tsv"), "cores\t2\n");

        var (exitCode, _, error) = await CompareRepository.RunAsync(CompareRepository.Report, [_dir], null, TimeSpan.FromMinutes(1));

        Assert.Equal(2, exitCode);
        Assert.Contains("results.tsv:2: 3 cells, the header has 19", error);
        Assert.False(File.Exists(Path.Combine(_dir, "results.md")));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Row(
        string scenario, string dataset, string key, string label, string role, int round, double wall, bool ok,
        string phase = "", long bytes = 1_000_000_000, long? wire = null, string extra = "", string note = "") =>
        string.Join('\t', scenario, dataset, key, label, role, round, phase, bytes, 1, wall, 1.5, 2.5, 10240, 20480, wire?.ToString() ?? string.Empty, ok ? 1 : 0, extra, note, 0.5);

    private async Task WriteAsync(params string[] rows)
    {
        await File.WriteAllTextAsync(Path.Combine(_dir, "results.tsv"), Header + "\n" + string.Join("\n", rows) + "\n");
        await File.WriteAllTextAsync(Path.Combine(_dir, "meta.tsv"), "started\t2026-11-26T10:00:00Z\ncores\t2\nload_start\t0.5 0.5 0.5\nload_end\t0.6 0.5 0.5\nlink_rate\t1gbit\n");
    }

    private async Task<string> RunReportAsync()
    {
        Assert.True(File.Exists(CompareRepository.Report), $"build the report tool first: {CompareRepository.Report} is missing");
        var (exitCode, output, error) = await CompareRepository.RunAsync(CompareRepository.Report, [_dir], null, TimeSpan.FromMinutes(1));
        Assert.True(exitCode == 0, $"exit {exitCode}\n{output}\n{error}");
        return await File.ReadAllTextAsync(Path.Combine(_dir, "results.md"));
    }
}
