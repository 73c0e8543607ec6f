using System.Text.Json;
using TurboMft.Engine.Client;
using TurboMft.Host.Audit;
using TurboMft.Host.Cli;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Tests.Cli;

namespace TurboMft.Host.Tests.Release;

/// <summary>
/// Release states as the client and the CLI see them: push fails loudly on quarantine and notes held files, pull and
/// download refuse held files clearly, and <c>turbomft quarantine|approvals</c> against a server and offline.
/// </summary>
public sealed class ReleaseClientTests : IAsyncLifetime
{
    private readonly string _work = Directory.CreateTempSubdirectory("tmf-release-cli-").FullName;
    private ReleaseTestServer _s = null!;

    public async ValueTask InitializeAsync() => _s = await ReleaseTestServer.StartAsync();

    public async ValueTask DisposeAsync()
    {
        await _s.DisposeAsync();
        Directory.Delete(_work, recursive: true);
    }

    [Fact]
    public async Task Push_of_an_infected_file_exits_1_naming_the_file_and_the_finding()
    {
        var file = await WriteAsync("eicar.com", ReleaseTestServer.Infected());

        var run = await RunAsync(null, ["push", file, Target("/in/eicar.com"), .. Trust(AdminTokenFile), "--json"]);

        Assert.Equal(1, run.ExitCode);
        Assert.Equal(string.Empty, run.Output);
        Assert.Contains("quarantined '/in/eicar.com' (test-av TestAV 1.0/42 found Eicar-Test-Signature)", run.Error, StringComparison.Ordinal);
        Assert.Single(run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task A_folder_pushed_in_batches_with_one_infected_file_exits_1_naming_it_and_releases_the_rest()
    {
        var folder = Path.Combine(_work, "batch-folder");
        Directory.CreateDirectory(folder);
        for (var i = 0; i < 40; i++)
        {
            await File.WriteAllBytesAsync(Path.Combine(folder, $"clean{i:00}.bin"), new byte[1000 + i], TestContext.Current.CancellationToken);
        }

        await File.WriteAllBytesAsync(Path.Combine(folder, "eicar.com"), ReleaseTestServer.Infected(), TestContext.Current.CancellationToken);

        var run = await RunAsync(null, ["push", folder, Target("/batches/"), "--batch-files", "16", .. Trust(AdminTokenFile)]);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("quarantined '/batches/batch-folder/eicar.com' (test-av TestAV 1.0/42 found Eicar-Test-Signature)", run.Error, StringComparison.Ordinal);
        var list = await RunAsync(null, ["ls", Target("/batches/batch-folder/"), .. Trust(AdminTokenFile), "--json"]);
        Assert.Equal(0, list.ExitCode);
        Assert.Equal(40, System.Text.RegularExpressions.Regex.Count(list.Output, "\"released\""));
    }

    [Fact]
    public async Task A_negative_batch_size_is_refused_before_anything_is_sent()
    {
        var file = await WriteAsync("one.bin", [1, 2, 3]);
        var run = await RunAsync(null, ["push", file, Target("/in/one.bin"), "--batch-files", "-1", .. Trust(AdminTokenFile)]);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("--batch-files must be from 0 to 100000", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_multi_chunk_upload_is_scanned_as_its_exact_plaintext_and_a_signature_across_a_chunk_boundary_is_found()
    {
        using var client = new TurboMftClient(new TurboMftClientOptions
        {
            BaseAddress = _s.Fixture.Address,
            Token = _s.Fixture.Token,
            PinSha256 = _s.Fixture.Server.Fingerprint,
            ChunkSize = 1 << 20,
        });
        var content = new byte[(3 << 20) + 1234];
        new Random(5).NextBytes(content.AsSpan(0, 1 << 20));
        content.AsSpan(1 << 20).Fill((byte)'a');                  // compressible: stored as LZ4 records
        var clean = await WriteAsync("clean.bin", content);
        TestScannerChain.Eicar.CopyTo(content, (2 << 20) - 30);   // straddles the boundary of chunks 1 and 2
        var infected = await WriteAsync("infected.bin", content);

        var released = await client.UploadFileAsync(clean, "/multi/clean.bin", null, TestContext.Current.CancellationToken);
        var quarantined = await Assert.ThrowsAsync<FileQuarantinedException>(() => client.UploadFileAsync(infected, "/multi/infected.bin", null, TestContext.Current.CancellationToken));

        Assert.Equal("released", released.State);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(await File.ReadAllBytesAsync(clean))), _s.Chain.PlaintextSha256["/multi/clean.bin"]);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(content)), _s.Chain.PlaintextSha256["/multi/infected.bin"]);
        Assert.Equal(new HeldFile("/multi/infected.bin", "quarantined", "test-av TestAV 1.0/42 found Eicar-Test-Signature"), Assert.Single(quarantined.Files));
    }

