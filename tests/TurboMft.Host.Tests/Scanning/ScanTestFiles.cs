using System.Buffers.Binary;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using TurboMft.Engine.Buffers;
using TurboMft.Engine.Container;
using TurboMft.Engine.Crypto;
using TurboMft.Engine.Datasets;
using TurboMft.Engine.Pipeline;
using TurboMft.Engine.Storage;
using TurboMft.Host.Scanning;

namespace TurboMft.Host.Tests.Scanning;

/// <summary>Small files of known types, archives (including bombs) built in memory, and containers, for the scanner tests.</summary>
internal static class ScanTestFiles
{
    /// <summary>The EICAR anti-virus test file (68 bytes).</summary>
    public const string EicarText = @"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

    public static byte[] Eicar => Encoding.ASCII.GetBytes(EicarText);

    /// <summary>A 64-bit little-endian ELF executable header followed by some code-like bytes.</summary>
    public static byte[] Elf(int length = 4096)
    {
        var bytes = new byte[length];
        new byte[] { 0x7F, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0 }.CopyTo(bytes, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(16), 2);    // ET_EXEC
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(18), 0x3E); // x86-64
        new Random(1).NextBytes(bytes.AsSpan(64));
        return bytes;
    }

    /// <summary>A PE executable: DOS header, e_lfanew = 0x80, "PE\0\0", a COFF header.</summary>
    public static byte[] Pe(int length = 4096)
    {
        var bytes = new byte[length];
        bytes[0] = (byte)'M';
        bytes[1] = (byte)'Z';
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(0x3C), 0x80);
        "PE\0\0"u8.CopyTo(bytes.AsSpan(0x80));
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(0x84), 0x8664);
        return bytes;
    }

    /// <summary>A DICOM Part 10 file: 128-byte preamble, "DICM", a group-2 length element, then pixel-like data.</summary>
    public static byte[] Dicom(int length = 8192)
    {
        var bytes = new byte[length];
        "DICM"u8.CopyTo(bytes.AsSpan(128));
        new byte[] { 0x02, 0x00, 0x00, 0x00, (byte)'U', (byte)'L', 0x04, 0x00, 0xC8, 0x00, 0x00, 0x00 }.CopyTo(bytes, 132);
        new Random(2).NextBytes(bytes.AsSpan(144));
        return bytes;
    }

    /// <summary>A historian CSV export (header, then timestamp,tag,value,quality lines).</summary>
    public static byte[] HistorianCsv(int length, long seed = 1)
    {
        var bytes = new byte[length];
        DatasetGenerator.Fill(DatasetKind.HistorianCsv, seed, 0, bytes);
        return bytes;
    }

    public static byte[] Zip(params (string Name, byte[] Content)[] entries) => Zip(streamed: false, entries);

    /// <summary>
    /// A zip built by <see cref="ZipArchive"/>; <paramref name="streamed"/> writes it to a non-seekable stream, so every entry
    /// carries its sizes in a data descriptor after the data (as streaming zip writers do).
    /// </summary>
    public static byte[] Zip(bool streamed, params (string Name, byte[] Content)[] entries)
    {
        var output = new MemoryStream();
        using (var archive = new ZipArchive(streamed ? new ForwardOnlyStream(output) : output, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                using var entry = archive.CreateEntry(name, content.Length > 100 ? CompressionLevel.Optimal : CompressionLevel.NoCompression).Open();
                entry.Write(content);
            }
        }

        return output.ToArray();
    }

    /// <summary>A zip with one entry of <paramref name="zeros"/> zero bytes, deflated (about 1000:1).</summary>
    public static byte[] ZipOfZeros(long zeros, string entryName = "zeros.bin")
    {
        var output = new MemoryStream();
        using (var archive = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            using var entry = archive.CreateEntry(entryName, CompressionLevel.SmallestSize).Open();
            var block = new byte[1 << 20];
            for (long written = 0; written < zeros; written += block.Length)
            {
                entry.Write(block, 0, (int)Math.Min(block.Length, zeros - written));
            }
        }

        return output.ToArray();
    }

    public static byte[] Gzip(byte[] content, string? originalName = null)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(content);
        }

        var bytes = output.ToArray();
        if (originalName is null)
        {
            return bytes;
        }

        // Insert FNAME after the 10-byte header (FLG bit 3).
        var name = Encoding.Latin1.GetBytes(originalName + "\0");
        var named = new byte[bytes.Length + name.Length];
        bytes.AsSpan(0, 10).CopyTo(named);
        named[3] |= 0x08;
        name.CopyTo(named, 10);
        bytes.AsSpan(10).CopyTo(named.AsSpan(10 + name.Length));
        return named;
    }

    public static byte[] Tar(params (string Name, byte[] Content)[] entries)
    {
        var output = new MemoryStream();
        using (var writer = new System.Formats.Tar.TarWriter(output, System.Formats.Tar.TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                writer.WriteEntry(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) });
            }
        }

        return output.ToArray();
    }

    public static ScanSubject Subject(string path, byte[] content) =>
        new(RemotePath.Parse(path), content.Length, "sha256-tree:" + new string('0', 64), Convert.ToHexStringLower(SHA256.HashData(content)));

    /// <summary>A subject whose whole-file SHA-256 is not known (the deny-list scanner hashes the stream).</summary>
    public static ScanSubject SubjectWithoutSha256(string path, long size) =>
        new(RemotePath.Parse(path), size, "sha256-tree:" + new string('0', 64), null);

    public static Func<Stream> Opener(byte[] content) => () => new MemoryStream(content, writable: false);

    /// <summary>A stream that can only be written forward, so ZipArchive writes data descriptors.</summary>
    private sealed class ForwardOnlyStream(Stream inner) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
    }
}

