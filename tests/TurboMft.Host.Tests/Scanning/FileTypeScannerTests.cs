using System.Buffers.Binary;
using System.Text;
using TurboMft.Engine.Storage;
using TurboMft.Host.Metadata;
using TurboMft.Host.Scanning;

namespace TurboMft.Host.Tests.Scanning;

public class FileTypeScannerTests
{
    private static readonly AreaContentPolicy Ot = new(RemotePath.Parse("/ot"), DenyTypes: ["pe", "elf", "macho", "script"]);
    private static readonly AreaContentPolicy Anywhere = new(RemotePath.Root);

    public static TheoryData<string, byte[]> KnownFiles => new()
    {
        { FileTypes.Elf, ScanTestFiles.Elf() },
        { FileTypes.Pe, ScanTestFiles.Pe() },
        { FileTypes.MachO, [0xCF, 0xFA, 0xED, 0xFE, 7, 0, 0, 1, 3, 0, 0, 0] },
        { FileTypes.MachO, [0xCA, 0xFE, 0xBA, 0xBE, 0, 0, 0, 2, 1, 2, 3, 4] },
        { FileTypes.Binary, [0xCA, 0xFE, 0xBA, 0xBE, 0, 0, 0, 52, 1, 2, 3, 4] }, // a Java class file, not a universal binary
        { FileTypes.Script, Encoding.ASCII.GetBytes("#!/bin/sh\nrm -rf /tmp/x\n") },
        { FileTypes.Zip, ScanTestFiles.Zip(("a.txt", "hello"u8.ToArray())) },
        { FileTypes.Gzip, ScanTestFiles.Gzip("hello"u8.ToArray()) },
        { FileTypes.Tar, ScanTestFiles.Tar(("a.txt", "hello"u8.ToArray())) },
        { FileTypes.SevenZip, [0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C, 0, 4] },
        { FileTypes.Rar, Encoding.ASCII.GetBytes("Rar!\x1A\x07\x01\x00rest") },
        { FileTypes.Pdf, Encoding.ASCII.GetBytes("%PDF-1.7\n%\u00e2\u00e3\n1 0 obj\n") },
        { FileTypes.Png, [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13] },
        { FileTypes.Jpeg, [0xFF, 0xD8, 0xFF, 0xE0, 0, 16, (byte)'J', (byte)'F', (byte)'I', (byte)'F'] },
        { FileTypes.Tiff, Encoding.ASCII.GetBytes("II*\0\x08\0\0\0") },
        { FileTypes.Dicom, ScanTestFiles.Dicom() },
        { FileTypes.Ole2, [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0] },
        { FileTypes.Xml, Encoding.UTF8.GetBytes("\uFEFF<?xml version=\"1.0\"?>\n<plant><unit id=\"1\"/></plant>\n") },
        { FileTypes.Json, Encoding.UTF8.GetBytes("{\"plant\": \"P1\", \"tags\": [\"TT-101\", \"PT-7\"], \"ok\": true}\n") },
        { FileTypes.Csv, ScanTestFiles.HistorianCsv(64 * 1024) },
        { FileTypes.Csv, Encoding.UTF8.GetBytes("Zeit;Messstelle;Wert\n2026-01-01;\"TT;101\";12,5\n2026-01-02;TT-102;13,0\n") },
        { FileTypes.Text, Encoding.UTF8.GetBytes("Schichtbuch: Anlage läuft, keine Störung.\nNächste Wartung: Montag.\n") },
        { FileTypes.Empty, [] },
        { FileTypes.Binary, TestBytes.Random(10_000) },
    };

    [Theory]
    [MemberData(nameof(KnownFiles))]
    public async Task Detects_the_type_from_content(string expected, byte[] content)
    {
        Assert.Equal(expected, await FileTypeDetector.DetectAsync(new MemoryStream(content), CancellationToken.None));
        var verdict = await new FileTypeScanner().ScanAsync(ScanTestFiles.Subject("/any/file.bin", content), ScanTestFiles.Opener(content), Anywhere, CancellationToken.None);
        Assert.Equal(ScanOutcome.Clean, verdict.Outcome);
        Assert.Equal($"detected {expected}", verdict.Detail);
    }

    [Fact]
    public void A_utf8_character_cut_at_the_end_of_the_head_is_still_text_but_not_at_the_end_of_the_file()
    {
        var text = Encoding.UTF8.GetBytes(new string('ä', 9000));
        Assert.Equal(FileTypes.Text, FileTypeDetector.Detect(text.AsSpan(0, 16383), complete: false));
        Assert.Equal(FileTypes.Binary, FileTypeDetector.Detect(text.AsSpan(0, 16383), complete: true));
    }

    [Fact]
    public void A_pe_dicom_polyglot_is_a_pe()
    {
        // CVE-2019-11687: the DOS header sits in the DICOM preamble and the PE header after the DICOM prefix.
        var polyglot = ScanTestFiles.Dicom(8192);
        polyglot[0] = (byte)'M';
        polyglot[1] = (byte)'Z';
        BinaryPrimitives.WriteInt32LittleEndian(polyglot.AsSpan(0x3C), 0x400);
        "PE\0\0"u8.CopyTo(polyglot.AsSpan(0x400));
        Assert.Equal(FileTypes.Dicom, FileTypeDetector.Detect(ScanTestFiles.Dicom(8192), complete: true));
        Assert.Equal(FileTypes.Pe, FileTypeDetector.Detect(polyglot, complete: true));
    }