    [Fact]
    public async Task Push_into_an_approval_area_exits_0_with_the_state_in_json_and_a_note_on_stderr()
    {
        var file = await WriteAsync("batch.csv", ReleaseTestServer.Csv());

        var run = await RunAsync(null, ["push", file, Target("/four-eyes/batch.csv"), .. Trust(AdminTokenFile), "--json"]);

        Assert.True(run.ExitCode == 0, run.ToString());
        using var summary = JsonDocument.Parse(run.Output);
        Assert.Equal("pending-approval", summary.RootElement.GetProperty("state").GetString());
        Assert.Equal("/four-eyes/batch.csv", summary.RootElement.GetProperty("held")[0].GetProperty("path").GetString());
        Assert.Contains("turbomft: note: /four-eyes/batch.csv is stored and verified but not downloadable yet: it waits for approval", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_released_push_says_released_and_held_files_are_refused_by_download_and_skipped_by_pull()
    {
        using var client = new TurboMftClient(new TurboMftClientOptions { BaseAddress = _s.Fixture.Address, Token = _s.Fixture.Token, PinSha256 = _s.Fixture.Server.Fingerprint });
        var clean = await WriteAsync("clean.csv", ReleaseTestServer.Csv());
        var large = await WriteAsync("large.bin", new byte[(4 << 20) + 10]);

        Assert.Equal("released", (await client.UploadFileAsync(clean, "/pull/clean.csv", null, TestContext.Current.CancellationToken)).State);
        _s.Chain.Down = true;
        var held = await client.UploadFileAsync(large, "/pull/large.bin", null, TestContext.Current.CancellationToken);

        Assert.Equal("pending-scan", held.State);
        Assert.Equal(new HeldFile("/pull/large.bin", "pending-scan", null), Assert.Single(held.Held!));
        var refused = await Assert.ThrowsAsync<ServerProblemException>(() => client.DownloadFileAsync("/pull/large.bin", Path.Combine(_work, "out.bin"), null, TestContext.Current.CancellationToken));
        Assert.Equal((409, "file-pending", "pending-scan"), (refused.Status, refused.ProblemType, refused.ReleaseState));
        Assert.Contains("being scanned", refused.Message, StringComparison.Ordinal);
        Assert.Equal(["released", "pending-scan"], (await client.ListAsync("/pull", TestContext.Current.CancellationToken)).Select(f => f.State));

        var pull = await RunAsync(null, ["pull", Target("/pull/"), Path.Combine(_work, "pulled"), .. Trust(AdminTokenFile)]);

        Assert.True(pull.ExitCode == 0, pull.ToString());
        Assert.True(File.Exists(Path.Combine(_work, "pulled", "clean.csv")));
        Assert.False(File.Exists(Path.Combine(_work, "pulled", "large.bin")));
        Assert.Contains("skipping /pull/large.bin: it is pending-scan", pull.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Approvals_cli_lists_refuses_the_uploader_and_approves_with_a_second_persons_token()
    {
        var file = await WriteAsync("batch.csv", ReleaseTestServer.Csv());
        Assert.Equal(0, (await RunAsync(null, ["push", file, Target("/four-eyes/batch.csv"), .. Trust(AdminTokenFile)])).ExitCode);
        var petra = await _s.TokenFileAsync("petra");

        var list = await RunAsync(null, ["approvals", "list", .. Server(petra), "--json"]);
        var id = JsonDocument.Parse(list.Output).RootElement.GetProperty("versions")[0].GetProperty("versionId").GetString()!;
        var table = await RunAsync(null, ["approvals", "list", .. Server(petra)]);
        var self = await RunAsync(null, ["approvals", "approve", id, .. Server(AdminTokenFile)]);
        var rejectWithoutReason = await RunAsync(null, ["approvals", "reject", id, .. Server(petra)]);
        var approve = await RunAsync(null, ["approvals", "approve", id, "--reason", "matches work order 11", .. Server(petra)]);

        Assert.Equal(0, list.ExitCode);
        Assert.Contains("/four-eyes/batch.csv", table.Output, StringComparison.Ordinal);
        Assert.Contains("admin", table.Output, StringComparison.Ordinal);
        Assert.Equal(1, self.ExitCode);
        Assert.Contains("403 self-approval", self.Error, StringComparison.Ordinal);
        Assert.Equal(2, rejectWithoutReason.ExitCode);
        Assert.True(approve.ExitCode == 0, approve.ToString());
        Assert.Equal($"approved /four-eyes/batch.csv (version {id}): released\n", approve.Output);
        File.Delete(petra);
    }

    [Fact]
    public async Task Quarantine_cli_releases_online_and_lists_and_deletes_offline_with_the_server_stopped()
    {
        var released = (await _s.PutAsync(_s.Olga, "/in/a.bin", ReleaseTestServer.Infected())).GetProperty("versionId").GetGuid();
        var deleted = (await _s.PutAsync(_s.Olga, "/in/b.bin", ReleaseTestServer.Infected())).GetProperty("versionId").GetGuid();

        var list = await RunAsync(null, ["quarantine", "list", .. Server(AdminTokenFile)]);
        var noReason = await RunAsync(null, ["quarantine", "release", released.ToString(), .. Server(AdminTokenFile)]);
        var release = await RunAsync(null, ["quarantine", "release", released.ToString(), "--reason", "false positive, vendor ticket 4711", .. Server(AdminTokenFile)]);
        var byDana = await RunAsync(null, ["quarantine", "list", .. Server(await _s.TokenFileAsync("dana"))]);

        Assert.Equal(0, list.ExitCode);
        Assert.Contains("test-av TestAV 1.0/42: Eicar-Test-Signature", list.Output, StringComparison.Ordinal);
        Assert.Equal(2, noReason.ExitCode);
        Assert.True(release.ExitCode == 0, release.ToString());
        Assert.Equal($"released /in/a.bin (version {released}) from quarantine\n", release.Output);
        Assert.Equal(1, byDana.ExitCode);
        Assert.Contains("403 forbidden", byDana.Error, StringComparison.Ordinal);

        CliRun? offlineList = null, offlineDelete = null, whileRunning = null;
        whileRunning = await RunAsync(OfflineAudit.Default, ["quarantine", "delete", deleted.ToString(), "--data", _s.Fixture.DataPath]);
        await _s.Fixture.RestartAsync(whileStopped: data =>
        {
            offlineList = RunAsync(OfflineAudit.Default, ["quarantine", "list", "--data", data, "--json"]).GetAwaiter().GetResult();
            offlineDelete = RunAsync(OfflineAudit.Default, ["quarantine", "delete", deleted.ToString(), "--data", data]).GetAwaiter().GetResult();
        });

        Assert.Equal(1, whileRunning.ExitCode);
        Assert.Contains("running server", whileRunning.Error, StringComparison.Ordinal);
        Assert.True(offlineList!.ExitCode == 0, offlineList.ToString());
        Assert.Equal([deleted], JsonDocument.Parse(offlineList.Output).RootElement.GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("versionId").GetGuid()));
        Assert.True(offlineDelete!.ExitCode == 0, offlineDelete.ToString());
        var records = new AuditFileReader(Path.Combine(_s.Fixture.DataPath, "audit")).Read().ToList();
        var record = Assert.Single(records, r => r.Action == "file.delete");
        Assert.Equal(("system", "/in/b.bin"), (record.Actor.User, record.Path));
        Assert.Contains(records, r => r.Action == "file.released" && r.Actor.User == "admin" && r.Detail!.Contains("vendor ticket 4711", StringComparison.Ordinal));
    }

    private string AdminTokenFile => DataDirectory.Open(_s.Fixture.DataPath).AdminTokenPath;

    private string Target(string remote) => _s.Fixture.Address.ToString().TrimEnd('/') + remote;

    private string[] Trust(string tokenFile) => ["--pin", _s.Fixture.Server.Fingerprint, "--token-file", tokenFile];

    private string[] Server(string tokenFile) => ["--server", _s.Fixture.Address.ToString().TrimEnd('/'), .. Trust(tokenFile)];

    private async Task<string> WriteAsync(string name, byte[] content)
    {
        var path = Path.Combine(_work, name);
        await File.WriteAllBytesAsync(path, content);
        return path;
    }

    private static async Task<CliRun> RunAsync(OfflineAuditOpener? opener, string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await TurboMftCommand.RunAsync(args, new AdminCliContext(output, error, new StringReader(string.Empty), InputIsTerminal: false, opener));
        return new CliRun(code, output.ToString().ReplaceLineEndings("\n"), error.ToString().ReplaceLineEndings("\n"));
    }
}
