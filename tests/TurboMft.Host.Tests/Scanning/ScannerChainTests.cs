using System.Security.Cryptography;
using TurboMft.Engine.Container;
using TurboMft.Engine.Datasets;
using TurboMft.Engine.Storage;
using TurboMft.Host.Metadata;
using TurboMft.Host.Scanning;

namespace TurboMft.Host.Tests.Scanning;

public sealed class ScannerChainTests(ClamdFixture clamd) : IClassFixture<ClamdFixture>, IDisposable
{
    private readonly TestContainers _containers = new();

    public void Dispose() => _containers.Dispose();

    [Fact]
    public void The_chain_runs_deny_list_file_type_archive_then_clamav()
    {
        var chain = ScannerChain.Create(Settings());
        Assert.Equal(["digest-deny-list", "file-type", "archive", "clamav"], chain.Scanners.Select(s => s.Name));
        Assert.Equal(TimeSpan.FromSeconds(600), chain.ScanTimeout);

        var minimal = ScannerChain.Create(new ContentSettings());
        Assert.Equal(["file-type", "archive"], minimal.Scanners.Select(s => s.Name));
    }

    [Fact]
    public async Task A_clean_historian_csv_in_a_container_is_clean_for_every_scanner()
    {
        var container = await _containers.PackDatasetAsync("historian", DatasetKind.HistorianCsv, 9 << 20);
        var report = await ScanContainerAsync(ScannerChain.Create(Settings()), "/ot/plant1/2026-01.csv", container);
        Assert.Equal(ScanOutcome.Clean, report.Outcome);
        Assert.Equal(4, report.Verdicts.Count);
        Assert.All(report.Verdicts, v => Assert.Equal(ScanOutcome.Clean, v.Outcome));
        Assert.Equal("detected csv", report.Verdicts[1].Detail);
    }

