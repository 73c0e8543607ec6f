using System.Runtime.Versioning;
using TurboMft.Host.Audit;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Tests.Server;

namespace TurboMft.Host.Tests.Cli;

[UnsupportedOSPlatform("windows")]
public class AuditCommandTests : IDisposable
{
    /// <summary>The child must use the data directory's key file, whatever this process's environment holds.</summary>
    private static readonly Dictionary<string, string?> KeyFromFile = new() { [AuditKey.EnvironmentVariable] = null, ["TURBOMFT_DATA"] = null };

    private readonly string _dir = Directory.CreateTempSubdirectory("tmf-audit-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Verify_prints_ok_with_the_count_and_exits_1_naming_the_first_break()
    {
        var data = await DataWithRecordsAsync(5);
        var ok = await TurboMftProcess.RunAsync(KeyFromFile, "audit", "verify", "--data", data.Root);
        Assert.True(ok.ExitCode == 0, ok.ToString());
        Assert.Equal("ok: 5 records, last seq 5\n", ok.Output);

        var file = Path.Combine(data.AuditPath, "audit-000001.jsonl");
        var lines = await File.ReadAllLinesAsync(file);
        lines[2] = lines[2].Replace("\"outcome\":\"success\"", "\"outcome\":\"failure\"", StringComparison.Ordinal);
        await File.WriteAllLinesAsync(file, lines);
        var broken = await TurboMftProcess.RunAsync(KeyFromFile, "audit", "verify", "--data", data.Root);
        Assert.Equal(1, broken.ExitCode);
        Assert.Contains("audit log broken after 2 verified records: edited at audit-000001.jsonl line 3 (seq 3)", broken.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_without_a_data_directory_fails_without_creating_one()
    {
        var missing = Path.Combine(_dir, "nothing");
        var run = await TurboMftProcess.RunAsync(KeyFromFile, "audit", "verify", "--data", missing);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("No data directory at", run.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(missing));
    }

    [Fact]
    public async Task Export_jsonl_prints_the_stored_lines_and_syslog_prints_rfc_5424_lines()
    {
        var data = await DataWithRecordsAsync(4);
        var stored = await File.ReadAllTextAsync(Path.Combine(data.AuditPath, "audit-000001.jsonl"));

        var jsonl = await TurboMftProcess.RunAsync(KeyFromFile, "audit", "export", "--data", data.Root, "--format", "jsonl");
        Assert.True(jsonl.ExitCode == 0, jsonl.ToString());
        Assert.Equal(stored, jsonl.Output);

        var syslog = await TurboMftProcess.RunAsync(KeyFromFile, "audit", "export", "--data", data.Root, "--format", "syslog", "--since", "2000-01-01T00:00:00Z");
        Assert.True(syslog.ExitCode == 0, syslog.ToString());
        var lines = syslog.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.All(lines, l => Assert.Matches("^<110>1 \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z \\S+ turbomft - test\\.\\d \\[turbomft@32473 seq=\"\\d\" ", l));

        var future = await TurboMftProcess.RunAsync(KeyFromFile, "audit", "export", "--data", data.Root, "--since", "2999-01-01T00:00:00Z");
        Assert.True(future.ExitCode == 0, future.ToString());
        Assert.Equal(string.Empty, future.Output);

        var target = Path.Combine(_dir, "export.jsonl");
        var toFile = await TurboMftProcess.RunAsync(KeyFromFile, "audit", "export", "--data", data.Root, "--output", target);
        Assert.True(toFile.ExitCode == 0, toFile.ToString());
        Assert.Equal($"exported 4 records to {target}\n", toFile.Output);
        Assert.Equal(stored, await File.ReadAllTextAsync(target));
    }

    [Fact]
    public async Task Export_rejects_a_bad_time_or_format_as_usage_errors()
    {
        var data = await DataWithRecordsAsync(1);
        var badTime = await TurboMftProcess.RunAsync(KeyFromFile, "audit", "export", "--data", data.Root, "--since", "last tuesday");
        Assert.Equal(2, badTime.ExitCode);
        Assert.Contains("is not a time", badTime.Error, StringComparison.Ordinal);
        var badFormat = await TurboMftProcess.RunAsync(KeyFromFile, "audit", "export", "--data", data.Root, "--format", "xml");
        Assert.Equal(2, badFormat.ExitCode);
    }

    [Fact]
    public async Task Keys_rotate_records_keys_rotate_in_the_data_directorys_audit_log()
    {
        var data = DataDirectory.Open(Path.Combine(_dir, "data"));
        var run = await TurboMftProcess.RunAsync(KeyFromFile, "keys", "rotate", "--key-file", data.MasterKeyPath);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("recorded in the audit log", run.Output, StringComparison.Ordinal);

        using var key = data.LoadAuditKey();
        var verification = AuditVerifier.Verify(new AuditFileReader(data.AuditPath), key);
        Assert.True(verification.Ok, verification.Break?.ToString());
        var record = Assert.Single(new AuditFileReader(data.AuditPath).Read());
        Assert.Equal("keys.rotate", record.Action);
        Assert.Equal(AuditOutcome.Success, record.Outcome);
        Assert.Equal(AuditActor.System, record.Actor);
        Assert.Matches("^master key [0-9a-f]{16} to [0-9a-f]{16}$", record.Detail);
    }

    [Fact]
    public async Task While_a_server_runs_keys_rotate_is_refused_untouched_and_audit_verify_still_reads()
    {
        var data = DataDirectory.Open(Path.Combine(_dir, "data"));
        var keyBefore = await File.ReadAllBytesAsync(data.MasterKeyPath);
        await using (await ServerFixture.StartAsync(data.Root, logging: _ => { }))
        {
            var rotate = await TurboMftProcess.RunAsync(KeyFromFile, "keys", "rotate", "--key-file", data.MasterKeyPath);
            Assert.Equal(1, rotate.ExitCode);
            Assert.Contains("in use by a running server", rotate.Error, StringComparison.Ordinal);
            Assert.Equal(keyBefore, await File.ReadAllBytesAsync(data.MasterKeyPath));

            var verify = await TurboMftProcess.RunAsync(KeyFromFile, "audit", "verify", "--data", data.Root);
            Assert.True(verify.ExitCode == 0, verify.ToString());
            Assert.Equal("ok: 1 records, last seq 1\n", verify.Output);
        }
    }

    private async Task<DataDirectory> DataWithRecordsAsync(int count)
    {
        var data = DataDirectory.Open(Path.Combine(_dir, "data"));
        await using var log = AuditLog.Open(data);
        for (var i = 1; i <= count; i++)
        {
            await log.AppendDurableAsync(new AuditEvent { Action = "test." + i, Actor = new AuditActor("alice", null, null, "192.0.2.7"), Outcome = AuditOutcome.Success, Path = "/a/" + i });
        }

        return data;
    }
}
