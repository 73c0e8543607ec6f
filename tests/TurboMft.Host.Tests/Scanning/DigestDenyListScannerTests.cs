using System.Security.Cryptography;
using Microsoft.Extensions.Time.Testing;
using TurboMft.Engine.Storage;
using TurboMft.Host.Metadata;
using TurboMft.Host.Scanning;

namespace TurboMft.Host.Tests.Scanning;

public class DigestDenyListScannerTests : IDisposable
{
    private static readonly AreaContentPolicy Anywhere = new(RemotePath.Root);
    private readonly string _dir = Directory.CreateTempSubdirectory("tmf-deny-").FullName;
    private readonly FakeTimeProvider _time = new();

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task A_listed_digest_is_a_finding_named_by_its_label_and_others_are_clean()
    {
        var bad = "payload of a known dropper"u8.ToArray();
        var list = WriteList($"# indicators from CERT advisory 2026-01\n\n{Sha(bad).ToUpperInvariant()}  Dropper.X (advisory 2026-01)\n{Sha("other"u8.ToArray())}\n");
        var scanner = new DigestDenyListScanner(list, _time);

        var hit = await ScanAsync(scanner, "/ot/a.bin", bad);
        Assert.Equal(ScanOutcome.Infected, hit.Outcome);
        Assert.Equal("sha256-deny-list:Dropper.X (advisory 2026-01)", hit.Finding);
        Assert.Equal("digest-deny-list", hit.Scanner);
        Assert.StartsWith("2 digests, sha256:", hit.ScannerVersion, StringComparison.Ordinal);

        var clean = await ScanAsync(scanner, "/ot/b.bin", "harmless"u8.ToArray());
        Assert.Equal(ScanOutcome.Clean, clean.Outcome);
    }

    [Fact]
    public async Task An_unlabelled_digest_is_named_by_the_digest_and_sha256sum_output_works_as_a_list()
    {
        var bad = "x"u8.ToArray();
        var list = WriteList($"{Sha(bad)}\n{Sha("y"u8.ToArray())} *y.exe\n");
        var scanner = new DigestDenyListScanner(list, _time);
        Assert.Equal("sha256-deny-list:" + Sha(bad), (await ScanAsync(scanner, "/a", bad)).Finding);
        Assert.Equal("sha256-deny-list:y.exe", (await ScanAsync(scanner, "/b", "y"u8.ToArray())).Finding);
    }

    [Fact]
    public async Task Without_a_known_sha256_the_plaintext_stream_is_hashed()
    {
        var bad = TestBytes.Random(3 << 20);
        var scanner = new DigestDenyListScanner(WriteList(Sha(bad) + " big-bad\n"), _time);
        var verdict = await scanner.ScanAsync(ScanTestFiles.SubjectWithoutSha256("/ot/big.bin", bad.Length), ScanTestFiles.Opener(bad), Anywhere, CancellationToken.None);
        Assert.Equal("sha256-deny-list:big-bad", verdict.Finding);
    }

    [Fact]
    public async Task An_edited_list_is_reloaded_without_a_restart_after_the_check_interval()
    {
        var file = "new indicator"u8.ToArray();
        var list = WriteList($"{Sha("old"u8.ToArray())} old\n");
        var scanner = new DigestDenyListScanner(list, _time, TimeSpan.FromSeconds(2));
        Assert.Equal(ScanOutcome.Clean, (await ScanAsync(scanner, "/a", file)).Outcome);

        await File.AppendAllTextAsync(list, $"{Sha(file)} fresh-indicator\n");
        Assert.Equal(ScanOutcome.Clean, (await ScanAsync(scanner, "/a", file)).Outcome); // within the interval: the loaded copy

        _time.Advance(TimeSpan.FromSeconds(3));
        var verdict = await ScanAsync(scanner, "/a", file);
        Assert.Equal("sha256-deny-list:fresh-indicator", verdict.Finding);
        Assert.StartsWith("2 digests", verdict.ScannerVersion, StringComparison.Ordinal);

        // Removing the line releases the digest again.
        await File.WriteAllTextAsync(list, $"{Sha("old"u8.ToArray())} old\n# {Sha(file)} withdrawn\n");
        File.SetLastWriteTimeUtc(list, DateTime.UtcNow.AddSeconds(5));
        _time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(ScanOutcome.Clean, (await ScanAsync(scanner, "/a", file)).Outcome);
    }

    [Fact]
    public async Task A_missing_list_file_is_an_error_not_clean()
    {
        var scanner = new DigestDenyListScanner(Path.Combine(_dir, "absent.txt"), _time);
        var verdict = await ScanAsync(scanner, "/a", "anything"u8.ToArray());
        Assert.Equal(ScanOutcome.Error, verdict.Outcome);
        Assert.Contains("absent.txt", verdict.Detail, StringComparison.Ordinal);
        Assert.Contains("does not exist", verdict.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_list_that_disappears_after_loading_fails_closed_at_the_next_check()
    {
        var list = WriteList($"{Sha("a"u8.ToArray())}\n");
        var scanner = new DigestDenyListScanner(list, _time);
        Assert.Equal(ScanOutcome.Clean, (await ScanAsync(scanner, "/a", "b"u8.ToArray())).Outcome);
        File.Delete(list);
        _time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(ScanOutcome.Error, (await ScanAsync(scanner, "/a", "b"u8.ToArray())).Outcome);
    }

    [Fact]
    public async Task An_unreadable_list_is_an_error()
    {
        // A directory where the file should be cannot be read, whoever runs the test (root ignores file modes).
        var list = Directory.CreateDirectory(Path.Combine(_dir, "list-is-a-directory")).FullName;
        var verdict = await ScanAsync(new DigestDenyListScanner(list, _time), "/a", "b"u8.ToArray());
        Assert.Equal(ScanOutcome.Error, verdict.Outcome);
    }

    [Fact]
    public async Task A_malformed_line_is_an_error_naming_the_line()
    {
        var list = WriteList($"{Sha("a"u8.ToArray())}\nnot-a-digest label\n");
        var verdict = await ScanAsync(new DigestDenyListScanner(list, _time), "/a", "b"u8.ToArray());
        Assert.Equal(ScanOutcome.Error, verdict.Outcome);
        Assert.Contains(":2:", verdict.Detail, StringComparison.Ordinal);
        Assert.Contains("not-a-digest", verdict.Detail, StringComparison.Ordinal);
    }

    private string WriteList(string text)
    {
        var path = Path.Combine(_dir, "deny-" + Guid.NewGuid().ToString("N")[..8] + ".txt");
        File.WriteAllText(path, text);
        return path;
    }

    private static string Sha(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));

    private static Task<ScanVerdict> ScanAsync(DigestDenyListScanner scanner, string path, byte[] content) =>
        scanner.ScanAsync(ScanTestFiles.Subject(path, content), ScanTestFiles.Opener(content), Anywhere, CancellationToken.None);
}
