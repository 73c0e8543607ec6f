using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using TurboMft.Engine.Storage;
using TurboMft.Host.Metadata;
using TurboMft.Host.Scanning;

namespace TurboMft.Host.Tests.Scanning;

/// <summary>
/// Archive scanning. Runs alone (<see cref="ScanMemoryCollection"/>): the bomb test measures the process's allocations
/// across awaits, which continue on other threads, and its time, which classes running beside it would stretch.
/// </summary>
[Collection(nameof(ScanMemoryCollection))]
public class ArchiveScannerTests(ITestOutputHelper output)
{
    private static readonly AreaContentPolicy Ot = new(RemotePath.Parse("/ot"), DenyTypes: ["pe", "elf", "macho", "script"]);
    private static readonly AreaContentPolicy Anywhere = new(RemotePath.Root);

    [Fact]
    public async Task A_clean_zip_of_csv_files_is_clean_and_every_entry_is_read()
    {
        var zip = ScanTestFiles.Zip(("2026/01/plant1.csv", ScanTestFiles.HistorianCsv(300_000)), ("2026/01/plant2.csv", ScanTestFiles.HistorianCsv(200_000, 2)), ("empty/", []));
        var verdict = await ScanAsync("/ot/export.zip", zip, Ot);
        Assert.Equal(ScanOutcome.Clean, verdict.Outcome);
        Assert.Equal("zip: 3 entries, 500000 bytes expanded", verdict.Detail);
    }

    [Fact]
    public async Task A_file_that_is_not_an_archive_is_clean_after_reading_its_head_only()
    {
        var stream = new CountingReadStream(new MemoryStream(TestBytes.Random(4 << 20)));
        var verdict = await new ArchiveScanner().ScanAsync(ScanTestFiles.SubjectWithoutSha256("/a.bin", 4 << 20), () => stream, Anywhere, CancellationToken.None);
        Assert.Equal(ScanOutcome.Clean, verdict.Outcome);
        Assert.Equal("not an archive (binary)", verdict.Detail);
        Assert.True(stream.BytesRead <= FileTypeDetector.HeadLength);
    }

    [Fact]
    public async Task An_elf_inside_a_zip_into_an_area_denying_elf_is_type_denied_with_the_entry_name()
    {
        var zip = ScanTestFiles.Zip(("readme.txt", "firmware update"u8.ToArray()), ("bin/updater", ScanTestFiles.Elf(50_000)));
        var verdict = await ScanAsync("/ot/plant1/update.zip", zip, Ot);
        Assert.Equal(ScanOutcome.Infected, verdict.Outcome);
        Assert.Equal("type-denied:elf", verdict.Finding);
        Assert.Equal("archive", verdict.Scanner);
        Assert.Contains("'bin/updater'", verdict.Detail, StringComparison.Ordinal);

        // The same zip into an area without a deny list is clean.
        Assert.Equal(ScanOutcome.Clean, (await ScanAsync("/it/update.zip", zip, Anywhere)).Outcome);
    }

