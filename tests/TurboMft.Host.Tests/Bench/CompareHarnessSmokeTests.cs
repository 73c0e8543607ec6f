namespace TurboMft.Host.Tests.Bench;

/// <summary>The compare harness's smoke run, alone: nothing else competes for the machine while it runs.</summary>
[CollectionDefinition(nameof(CompareHarnessCollection), DisableParallelization = true)]
public sealed class CompareHarnessCollection;

/// <summary>
/// bench/compare/run.sh --smoke end to end: tiny sizes, one round, every scenario (S2 and S4 only where network
/// namespaces can be made). It must finish cleanly with a report holding turbomft and every installed peer, and no
/// transfer may fail or differ from its source. Peers missing on the machine are skipped by the harness, not failed.
/// Runs alone (<see cref="CompareHarnessCollection"/>): the harness starts servers and peers of its own and times them;
/// beside the other test classes on two cores it once needed more than 6 minutes for what takes 90 s alone.
/// </summary>
[Collection(nameof(CompareHarnessCollection))]
public sealed class CompareHarnessSmokeTests : IDisposable
{
    private readonly string _out = Directory.CreateTempSubdirectory("tmf-compare-smoke-").FullName;

    /// <summary>The rows of S1 (uploads), S5 and S6 (downloads) that each installed peer must have, by results.md label.</summary>
    private static readonly (string Peer, bool Installed, string[] Labels)[] Peers =
    [
        ("openssh", OnPath("sshd") && OnPath("scp") && OnPath("sftp"), ["| scp |", "| sftp put |", "| scp (download) |", "| sftp get |", "| scp -r (download) |", "| sftp get -r (batch) |"]),
        ("rsync", OnPath("sshd") && OnPath("rsync"), ["| rsync over ssh |", "| rsync over ssh (pull) |", "| rsync -a over ssh (pull) |"]),
        ("rclone", OnPath("sshd") && OnPath("rclone"), ["| rclone copyto (sftp) |", "| rclone copyto (sftp, 4 streams) |"]),
        ("nginx", OnPath("nginx"), ["| curl PUT → nginx |", "| curl GET ← nginx |"]),
    ];

    [Fact]
    public async Task Smoke_run_reports_turbomft_and_every_installed_peer_with_no_mismatch()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the harness is a Linux bash script");
        Assert.True(File.Exists(CompareRepository.TurboMft), $"build turbomft first: {CompareRepository.TurboMft} is missing");
        Assert.True(File.Exists(CompareRepository.Report), $"build the report tool first: {CompareRepository.Report} is missing");

        var (exitCode, output, error) = await CompareRepository.RunAsync(
            "bash",
            [CompareRepository.Harness, "--smoke", "--no-install", "--out", _out],
            new Dictionary<string, string> { ["TMF"] = CompareRepository.TurboMft, ["COMPARE_REPORT"] = CompareRepository.Report },
            TimeSpan.FromMinutes(12)); // a guard against a hung run, not a speed bound: the smoke run times nothing it asserts on
        var log = $"exit {exitCode}\nstdout:\n{output}\nstderr:\n{error}";

        Assert.True(exitCode == 0, log);
        var report = Path.Combine(_out, "results.md");
        Assert.True(File.Exists(report), log);
        Assert.True(new FileInfo(Path.Combine(_out, "chart.png")).Length > 0, log);
        var markdown = await File.ReadAllTextAsync(report);
        Assert.Contains("| **turbomft push** |", markdown);
        Assert.Contains("| **turbomft pull** |", markdown);
        Assert.Contains("| **turbomft push DIR** |", markdown);
        Assert.Contains("| **turbomft pull DIR** |", markdown);
        foreach (var (peer, installed, labels) in Peers.Where(p => p.Installed))
        {
            foreach (var label in labels)
            {
                Assert.True(markdown.Contains(label, StringComparison.Ordinal), $"{peer} is installed but results.md has no row {label}\n{markdown}");
            }
        }

        // No transfer failed and none differs from its source (the raw rows, not only the rendering).
        var rows = (await File.ReadAllLinesAsync(Path.Combine(_out, "results.tsv"))).Skip(1).Where(l => l.Length > 0).Select(l => l.Split('\t')).ToList();
        Assert.NotEmpty(rows);
        Assert.All(rows, r => Assert.True(r[15] == "1", $"{r[0]} {r[3]} {r[6]}: {r[17]}"));
        Assert.Contains("None: every transfer exited 0 and its result equals its source.", markdown);

        // S2 and S4 ran, or say why not (network namespaces need root and iproute2).
        var meta = await File.ReadAllTextAsync(Path.Combine(_out, "meta.tsv"));
        foreach (var scenario in new[] { "S2", "S4" })
        {
            Assert.True(rows.Any(r => r[0] == scenario) || meta.Contains($"skipped_{scenario}\t", StringComparison.Ordinal), $"{scenario}: no rows and no reason\n{log}");
        }
    }

    public void Dispose() => Directory.Delete(_out, recursive: true);

    private static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Append("/usr/sbin").Append("/sbin")
            .Any(dir => dir.Length > 0 && File.Exists(Path.Combine(dir, program)));
}
