using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;

namespace TurboMft.Host.Tests.Cli;

public class DigestCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tmf-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Digest_prints_tree_and_plain_sha256_matching_sha256sum()
    {
        var path = Path.Combine(_dir, "data.bin");
        var data = RandomNumberGenerator.GetBytes((5 << 20) + 17);
        await File.WriteAllBytesAsync(path, data);

        var run = await TurboMftProcess.RunAsync("digest", path, "--sha256", "--chunk-size", "1MiB");

        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches("^sha256-tree:[0-9a-f]{64}  ", lines[0]);
        Assert.Equal($"sha256:{Convert.ToHexStringLower(SHA256.HashData(data))}  {path}", lines[1]);
        Assert.Equal(await Sha256SumAsync(path), Convert.ToHexStringLower(SHA256.HashData(data)));
    }

    [Fact]
    public async Task Digest_depends_on_chunk_size_and_json_reports_it()
    {
        var path = Path.Combine(_dir, "data.bin");
        await File.WriteAllBytesAsync(path, RandomNumberGenerator.GetBytes(3 << 20));

        var one = await TurboMftProcess.RunAsync("digest", path, "--chunk-size", "1MiB", "--json");
        var four = await TurboMftProcess.RunAsync("digest", path, "--json");

        Assert.True(one.ExitCode == 0, one.ToString());
        using var a = JsonDocument.Parse(one.Output);
        using var b = JsonDocument.Parse(four.Output);
        Assert.Equal(1 << 20, a.RootElement.GetProperty("chunkSize").GetInt32());
        Assert.Equal(3, a.RootElement.GetProperty("chunks").GetInt32());
        Assert.Equal(4 << 20, b.RootElement.GetProperty("chunkSize").GetInt32());
        Assert.Equal(3 << 20, b.RootElement.GetProperty("bytes").GetInt64());
        Assert.NotEqual(a.RootElement.GetProperty("digest").GetString(), b.RootElement.GetProperty("digest").GetString());
    }

    [Theory]
    [InlineData("3MiB")]
    [InlineData("512KiB")]
    [InlineData("lots")]
    public async Task Bad_chunk_size_is_a_usage_error_without_stack_trace(string size)
    {
        var path = Path.Combine(_dir, "x.bin");
        await File.WriteAllBytesAsync(path, [1, 2, 3]);
        var run = await TurboMftProcess.RunAsync("digest", path, "--chunk-size", size);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(size, run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", run.Error, StringComparison.Ordinal);
        Assert.Empty(run.Output);
    }

    [Fact]
    public async Task Missing_file_is_one_clear_line()
    {
        var path = Path.Combine(_dir, "absent.bin");
        var run = await TurboMftProcess.RunAsync("digest", path);
        Assert.Equal(1, run.ExitCode);
        Assert.Equal($"turbomft: error: Cannot read '{path}': Could not find file '{path}'.", run.Error.Trim());
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task Unreadable_file_is_one_clear_line()
    {
        if (Environment.UserName == "root")
        {
            // root reads any file regardless of mode; use a directory, which cannot be read as a file.
            var run = await TurboMftProcess.RunAsync("digest", _dir);
            Assert.Equal(1, run.ExitCode);
            Assert.StartsWith($"turbomft: error: Cannot read '{_dir}'", run.Error, StringComparison.Ordinal);
            Assert.DoesNotContain(" at ", run.Error, StringComparison.Ordinal);
            return;
        }

        var path = Path.Combine(_dir, "secret.bin");
        await File.WriteAllBytesAsync(path, [1]);
        File.SetUnixFileMode(path, UnixFileMode.None);
        var denied = await TurboMftProcess.RunAsync("digest", path);
        Assert.Equal(1, denied.ExitCode);
        Assert.Contains("Cannot read", denied.Error, StringComparison.Ordinal);
    }

    private static async Task<string> Sha256SumAsync(string path)
    {
        var start = new ProcessStartInfo("sha256sum", [path]) { RedirectStandardOutput = true };
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return output.Split(' ')[0];
    }
}