    [Fact]
    public async Task An_executable_entry_named_as_data_is_a_mismatch_in_any_area()
    {
        var zip = ScanTestFiles.Zip(("report.pdf", ScanTestFiles.Pe()));
        var verdict = await ScanAsync("/it/reports.zip", zip, Anywhere);
        Assert.Equal("type-mismatch:pe-as-pdf", verdict.Finding);
        Assert.Contains("'report.pdf'", verdict.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nested_archives_are_walked_tar_gz_zip_and_zip_in_zip()
    {
        var elf = ScanTestFiles.Elf();
        var inner = ScanTestFiles.Zip(("tools/x", elf));
        var tarGz = ScanTestFiles.Gzip(ScanTestFiles.Tar(("data/readme.txt", "hi"u8.ToArray()), ("data/inner.zip", inner)), "bundle.tar");

        var verdict = await ScanAsync("/ot/bundle.tgz", tarGz, Ot);
        Assert.Equal("type-denied:elf", verdict.Finding);
        Assert.Contains("'tools/x'", verdict.Detail, StringComparison.Ordinal);

        var zipInZip = ScanTestFiles.Zip(("level2.zip", ScanTestFiles.Zip(("level3.zip", inner))));
        Assert.Equal("type-denied:elf", (await ScanAsync("/ot/deep.zip", zipInZip, Ot)).Finding);
    }

    [Fact]
    public async Task Archives_nested_deeper_than_the_limit_are_a_bomb_finding()
    {
        var level4 = ScanTestFiles.Zip(("a.txt", "x"u8.ToArray()));
        var nested = ScanTestFiles.Zip(("l2.zip", ScanTestFiles.Zip(("l3.zip", ScanTestFiles.Zip(("l4.zip", level4)))))); // l1 is the file
        var verdict = await ScanAsync("/it/nested.zip", nested, Anywhere);
        Assert.Equal("archive-bomb:depth", verdict.Finding);
        Assert.Contains("l4.zip", verdict.Detail, StringComparison.Ordinal);

        var allowed = await new ArchiveScanner(new ArchiveLimits { MaxDepth = 4 }).ScanAsync(ScanTestFiles.Subject("/it/nested.zip", nested), ScanTestFiles.Opener(nested), Anywhere, CancellationToken.None);
        Assert.Equal(ScanOutcome.Clean, allowed.Outcome);
    }

    [Fact]
    public async Task Zip_entries_with_data_descriptors_are_walked_and_checked()
    {
        var zip = ScanTestFiles.Zip(streamed: true, ("a.csv", ScanTestFiles.HistorianCsv(100_000)), ("b.bin", TestBytes.Random(70_000)), ("c/tool.sh", "#!/bin/sh\necho\n"u8.ToArray()));
        Assert.NotEqual(0, BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(6)) & 0x0008); // really streamed
        var verdict = await ScanAsync("/ot/s.zip", zip, Ot);
        Assert.Equal("type-denied:script", verdict.Finding);
        Assert.Contains("'c/tool.sh'", verdict.Detail, StringComparison.Ordinal);

        var inner = ScanTestFiles.Zip(streamed: true, ("big.csv", ScanTestFiles.HistorianCsv(3 << 20)), ("c.txt", "x"u8.ToArray()));
        var clean = ScanTestFiles.Zip(streamed: true, ("a.csv", ScanTestFiles.HistorianCsv(100_000)), ("b.bin", TestBytes.Random(70_000)), ("inner.zip", inner), ("d.txt", "y"u8.ToArray()));
        var cleanVerdict = await ScanAsync("/ot/s.zip", clean, Ot);
        Assert.Equal(ScanOutcome.Clean, cleanVerdict.Outcome);
        Assert.StartsWith("zip: 6 entries", cleanVerdict.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_zip_bomb_of_one_gib_of_zeros_is_found_quickly_in_bounded_memory()
    {
        var bomb = ScanTestFiles.ZipOfZeros(1L << 30);
        Assert.True(bomb.Length < 2 << 20, $"the bomb is {bomb.Length} bytes");

        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var started = Stopwatch.StartNew();
        var verdict = await ScanAsync("/ot/innocent.zip", bomb, Ot);
        started.Stop();
        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        output.WriteLine($"{bomb.Length} bytes expanding to 1 GiB: {verdict.Finding} after {started.Elapsed.TotalMilliseconds:0} ms, {allocated} bytes allocated");

        Assert.Equal(ScanOutcome.Infected, verdict.Outcome);
        Assert.Equal("archive-bomb:ratio", verdict.Finding);
        Assert.Contains("zeros.bin", verdict.Detail, StringComparison.Ordinal);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(5), $"took {started.Elapsed}");
        Assert.True(allocated < 64 << 20, $"allocated {allocated} bytes");
    }

    [Fact]
    public async Task A_gzip_bomb_is_found()
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            var zeros = new byte[1 << 20];
            for (var i = 0; i < 64; i++)
            {
                gzip.Write(zeros);
            }
        }

        var verdict = await ScanAsync("/ot/log.gz", output.ToArray(), Ot);
        Assert.Equal("archive-bomb:ratio", verdict.Finding);
    }

    [Fact]
    public async Task Many_moderately_compressed_entries_exceed_the_total_expanded_size()
    {
        var entries = Enumerable.Range(0, 5).Select(i => ($"part{i}.csv", ScanTestFiles.HistorianCsv(1 << 20, i))).ToArray();
        var zip = ScanTestFiles.Zip(entries);
        var limits = new ArchiveLimits { MaxExpandedBytes = 3 << 20 };
        var verdict = await new ArchiveScanner(limits).ScanAsync(ScanTestFiles.Subject("/a.zip", zip), ScanTestFiles.Opener(zip), Anywhere, CancellationToken.None);
        Assert.Equal("archive-bomb:expanded-size", verdict.Finding);
    }