/// <summary>Containers packed with a test data key, opened as <see cref="ContainerPlaintextStream"/>s.</summary>
internal sealed class TestContainers : IDisposable
{
    private const int ChunkSize = 4 << 20;
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(DataKey.Size);

    // Shared like the server's ServerBuffers: streams rent their two chunk buffers here instead of allocating them.
    private readonly ChunkBufferPool _pool = new(ContainerFormat.BufferSizeFor(ChunkSize), 32);

    public TestContainers() => Directory = System.IO.Directory.CreateTempSubdirectory("tmf-scan-").FullName;

    public string Directory { get; }

    public DataKeyResolver Resolver => (_, _) => DataKey.FromBytes(_key);

    public async Task<string> PackAsync(string name, byte[] content) => await PackFileAsync(name, await WriteAsync(name + ".src", content), deleteSource: true);

    public async Task<string> PackDatasetAsync(string name, DatasetKind kind, long length)
    {
        var source = Path.Combine(Directory, name + ".src");
        await DatasetGenerator.WriteFileAsync(source, kind, length);
        return await PackFileAsync(name, source, deleteSource: true);
    }

    public Func<Stream> Opener(string container) => () => ContainerPlaintextStream.Open(container, Resolver, _pool);

    /// <summary>Chunk buffers rented by open streams.</summary>
    public int BuffersInUse => _pool.InFlight;

    public void Dispose()
    {
        _pool.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task<string> WriteAsync(string name, byte[] content)
    {
        var path = Path.Combine(Directory, name);
        await File.WriteAllBytesAsync(path, content);
        return path;
    }

    private async Task<string> PackFileAsync(string name, string source, bool deleteSource)
    {
        var container = Path.Combine(Directory, name + ".tmf");
        using var key = DataKey.FromBytes(_key);
        await ContainerPacker.PackAsync(source, container, key, RandomNumberGenerator.GetBytes(ContainerFormat.WrappedKeySize), Guid.NewGuid(), new PipelineOptions { ChunkSize = ChunkSize });
        if (deleteSource)
        {
            File.Delete(source);
        }

        return container;
    }
}
