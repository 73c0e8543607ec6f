using System.Diagnostics;
using TurboMft.Engine.Native;

namespace TurboMft.Engine.Tests.Native;

public sealed class FileHintsTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Sequential_and_DontNeed_are_taken_on_Linux()
    {
        var path = _temp.File("data.bin");
        File.WriteAllBytes(path, new byte[1 << 20]);
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);

        Assert.Equal(OperatingSystem.IsLinux(), FileHints.Sequential(handle));
        Assert.Equal(OperatingSystem.IsLinux(), FileHints.DontNeed(handle, 0, 0));
        Assert.Equal(OperatingSystem.IsLinux(), FileHints.DontNeed(handle, 4096, 65536));
    }

    [Fact]
    public void DontNeed_rejects_negative_ranges()
    {
        using var handle = File.OpenHandle(_temp.File("x.bin"), FileMode.Create, FileAccess.ReadWrite);

        Assert.Throws<ArgumentOutOfRangeException>(() => FileHints.DontNeed(handle, -1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => FileHints.DontNeed(handle, 0, -1));
    }

    [Fact]
    public void TryPreallocate_grows_the_length_and_the_allocated_blocks()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Linux only");
        const long length = 8L << 20;
        var path = _temp.File("reserved.bin");
        using (var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite))
        {
            Assert.Equal(0, AllocatedBytes(path));

            Assert.True(FileHints.TryPreallocate(handle, length));

            Assert.Equal(length, RandomAccess.GetLength(handle));
        }

        Assert.Equal(length, new FileInfo(path).Length);
        Assert.True(AllocatedBytes(path) >= length, $"allocated {AllocatedBytes(path)} bytes, expected at least {length}");
        Assert.All(File.ReadAllBytes(path), b => Assert.Equal(0, b));
    }

    [Fact]
    public void TryPreallocate_never_shrinks_a_file()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Linux only");
        var path = _temp.File("longer.bin");
        File.WriteAllBytes(path, new byte[100_000]);
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);

        Assert.True(FileHints.TryPreallocate(handle, 10));

        Assert.Equal(100_000, RandomAccess.GetLength(handle));
    }

    [Fact]
    public void TryPreallocate_returns_false_where_the_file_cannot_be_preallocated()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Linux only");
        using var handle = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.Write);

        Assert.False(FileHints.TryPreallocate(handle, 4096));
    }

    [Fact]
    public void TryPreallocate_rejects_non_positive_lengths()
    {
        using var handle = File.OpenHandle(_temp.File("y.bin"), FileMode.Create, FileAccess.ReadWrite);

        Assert.Throws<ArgumentOutOfRangeException>(() => FileHints.TryPreallocate(handle, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => FileHints.TryPreallocate(handle, -5));
    }

    [Fact]
    public void Closed_handles_are_refused()
    {
        var handle = File.OpenHandle(_temp.File("z.bin"), FileMode.Create, FileAccess.ReadWrite);
        handle.Dispose();

        Assert.Throws<ObjectDisposedException>(() => FileHints.Sequential(handle));
    }

    [Fact]
    public void Disk_full_message_names_the_file_and_the_size()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Linux only");
        var path = _temp.File("full.bin");
        using var handle = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite);

        // ENOSPC cannot be provoked safely on a shared disk, so the message is checked from the parts TryPreallocate uses.
        var error = new DiskFullException(FileHints.DescribeHandle(handle), 12345, 28);

        Assert.Equal($"disk full: could not reserve 12345 bytes for {path}", error.Message);
        Assert.Equal(path, error.Path);
        Assert.Equal(12345, error.RequestedBytes);
        Assert.IsAssignableFrom<IOException>(error);
    }

    private static long AllocatedBytes(string path)
    {
        // stat(1) reports allocated 512-byte blocks, independently of the file length.
        using var stat = Process.Start(new ProcessStartInfo("stat", ["-c", "%b %B", path]) { RedirectStandardOutput = true })!;
        var output = stat.StandardOutput.ReadToEnd().Split(' ', StringSplitOptions.TrimEntries);
        stat.WaitForExit();
        Assert.Equal(0, stat.ExitCode);
        return long.Parse(output[0], System.Globalization.CultureInfo.InvariantCulture)
            * long.Parse(output[1], System.Globalization.CultureInfo.InvariantCulture);
    }
}
