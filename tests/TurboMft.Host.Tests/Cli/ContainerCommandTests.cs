using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text.Json;

namespace TurboMft.Host.Tests.Cli;

[UnsupportedOSPlatform("windows")]
public class ContainerCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tmf-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    [Fact]
    public async Task Keys_init_creates_an_owner_only_file_and_refuses_to_overwrite()
    {
        var key = PathOf("master.key");
        var run = await TurboMftProcess.RunAsync("keys", "init", "--key-file", key);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
        Assert.Matches("created master key [0-9a-f]{16} in ", run.Output);

        var again = await TurboMftProcess.RunAsync("keys", "init", "--key-file", key);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains(key, again.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pack_unpack_verify_round_trip_restores_the_exact_bytes()
    {
        var key = await InitKeyAsync();
        var source = PathOf("historian.csv");
        var data = new byte[(3 << 20) + 999];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (byte)"2026-01-01T00:00:00Z,TT-101,12.5,192\n"[i % 37];
        }

        await File.WriteAllBytesAsync(source, data);
        var pack = await TurboMftProcess.RunAsync("container", "pack", source, PathOf("c.tmf"), "--key-file", key, "--chunk-size", "1MiB", "--sha256", "--json");
        Assert.True(pack.ExitCode == 0, pack.ToString());
        using var summary = JsonDocument.Parse(pack.Output);
        Assert.Equal(data.Length, summary.RootElement.GetProperty("bytes").GetInt64());
        Assert.Equal(4, summary.RootElement.GetProperty("chunksCompressed").GetInt32());
        Assert.True(summary.RootElement.GetProperty("storedBytes").GetInt64() < data.Length / 4);
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(data)), summary.RootElement.GetProperty("sha256").GetString());

        var digest = await TurboMftProcess.RunAsync("digest", source, "--chunk-size", "1MiB");
        Assert.StartsWith(summary.RootElement.GetProperty("digest").GetString()!, digest.Output, StringComparison.Ordinal);

        var verify = await TurboMftProcess.RunAsync("container", "verify", PathOf("c.tmf"), "--key-file", key);
        Assert.True(verify.ExitCode == 0, verify.ToString());
        Assert.StartsWith("ok sha256-tree:", verify.Output, StringComparison.Ordinal);

        var unpack = await TurboMftProcess.RunAsync("container", "unpack", PathOf("c.tmf"), PathOf("restored.csv"), "--key-file", key);
        Assert.True(unpack.ExitCode == 0, unpack.ToString());
        Assert.Equal(data, await File.ReadAllBytesAsync(PathOf("restored.csv")));

        var overwrite = await TurboMftProcess.RunAsync("container", "unpack", PathOf("c.tmf"), PathOf("restored.csv"), "--key-file", key);
        Assert.Equal(1, overwrite.ExitCode);
        Assert.Contains("already exists", overwrite.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tampered_container_fails_verify_naming_the_chunk()
    {
        var key = await InitKeyAsync();
        var source = PathOf("random.bin");
        await File.WriteAllBytesAsync(source, RandomNumberGenerator.GetBytes(3 << 20));
        var pack = await TurboMftProcess.RunAsync("container", "pack", source, PathOf("c.tmf"), "--key-file", key, "--chunk-size", "1MiB");
        Assert.True(pack.ExitCode == 0, pack.ToString());

        using (var file = File.OpenHandle(PathOf("c.tmf"), FileMode.Open, FileAccess.ReadWrite))
        {
            // Records are appended in completion order; byte 200000 lies inside the first record written, whichever chunk it is.
            var b = new byte[1];
            RandomAccess.Read(file, b, 200_000);
            b[0] ^= 1;
            RandomAccess.Write(file, b, 200_000);
        }

        var verify = await TurboMftProcess.RunAsync("container", "verify", PathOf("c.tmf"), "--key-file", key);
        Assert.Equal(1, verify.ExitCode);
        Assert.Matches(@"turbomft: error: Container '.*c\.tmf', chunk [0-2]: ChunkAuthenticationFailed", verify.Error);
        Assert.DoesNotContain(" at ", verify.Error, StringComparison.Ordinal);

        var unpack = await TurboMftProcess.RunAsync("container", "unpack", PathOf("c.tmf"), PathOf("out.bin"), "--key-file", key);
        Assert.Equal(1, unpack.ExitCode);
        Assert.False(File.Exists(PathOf("out.bin")));
    }

    [Fact]
    public async Task Key_file_readable_by_others_is_refused_with_the_fix()
    {
        var key = await InitKeyAsync();
        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        await File.WriteAllBytesAsync(PathOf("x.bin"), [1, 2, 3]);
        var run = await TurboMftProcess.RunAsync("container", "pack", PathOf("x.bin"), PathOf("c.tmf"), "--key-file", key);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("chmod 600", run.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(PathOf("c.tmf")));
    }

    [Fact]
    public async Task Missing_key_is_refused_with_the_fix()
    {
        await File.WriteAllBytesAsync(PathOf("x.bin"), [1, 2, 3]);
        var noFile = await TurboMftProcess.RunAsync("container", "pack", PathOf("x.bin"), PathOf("c.tmf"), "--key-file", PathOf("absent.key"));
        Assert.Equal(1, noFile.ExitCode);
        Assert.Contains("absent.key", noFile.Error, StringComparison.Ordinal);

        var none = await TurboMftProcess.RunAsync(new Dictionary<string, string?> { ["TURBOMFT_MASTER_KEY"] = null }, "container", "pack", PathOf("x.bin"), PathOf("c.tmf"));
        Assert.Equal(1, none.ExitCode);
        Assert.Contains("--key-file", none.Error, StringComparison.Ordinal);
        Assert.Contains("TURBOMFT_MASTER_KEY", none.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Master_key_from_environment_packs_and_a_different_key_cannot_open()
    {
        var env = new Dictionary<string, string?> { ["TURBOMFT_MASTER_KEY"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) };
        await File.WriteAllBytesAsync(PathOf("x.bin"), RandomNumberGenerator.GetBytes(100_000));
        var pack = await TurboMftProcess.RunAsync(env, "container", "pack", PathOf("x.bin"), PathOf("c.tmf"));
        Assert.True(pack.ExitCode == 0, pack.ToString());
        Assert.Equal(0, (await TurboMftProcess.RunAsync(env, "container", "verify", PathOf("c.tmf"))).ExitCode);

        var other = new Dictionary<string, string?> { ["TURBOMFT_MASTER_KEY"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) };
        var wrong = await TurboMftProcess.RunAsync(other, "container", "verify", PathOf("c.tmf"));
        Assert.Equal(1, wrong.ExitCode);
        Assert.Contains("is not in this node's key ring", wrong.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rotate_then_rewrap_keeps_the_container_readable_under_the_new_key()
    {
        var key = await InitKeyAsync();
        await File.WriteAllBytesAsync(PathOf("x.bin"), RandomNumberGenerator.GetBytes(2 << 20));
        Assert.Equal(0, (await TurboMftProcess.RunAsync("container", "pack", PathOf("x.bin"), PathOf("c.tmf"), "--key-file", key)).ExitCode);
        var before = await File.ReadAllBytesAsync(PathOf("c.tmf"));

        var rotate = await TurboMftProcess.RunAsync("keys", "rotate", "--key-file", key);
        Assert.True(rotate.ExitCode == 0, rotate.ToString());
        var rewrap = await TurboMftProcess.RunAsync("container", "rewrap", PathOf("c.tmf"), "--key-file", key);
        Assert.True(rewrap.ExitCode == 0, rewrap.ToString());
        Assert.Contains("re-wrapped", rewrap.Output, StringComparison.Ordinal);

        var after = await File.ReadAllBytesAsync(PathOf("c.tmf"));
        Assert.Equal(before.Length, after.Length);
        Assert.Equal(before.AsSpan(128).ToArray(), after.AsSpan(128).ToArray());
        Assert.NotEqual(before.AsSpan(32, 68).ToArray(), after.AsSpan(32, 68).ToArray());
        Assert.Equal(0, (await TurboMftProcess.RunAsync("container", "verify", PathOf("c.tmf"), "--key-file", key)).ExitCode);
    }

    private async Task<string> InitKeyAsync()
    {
        var key = PathOf("master.key");
        var run = await TurboMftProcess.RunAsync("keys", "init", "--key-file", key);
        Assert.True(run.ExitCode == 0, run.ToString());
        return key;
    }
}
