using System.Runtime.Versioning;
using System.Security.Cryptography;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Tests.Audit;

[UnsupportedOSPlatform("windows")]
public class AuditKeyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tmf-auditkey-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_created_key_file_is_owner_only_loads_back_and_is_never_overwritten()
    {
        var path = Path.Combine(_dir, "audit.key");
        AuditKey.CreateKeyFile(path);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        using var first = AuditKey.LoadKeyFile(path);
        using var second = AuditKey.LoadKeyFile(path);
        Assert.Equal(first.Mac("x"u8), second.Mac("x"u8));
        Assert.DoesNotContain(Convert.ToBase64String(first.Mac("x"u8)), first.ToString(), StringComparison.Ordinal);
        Assert.ThrowsAny<IOException>(() => AuditKey.CreateKeyFile(path));
    }

    [Fact]
    public void A_key_file_others_can_read_is_refused_with_the_fix()
    {
        var path = Path.Combine(_dir, "audit.key");
        AuditKey.CreateKeyFile(path);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        var refused = Assert.Throws<AuditKeyException>(() => AuditKey.LoadKeyFile(path));
        Assert.Contains($"chmod 600 {path}", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_without_exactly_one_32_byte_key_line_is_refused()
    {
        var path = Path.Combine(_dir, "bad.key");
        File.WriteAllText(path, "# comment\n" + Convert.ToBase64String(new byte[16]) + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.Contains("not a key file", Assert.Throws<AuditKeyException>(() => AuditKey.LoadKeyFile(path)).Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", Assert.Throws<AuditKeyException>(() => AuditKey.LoadKeyFile(Path.Combine(_dir, "none.key"))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_environment_variable_holds_base64_of_32_bytes()
    {
        var variable = $"TMF_TEST_AUDIT_KEY_{Guid.NewGuid():N}";
        var bytes = RandomNumberGenerator.GetBytes(32);
        Assert.Null(AuditKey.FromEnvironment(variable));
        Environment.SetEnvironmentVariable(variable, Convert.ToBase64String(bytes) + "\n");
        try
        {
            using var key = AuditKey.FromEnvironment(variable)!;
            using var expected = AuditKey.FromBytes(bytes);
            Assert.Equal(expected.Mac("x"u8), key.Mac("x"u8));
            Environment.SetEnvironmentVariable(variable, Convert.ToBase64String(bytes[..31]));
            var refused = Assert.Throws<AuditKeyException>(() => AuditKey.FromEnvironment(variable));
            Assert.Contains(variable, refused.Message, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Fact]
    public void The_data_directory_creates_the_audit_key_beside_the_master_key_on_first_open()
    {
        var root = Path.Combine(_dir, "data");
        var first = DataDirectory.Open(root);
        if (Environment.GetEnvironmentVariable(AuditKey.EnvironmentVariable) is null)
        {
            Assert.Contains("audit key", first.Created);
            Assert.Equal(Path.Combine(root, "keys", "audit.key"), first.AuditKeyPath);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(first.AuditKeyPath));
        }

        Assert.DoesNotContain("audit key", DataDirectory.Open(root).Created);
        using var key = first.LoadAuditKey();
        Assert.Equal(Path.Combine(root, "audit"), first.AuditPath);
        Assert.Throws<DirectoryNotFoundException>(() => DataDirectory.OpenExisting(Path.Combine(_dir, "nothing-here")));
        Assert.Equal(first.Root, DataDirectory.OpenExisting(root).Root);
    }
}