    [Fact]
    public async Task Too_many_entries_is_a_bomb_finding()
    {
        var zip = ScanTestFiles.Zip([.. Enumerable.Range(0, 50).Select(i => ($"f{i}.txt", "x"u8.ToArray()))]);
        var verdict = await new ArchiveScanner(new ArchiveLimits { MaxEntries = 20 }).ScanAsync(ScanTestFiles.Subject("/a.zip", zip), ScanTestFiles.Opener(zip), Anywhere, CancellationToken.None);
        Assert.Equal("archive-bomb:entry-count", verdict.Finding);
    }

    [Fact]
    public async Task A_central_directory_listing_the_same_data_twice_is_an_overlap_bomb()
    {
        // Duplicate the central directory record (the shape of overlapping-file bombs) and fix the end record.
        var zip = ScanTestFiles.Zip(("a.txt", Encoding.ASCII.GetBytes(new string('a', 5000))));
        var cd = FindSignature(zip, 0x02014B50);
        var eocd = FindSignature(zip, 0x06054B50);
        var record = zip.AsSpan(cd, eocd - cd).ToArray();
        var end = zip.AsSpan(eocd).ToArray();
        BinaryPrimitives.WriteUInt16LittleEndian(end.AsSpan(8), 2);
        BinaryPrimitives.WriteUInt16LittleEndian(end.AsSpan(10), 2);
        BinaryPrimitives.WriteUInt32LittleEndian(end.AsSpan(12), (uint)(2 * record.Length));
        var overlapping = zip.AsSpan(0, cd).ToArray().Concat(record).Concat(record).Concat(end).ToArray();

        var verdict = await ScanAsync("/it/o.zip", overlapping, Anywhere);
        Assert.Equal("archive-bomb:overlapping-entries", verdict.Finding);
    }

    [Fact]
    public async Task A_corrupt_or_truncated_archive_is_malformed()
    {
        var zip = ScanTestFiles.Zip(("a.csv", ScanTestFiles.HistorianCsv(200_000)));
        var truncated = zip.AsSpan(0, zip.Length / 2).ToArray();
        var verdict = await ScanAsync("/it/t.zip", truncated, Anywhere);
        Assert.Equal(ScanOutcome.Infected, verdict.Outcome);
        Assert.Equal("archive-malformed", verdict.Finding);

        var flipped = (byte[])zip.Clone();
        flipped[200] ^= 0xFF;
        Assert.Equal("archive-malformed", (await ScanAsync("/it/f.zip", flipped, Anywhere)).Finding);

        var tar = ScanTestFiles.Tar(("a.txt", "x"u8.ToArray()));
        tar[10] ^= 0x01; // breaks the header checksum
        Assert.Equal("archive-malformed", (await ScanAsync("/it/x.tar", tar, Anywhere)).Finding);
    }

    [Fact]
    public async Task An_encrypted_entry_cannot_be_inspected_and_is_a_finding()
    {
        var zip = ScanTestFiles.Zip(("secret.txt", "x"u8.ToArray()));
        zip[6] |= 0x01; // local header: encrypted
        var cd = FindSignature(zip, 0x02014B50);
        zip[cd + 8] |= 0x01;
        Assert.Equal("archive-uninspectable:encrypted", (await ScanAsync("/it/e.zip", zip, Anywhere)).Finding);
    }

    [Fact]
    public async Task A_plain_tar_with_a_long_pax_name_is_walked()
    {
        var longName = string.Join('/', Enumerable.Repeat("very-long-directory-name", 8)) + "/payload.csv";
        var tar = ScanTestFiles.Tar(("ok.txt", "x"u8.ToArray()), (longName, ScanTestFiles.Elf()));
        var verdict = await ScanAsync("/it/a.tar", tar, Anywhere);
        Assert.Equal("type-mismatch:elf-as-csv", verdict.Finding);
        Assert.Contains(longName, verdict.Detail, StringComparison.Ordinal);
    }

    private static Task<ScanVerdict> ScanAsync(string path, byte[] content, AreaContentPolicy policy) =>
        new ArchiveScanner().ScanAsync(ScanTestFiles.Subject(path, content), ScanTestFiles.Opener(content), policy, CancellationToken.None);

    private static int FindSignature(byte[] zip, uint signature)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, signature);
        return zip.AsSpan().IndexOf(bytes);
    }
}