    [Fact]
    public void Mz_without_a_pe_header_in_the_head_is_not_a_pe()
    {
        Assert.Equal(FileTypes.Text, FileTypeDetector.Detect("MZ,1,2,3\nMZ,4,5,6\nMZ,7,8,9\nMZ,0,1,2\nand some more text so that the head is longer than a DOS header\n"u8, complete: true));
    }

    [Fact]
    public async Task An_elf_named_csv_is_a_type_mismatch_in_every_area()
    {
        var elf = ScanTestFiles.Elf();
        foreach (var policy in new[] { Anywhere, Ot })
        {
            var verdict = await ScanAsync("/ot/plant1/x.csv", elf, policy);
            Assert.Equal(ScanOutcome.Infected, verdict.Outcome);
            Assert.Equal("type-mismatch:elf-as-csv", verdict.Finding);
            Assert.Equal("file-type", verdict.Scanner);
            Assert.Contains("x.csv", verdict.Detail, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("setup.pdf", "type-mismatch:pe-as-pdf")]
    [InlineData("scan.DCM", "type-mismatch:pe-as-dcm")]
    [InlineData("photo.jpeg", "type-mismatch:pe-as-jpeg")]
    [InlineData("bundle.zip", "type-mismatch:pe-as-zip")]
    public async Task An_executable_under_any_data_extension_is_a_mismatch(string name, string finding)
    {
        var verdict = await ScanAsync("/it/" + name, ScanTestFiles.Pe(), Anywhere);
        Assert.Equal(finding, verdict.Finding);
    }

    [Fact]
    public async Task A_script_named_txt_is_a_mismatch()
    {
        var verdict = await ScanAsync("/it/readme.txt", "#!/usr/bin/env python3\nimport os\n"u8.ToArray(), Anywhere);
        Assert.Equal("type-mismatch:script-as-txt", verdict.Finding);
    }

    [Fact]
    public async Task A_pe_in_an_area_denying_pe_is_type_denied_and_clean_elsewhere()
    {
        var pe = ScanTestFiles.Pe();
        var denied = await ScanAsync("/ot/plant1/tool.exe", pe, Ot);
        Assert.Equal(ScanOutcome.Infected, denied.Outcome);
        Assert.Equal("type-denied:pe", denied.Finding);
        Assert.Contains("/ot", denied.Detail, StringComparison.Ordinal);

        Assert.Equal(ScanOutcome.Clean, (await ScanAsync("/it/tool.exe", pe, Anywhere)).Outcome);
    }

    [Fact]
    public async Task An_allow_list_admits_only_its_types()
    {
        var imaging = new AreaContentPolicy(RemotePath.Parse("/imaging"), AllowTypes: ["dicom", "zip"]);
        Assert.Equal(ScanOutcome.Clean, (await ScanAsync("/imaging/ct/1.dcm", ScanTestFiles.Dicom(), imaging)).Outcome);
        Assert.Equal(ScanOutcome.Clean, (await ScanAsync("/imaging/ct/study.zip", ScanTestFiles.Zip(("1.dcm", ScanTestFiles.Dicom())), imaging)).Outcome);

        var csv = await ScanAsync("/imaging/ct/notes.csv", ScanTestFiles.HistorianCsv(4096), imaging);
        Assert.Equal(ScanOutcome.Infected, csv.Outcome);
        Assert.Equal("type-not-allowed:csv", csv.Finding);
        Assert.Contains("dicom, zip", csv.Detail, StringComparison.Ordinal);

        // A DICOM file named .txt is not an executable: the allow list decides, not the name.
        Assert.Equal(ScanOutcome.Clean, (await ScanAsync("/imaging/ct/1.txt", ScanTestFiles.Dicom(), imaging)).Outcome);
    }

    [Fact]
    public async Task The_scanner_reads_only_the_head_of_a_large_file()
    {
        var stream = new CountingReadStream(new MemoryStream(ScanTestFiles.HistorianCsv(4 << 20)));
        var verdict = await new FileTypeScanner().ScanAsync(ScanTestFiles.SubjectWithoutSha256("/ot/h.csv", 4 << 20), () => stream, Ot, CancellationToken.None);
        Assert.Equal(ScanOutcome.Clean, verdict.Outcome);
        Assert.True(stream.BytesRead <= 2 * FileTypeDetector.HeadLength, $"read {stream.BytesRead} bytes");
    }

    private static Task<ScanVerdict> ScanAsync(string path, byte[] content, AreaContentPolicy policy) =>
        new FileTypeScanner().ScanAsync(ScanTestFiles.Subject(path, content), ScanTestFiles.Opener(content), policy, CancellationToken.None);
}

/// <summary>Deterministic bytes for tests.</summary>
internal static class TestBytes
{
    public static byte[] Random(int length, int seed = 42)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}

/// <summary>Counts what a scanner actually reads.</summary>
internal sealed class CountingReadStream(Stream inner) : Stream
{
    public long BytesRead { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => inner.Length;

    public override long Position { get => inner.Position; set => throw new NotSupportedException(); }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        var read = inner.Read(buffer, offset, count);
        BytesRead += read;
        return read;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken);
        BytesRead += read;
        return read;
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