    [Fact]
    public async Task Eicar_is_infected_by_clamav_with_the_signature_name()
    {
        var container = await _containers.PackAsync("eicar", ScanTestFiles.Eicar);
        var report = await ScanContainerAsync(ScannerChain.Create(Settings()), "/it/eicar.com", container);
        Assert.Equal(ScanOutcome.Infected, report.Outcome);
        var clamav = Assert.Single(report.Verdicts, v => v.Scanner == "clamav");
        Assert.Equal(ScanOutcome.Infected, clamav.Outcome);
        Assert.StartsWith("Eicar-Test-Signature", clamav.Finding, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_elf_renamed_csv_into_an_ot_area_is_a_finding()
    {
        var container = await _containers.PackAsync("elf", ScanTestFiles.Elf(100_000));
        var report = await ScanContainerAsync(ScannerChain.Create(Settings()), "/ot/plant1/x.csv", container);
        Assert.Equal(ScanOutcome.Infected, report.Outcome);
        var fileType = Assert.Single(report.Verdicts, v => v.Scanner == "file-type");
        Assert.Equal("type-mismatch:elf-as-csv", fileType.Finding);
    }

    [Fact]
    public async Task A_pe_into_the_ot_area_is_denied_by_policy_and_clean_in_another_area()
    {
        var chain = ScannerChain.Create(Settings());
        var pe = ScanTestFiles.Pe();
        var ot = await chain.ScanAsync(ScanTestFiles.Subject("/ot/plant1/tool.exe", pe), ScanTestFiles.Opener(pe), TestContext.Current.CancellationToken);
        Assert.Equal("type-denied:pe", ot.Verdicts.Single(v => v.Scanner == "file-type").Finding);
        var it = await chain.ScanAsync(ScanTestFiles.Subject("/it/tool.exe", pe), ScanTestFiles.Opener(pe), TestContext.Current.CancellationToken);
        Assert.Equal(ScanOutcome.Clean, it.Outcome);
    }

    [Fact]
    public async Task A_digest_on_the_deny_list_is_infected()
    {
        var content = "a known bad batch file"u8.ToArray();
        var settings = Settings();
        await File.WriteAllTextAsync(settings.DenyListFile!, Convert.ToHexStringLower(SHA256.HashData(content)) + " Known.Bad\n", TestContext.Current.CancellationToken);
        var report = await ScannerChain.Create(settings).ScanAsync(ScanTestFiles.Subject("/it/run.bat", content), ScanTestFiles.Opener(content), TestContext.Current.CancellationToken);
        Assert.Equal("sha256-deny-list:Known.Bad", report.Verdicts[0].Finding);
        Assert.Equal(ScanOutcome.Infected, report.Outcome);
    }

    [Fact]
    public async Task Clamd_stopped_is_an_error_verdict_and_the_report_is_error()
    {
        await using var own = await ClamdFixture.StartAsync(new ClamdLimits());
        var settings = Settings();
        settings.Clamd = "unix:" + own.SocketPath;
        var chain = ScannerChain.Create(settings);
        var csv = ScanTestFiles.HistorianCsv(100_000);
        Assert.Equal(ScanOutcome.Clean, (await chain.ScanAsync(ScanTestFiles.Subject("/ot/a.csv", csv), ScanTestFiles.Opener(csv), TestContext.Current.CancellationToken)).Outcome);

        await own.StopAsync();
        var report = await chain.ScanAsync(ScanTestFiles.Subject("/ot/a.csv", csv), ScanTestFiles.Opener(csv), TestContext.Current.CancellationToken);
        Assert.Equal(ScanOutcome.Error, report.Outcome);
        var clamav = report.Verdicts.Single(v => v.Scanner == "clamav");
        Assert.Equal(ScanOutcome.Error, clamav.Outcome);
        Assert.Contains("not reachable", clamav.Detail, StringComparison.Ordinal);
        Assert.All(report.Verdicts.Where(v => v.Scanner != "clamav"), v => Assert.Equal(ScanOutcome.Clean, v.Outcome));
    }

    [Fact]
    public async Task A_tampered_container_is_an_error_not_clean()
    {
        var container = await _containers.PackDatasetAsync("tampered", DatasetKind.HistorianCsv, 9 << 20);
        using (var reader = ContainerReader.Open(container, _containers.Resolver))
        using (var file = File.OpenHandle(container, FileMode.Open, FileAccess.ReadWrite))
        {
            var offset = reader.GetEntry(1).Offset + ContainerFormat.RecordHeaderSize + 10;
            var one = new byte[1];
            RandomAccess.Read(file, one, offset);
            one[0] ^= 1;
            RandomAccess.Write(file, one, offset);
        }

        var report = await ScanContainerAsync(ScannerChain.Create(Settings()), "/ot/t.csv", container);
        Assert.Equal(ScanOutcome.Error, report.Outcome);
        var denyList = report.Verdicts[0];
        Assert.Equal(ScanOutcome.Error, denyList.Outcome);
        Assert.Contains("failed verification", denyList.Detail, StringComparison.Ordinal);
        Assert.Contains("chunk 1", denyList.Detail, StringComparison.Ordinal);
        Assert.Equal(ScanOutcome.Error, report.Verdicts.Single(v => v.Scanner == "clamav").Outcome);
    }

    [Fact]
    public async Task A_scanner_that_throws_or_hangs_becomes_an_error_and_every_stream_is_closed()
    {
        var opened = 0;
        var disposed = 0;
        Stream Open()
        {
            Interlocked.Increment(ref opened);
            return new DisposeCountingStream(new MemoryStream("data"u8.ToArray()), () => Interlocked.Increment(ref disposed));
        }

        var chain = new ScannerChain([new ThrowingScanner(), new HangingScanner(), new FileTypeScanner()], ContentPolicies.None, TimeSpan.FromMilliseconds(300));
        var report = await chain.ScanAsync(ScanTestFiles.SubjectWithoutSha256("/a.txt", 4), Open, TestContext.Current.CancellationToken);

        Assert.Equal(ScanOutcome.Error, report.Outcome);
        Assert.Equal(ScanOutcome.Error, report.Verdicts[0].Outcome);
        Assert.Contains("InvalidOperationException", report.Verdicts[0].Detail, StringComparison.Ordinal);
        Assert.Contains("broken on purpose", report.Verdicts[0].Detail, StringComparison.Ordinal);
        Assert.Equal(ScanOutcome.Error, report.Verdicts[1].Outcome);
        Assert.Contains("scan timeout", report.Verdicts[1].Detail, StringComparison.Ordinal);
        Assert.Equal(ScanOutcome.Clean, report.Verdicts[2].Outcome);

        // The hanging scanner ignores its token; its stream is closed when it finally gives up, about 1 s later (waited
        // for, not slept through: under load the giving up can take longer).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (Volatile.Read(ref disposed) < 3 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        Assert.Equal(3, opened);
        Assert.Equal(opened, disposed);
    }

    [Fact]
    public async Task The_callers_cancellation_cancels_the_scan()
    {
        var chain = new ScannerChain([new HangingScanner()], ContentPolicies.None, TimeSpan.FromMinutes(5));
        using var cancel = new CancellationTokenSource(200);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => chain.ScanAsync(ScanTestFiles.SubjectWithoutSha256("/a", 1), ScanTestFiles.Opener([1]), cancel.Token));
    }

    [Fact]
    public async Task Many_files_are_scanned_at_once_each_with_its_own_verdicts()
    {
        var chain = ScannerChain.Create(Settings());
        var files = Enumerable.Range(0, 24).Select(i => (i % 3) switch
        {
            0 => ($"/ot/p{i}/data.csv", ScanTestFiles.HistorianCsv(200_000, i), ScanOutcome.Clean),
            1 => ($"/it/e{i}.com", ScanTestFiles.Eicar, ScanOutcome.Infected),
            _ => ($"/ot/p{i}/x.csv", ScanTestFiles.Elf(20_000), ScanOutcome.Infected),
        }).ToArray();

        var reports = await Task.WhenAll(files.Select(f => Task.Run(() => chain.ScanAsync(ScanTestFiles.Subject(f.Item1, f.Item2), ScanTestFiles.Opener(f.Item2), TestContext.Current.CancellationToken))));
        for (var i = 0; i < files.Length; i++)
        {
            Assert.Equal(files[i].Item3, reports[i].Outcome);
        }
    }

    [Fact]
    public void The_deepest_area_wins_and_the_root_is_the_default()
    {
        var settings = new ContentSettings
        {
            Areas =
            [
                new AreaContentSettings { Area = "/ot", DenyTypes = ["elf", "PE"] },
                new AreaContentSettings { Area = "/ot/plant1/lab", AllowTypes = ["csv"], RequireApproval = true, ApprovalExpiryHours = 48 },
                new AreaContentSettings { Area = "/", DenyTypes = ["script"] },
            ],
        };
        var chain = ScannerChain.Create(settings);
        Assert.Equal("/ot/plant1/lab", chain.PolicyFor(RemotePath.Parse("/ot/plant1/lab/x/y.csv")).Area.Value);
        var lab = chain.PolicyFor(RemotePath.Parse("/ot/plant1/lab/y.csv"));
        Assert.True(lab.RequireApproval);
        Assert.Equal(TimeSpan.FromHours(48), lab.ApprovalExpiry);
        Assert.Equal(["csv"], lab.AllowTypes!);
        Assert.Equal(["elf", "pe"], chain.PolicyFor(RemotePath.Parse("/ot/plant1/a.csv")).DenyTypes!);
        Assert.Equal("/ot", chain.PolicyFor(RemotePath.Parse("/ot")).Area.Value);
        Assert.Equal("/", chain.PolicyFor(RemotePath.Parse("/otherwise/a")).Area.Value);
        Assert.Equal(["script"], chain.PolicyFor(RemotePath.Parse("/it/a")).DenyTypes!);

        var defaults = ScannerChain.Create(new ContentSettings()).PolicyFor(RemotePath.Parse("/a/b"));
        Assert.True(defaults.Area.IsRoot);
        Assert.Null(defaults.AllowTypes);
        Assert.Null(defaults.DenyTypes);
        Assert.False(defaults.RequireApproval);
    }

    private ContentSettings Settings() => new()
    {
        Clamd = "unix:" + clamd.SocketPath,
        DenyListFile = WriteDenyList(),
        Areas = [new AreaContentSettings { Area = "/ot", DenyTypes = ["pe", "elf", "macho", "script"] }],
    };

    private string WriteDenyList()
    {
        var path = Path.Combine(_containers.Directory, "deny-" + Guid.NewGuid().ToString("N")[..8] + ".txt");
        File.WriteAllText(path, "# test list\n" + new string('a', 64) + " Nothing.Real\n");
        return path;
    }

    private async Task<ScanReport> ScanContainerAsync(ScannerChain chain, string path, string container)
    {
        using var stream = ContainerPlaintextStream.Open(container, _containers.Resolver);
        var subject = new ScanSubject(RemotePath.Parse(path), stream.Length, stream.Digest, null);
        return await chain.ScanAsync(subject, _containers.Opener(container), TestContext.Current.CancellationToken);
    }

    private sealed class ThrowingScanner : IContentScanner
    {
        public string Name => "throws";

        public Task<ScanVerdict> ScanAsync(ScanSubject subject, Func<Stream> openPlaintext, AreaContentPolicy policy, CancellationToken cancellationToken)
        {
            openPlaintext();
            throw new InvalidOperationException("broken on purpose");
        }
    }

    private sealed class HangingScanner : IContentScanner
    {
        public string Name => "hangs";

        public async Task<ScanVerdict> ScanAsync(ScanSubject subject, Func<Stream> openPlaintext, AreaContentPolicy policy, CancellationToken cancellationToken)
        {
            openPlaintext();
            await Task.Delay(1000, CancellationToken.None); // ignores its token on purpose
            return new ScanVerdict(Name, "1", ScanOutcome.Clean);
        }
    }

    private sealed class DisposeCountingStream(Stream inner, Action disposed) : Stream
    {
        private bool _disposed;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => inner.Length;

        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_disposed)
            {
                _disposed = true;
                disposed();
            }

            base.Dispose(disposing);
        }
    }
}
