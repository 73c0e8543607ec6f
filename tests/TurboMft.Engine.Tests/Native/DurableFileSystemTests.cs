using System.Runtime.Versioning;
using TurboMft.Engine.Native;

namespace TurboMft.Engine.Tests.Native;

public sealed class DurableFileSystemTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void FlushDirectory_closes_the_descriptor_it_opens()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Linux only");
        var before = Directory.GetFiles("/proc/self/fd").Length;

        for (var i = 0; i < 200; i++)
        {
            DurableFileSystem.FlushDirectory(_temp.Path);
        }

        // Other tests open files concurrently, so allow slack but not one descriptor per call.
        Assert.InRange(Directory.GetFiles("/proc/self/fd").Length, 0, before + 50);
    }

    [Fact]
    public void FlushDirectory_of_a_missing_directory_names_it()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Linux only");
        var missing = _temp.File("no-such-dir");

        var error = Assert.Throws<DirectoryNotFoundException>(() => DurableFileSystem.FlushDirectory(missing));

        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FlushDirectory_of_a_file_names_it()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Linux only");
        var file = _temp.File("plain.txt");
        File.WriteAllText(file, "x");

        var error = Assert.ThrowsAny<IOException>(() => DurableFileSystem.FlushDirectory(file));

        Assert.Contains(file, error.Message, StringComparison.Ordinal);
        Assert.Contains("not a directory", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryMoveNoReplace_moves_to_a_free_name()
    {
        var source = _temp.File("a.part");
        var destination = _temp.File("a.obj");
        File.WriteAllText(source, "payload");

        Assert.True(DurableFileSystem.TryMoveNoReplace(source, destination));

        Assert.False(File.Exists(source));
        Assert.Equal("payload", File.ReadAllText(destination));
    }

    [Fact]
    public void TryMoveNoReplace_never_replaces_an_existing_file()
    {
        var source = _temp.File("b.part");
        var destination = _temp.File("b.obj");
        File.WriteAllText(source, "new");
        File.WriteAllText(destination, "old");

        Assert.False(DurableFileSystem.TryMoveNoReplace(source, destination));

        Assert.Equal("new", File.ReadAllText(source));
        Assert.Equal("old", File.ReadAllText(destination));
    }

    [Fact]
    public void TryMoveNoReplace_of_a_missing_source_names_it()
    {
        var source = _temp.File("missing.part");

        var error = Assert.Throws<FileNotFoundException>(() => DurableFileSystem.TryMoveNoReplace(source, _temp.File("c.obj")));

        Assert.Contains(source, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Link_fallback_refuses_an_existing_name_and_moves_to_a_free_one()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Linux only");
        var source = _temp.File("d.part");
        var taken = _temp.File("d.taken");
        var free = _temp.File("d.free");
        File.WriteAllText(source, "new");
        File.WriteAllText(taken, "old");

        Assert.Equal(17, DurableFileSystem.LinkThenUnlink(source, taken)); // EEXIST
        Assert.Equal("old", File.ReadAllText(taken));
        Assert.Equal(0, DurableFileSystem.LinkThenUnlink(source, free));

        Assert.False(File.Exists(source));
        Assert.Equal("new", File.ReadAllText(free));
    }

    [Fact]
    [UnsupportedOSPlatform("windows")]
    public void SetOwnerOnly_gives_mode_0600()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix modes only");
        var path = _temp.File("key");
        File.WriteAllText(path, "secret");
        File.SetUnixFileMode(path, (UnixFileMode)0b110_100_100);

        DurableFileSystem.SetOwnerOnly(path);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.True(DurableFileSystem.IsOwnerOnly(path));
    }

    [Theory]
    [InlineData(0b110_100_100, false)] // 0644
    [InlineData(0b110_110_000, false)] // 0660
    [InlineData(0b110_000_001, false)] // 0601
    [InlineData(0b110_000_000, true)] // 0600
    [InlineData(0b100_000_000, true)] // 0400
    [InlineData(0b111_000_000, true)] // 0700
    [UnsupportedOSPlatform("windows")]
    public void IsOwnerOnly_detects_group_and_other_bits(int mode, bool ownerOnly)
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix modes only");
        var path = _temp.File("token");
        File.WriteAllText(path, "t");
        File.SetUnixFileMode(path, (UnixFileMode)mode);

        Assert.Equal(ownerOnly, DurableFileSystem.IsOwnerOnly(path));
    }

    [Fact]
    [UnsupportedOSPlatform("windows")]
    public void CreateOwnerOnly_creates_a_0600_file_and_never_replaces_one()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix modes only");
        var path = _temp.File("master.key");
        using (var stream = DurableFileSystem.CreateOwnerOnly(path))
        {
            stream.Write("key"u8);
        }

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Throws<IOException>(() => DurableFileSystem.CreateOwnerOnly(path).Dispose());
        Assert.Equal("key", File.ReadAllText(path));
    }
}
