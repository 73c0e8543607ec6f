using System.Runtime.Versioning;
using System.Security.Cryptography;
using TurboMft.Engine.Crypto;

namespace TurboMft.Engine.Tests.Crypto;

public sealed class KeyRingTests : IDisposable
{
    private const UnixFileMode Mode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode Mode0644 = Mode0600 | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("tmf-keyring-");

    private string KeyFile => Path.Combine(_directory.FullName, "master.key");

    public void Dispose() => _directory.Delete(recursive: true);

    [Fact]
    public void CreateKeyFile_then_LoadKeyFile_gives_the_same_key()
    {
        using var created = KeyRing.CreateKeyFile(KeyFile);
        using var loaded = KeyRing.LoadKeyFile(KeyFile);
        using var dek = DataKey.Generate();
        var fileId = Guid.NewGuid();

        var wrapped = created.Wrap(dek, fileId);
        using var unwrapped = loaded.Unwrap(wrapped, fileId);

        Assert.Equal(created.ActiveKeyId, loaded.ActiveKeyId);
        Assert.Equal([created.ActiveKeyId], loaded.KeyIds);
        Assert.Equal(dek.Bytes.ToArray(), unwrapped.Bytes.ToArray());
    }

    [Fact]
    [UnsupportedOSPlatform("windows")]
    public void CreateKeyFile_creates_the_file_with_mode_0600()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix file modes only");

        using var ring = KeyRing.CreateKeyFile(KeyFile);

        Assert.Equal(Mode0600, File.GetUnixFileMode(KeyFile));
        Assert.Empty(_directory.GetFiles("*.tmp", new EnumerationOptions { AttributesToSkip = 0 }));
    }

    [Fact]
    public void CreateKeyFile_writes_the_documented_line_format()
    {
        using var ring = KeyRing.CreateKeyFile(KeyFile);

        var keyLines = File.ReadAllLines(KeyFile).Where(l => !l.StartsWith('#')).ToArray();

        var fields = Assert.Single(keyLines).Split(' ');
        Assert.Equal(3, fields.Length);
        Assert.Equal("tmf-kek-v1", fields[0]);
        Assert.Equal(ring.ActiveKeyId, fields[1]);
        var key = Convert.FromBase64String(fields[2]);
        Assert.Equal(32, key.Length);
        Assert.Equal(ring.ActiveKeyId, Convert.ToHexStringLower(SHA256.HashData([.. "tmf-kek-id-v1"u8, .. key])[..8]));
    }

    [Fact]
    public void CreateKeyFile_refuses_to_overwrite_an_existing_file()
    {
        File.WriteAllText(KeyFile, "precious");

        var error = Assert.Throws<KeyFileException>(() => KeyRing.CreateKeyFile(KeyFile));

        Assert.Equal(KeyFile, error.FilePath);
        Assert.Contains("already exists", error.Message, StringComparison.Ordinal);
        Assert.Equal("precious", File.ReadAllText(KeyFile));
    }

    [Fact]
    public void Wrap_then_Unwrap_returns_the_data_key()
    {
        using var ring = KeyRing.Ephemeral();
        using var dek = DataKey.Generate();
        var fileId = Guid.NewGuid();

        var wrapped = ring.Wrap(dek, fileId);
        using var unwrapped = ring.Unwrap(wrapped, fileId);

        Assert.Equal(ring.ActiveKeyId, wrapped.KeyId);
        Assert.Equal(dek.Bytes.ToArray(), unwrapped.Bytes.ToArray());
        Assert.NotEqual(dek.Bytes.ToArray(), wrapped.Ciphertext.ToArray());
    }

    [Fact]
    public void Wrapping_the_same_key_twice_uses_fresh_nonces()
    {
        using var ring = KeyRing.Ephemeral();
        using var dek = DataKey.Generate();
        var fileId = Guid.NewGuid();

        Assert.NotEqual(ring.Wrap(dek, fileId), ring.Wrap(dek, fileId));
    }

    [Fact]
    public void Unwrap_with_another_ring_names_the_key_id_and_file_id()
    {
        using var ring = KeyRing.Ephemeral();
        using var other = KeyRing.Ephemeral();
        using var dek = DataKey.Generate();
        var fileId = Guid.NewGuid();
        var wrapped = ring.Wrap(dek, fileId);

        var error = Assert.Throws<KeyUnwrapException>(() => other.Unwrap(wrapped, fileId));

        Assert.Equal(ring.ActiveKeyId, error.KeyId);
        Assert.Equal(fileId, error.FileId);
        Assert.Contains($"key id {ring.ActiveKeyId} is not in this node's key ring", error.Message, StringComparison.Ordinal);
        Assert.Contains(fileId.ToString(), error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)] // nonce
    [InlineData(11)]
    [InlineData(12)] // encrypted data key
    [InlineData(43)]
    [InlineData(44)] // tag
    [InlineData(59)]
    public void Unwrap_of_a_tampered_blob_fails(int blobOffset)
    {
        using var ring = KeyRing.Ephemeral();
        using var dek = DataKey.Generate();
        var fileId = Guid.NewGuid();
        var binary = new byte[WrappedKey.BinarySize];
        ring.Wrap(dek, fileId).WriteTo(binary);
        binary[MasterKey.IdSize + blobOffset] ^= 0x01;

        var error = Assert.Throws<KeyUnwrapException>(() => ring.Unwrap(WrappedKey.Read(binary), fileId));

        Assert.Contains("wrong master key or tampered wrapped key", error.Message, StringComparison.Ordinal);
        Assert.Equal(fileId, error.FileId);
    }

    [Fact]
    public void Unwrap_for_another_file_fails()
    {
        using var ring = KeyRing.Ephemeral();
        using var dek = DataKey.Generate();
        var wrapped = ring.Wrap(dek, Guid.NewGuid());
        var otherFile = Guid.NewGuid();

        var error = Assert.Throws<KeyUnwrapException>(() => ring.Unwrap(wrapped, otherFile));

        Assert.Equal(otherFile, error.FileId);
        Assert.Contains("tampered", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unwrap_of_a_blob_relabelled_with_another_key_id_of_the_ring_fails()
    {
        using var ring = KeyRing.CreateKeyFile(KeyFile);
        using var dek = DataKey.Generate();
        var fileId = Guid.NewGuid();
        var wrapped = ring.Wrap(dek, fileId);
        var newId = ring.Rotate(KeyFile);

        var relabelled = new WrappedKey(newId, wrapped.Blob);

        Assert.Throws<KeyUnwrapException>(() => ring.Unwrap(relabelled, fileId));
    }

    [Fact]
    public void Rotate_keeps_old_wrapped_keys_readable_and_Rewrap_moves_them_to_the_new_key()
    {
        using var ring = KeyRing.CreateKeyFile(KeyFile);
        var oldId = ring.ActiveKeyId;
        using var dek = DataKey.Generate();
        var fileId = Guid.NewGuid();
        var oldWrapped = ring.Wrap(dek, fileId);

        var newId = ring.Rotate(KeyFile);

        Assert.NotEqual(oldId, newId);
        Assert.Equal(newId, ring.ActiveKeyId);
        Assert.Equal([oldId, newId], ring.KeyIds);
        using (var fromOld = ring.Unwrap(oldWrapped, fileId))
        {
            Assert.Equal(dek.Bytes.ToArray(), fromOld.Bytes.ToArray());
        }

        var rewrapped = ring.Rewrap(oldWrapped, fileId);
        Assert.Equal(newId, rewrapped.KeyId);
        Assert.Equal(rewrapped, ring.Rewrap(rewrapped, fileId));

        using var reloaded = KeyRing.LoadKeyFile(KeyFile);
        Assert.Equal([oldId, newId], reloaded.KeyIds);
        Assert.Equal(newId, reloaded.ActiveKeyId);
        using var fromNew = reloaded.Unwrap(rewrapped, fileId);
        Assert.Equal(dek.Bytes.ToArray(), fromNew.Bytes.ToArray());
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(Mode0600, File.GetUnixFileMode(KeyFile));
        }
    }

    [Fact]
    public void Rotate_refuses_a_key_file_that_gained_keys_since_it_was_loaded()
    {
        using var stale = KeyRing.CreateKeyFile(KeyFile);
        using var fresh = KeyRing.LoadKeyFile(KeyFile);
        var addedElsewhere = fresh.Rotate(KeyFile);

        var error = Assert.Throws<KeyFileException>(() => stale.Rotate(KeyFile));

        Assert.Contains(addedElsewhere, error.Message, StringComparison.Ordinal);
        using var onDisk = KeyRing.LoadKeyFile(KeyFile);
        Assert.Equal(fresh.KeyIds, onDisk.KeyIds);
    }

    [Fact]
    public void Rotate_of_an_environment_ring_writes_a_new_key_file_holding_both_keys()
    {
        using var ring = KeyRing.Ephemeral();
        var oldId = ring.ActiveKeyId;

        var newId = ring.Rotate(KeyFile);

        using var loaded = KeyRing.LoadKeyFile(KeyFile);
        Assert.Equal([oldId, newId], loaded.KeyIds);
    }

    [Fact]
    [UnsupportedOSPlatform("windows")]
    public void LoadKeyFile_refuses_a_file_readable_by_group_and_others()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix file modes only");
        KeyRing.CreateKeyFile(KeyFile).Dispose();
        File.SetUnixFileMode(KeyFile, Mode0644);

        var error = Assert.Throws<KeyFileException>(() => KeyRing.LoadKeyFile(KeyFile));

        Assert.Equal(KeyFile, error.FilePath);
        Assert.Contains($"chmod 600 {KeyFile}", error.Message, StringComparison.Ordinal);
        Assert.Contains("0644", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadKeyFile_of_a_missing_file_says_how_to_create_one()
    {
        var error = Assert.Throws<KeyFileException>(() => KeyRing.LoadKeyFile(KeyFile));

        Assert.Equal(KeyFile, error.FilePath);
        Assert.Contains($"master key file {KeyFile} not found", error.Message, StringComparison.Ordinal);
        Assert.Contains("turbomft keys init", error.Message, StringComparison.Ordinal);
        Assert.Contains("TURBOMFT_MASTER_KEY", error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> MalformedLines => new()
    {
        // case, replacement for the third line ({0} = a valid id, {1} = its valid base64 key)
        { "unknown prefix", "tmf-key-v1 {0} {1}" },
        { "future version", "tmf-kek-v2 {0} {1}" },
        { "missing key", "tmf-kek-v1 {0}" },
        { "extra field", "tmf-kek-v1 {0} {1} extra" },
        { "uppercase id", "tmf-kek-v1 {2} {1}" },
        { "short id", "tmf-kek-v1 0123 {1}" },
        { "not base64", "tmf-kek-v1 {0} !!!!{1}" },
        { "short key", "tmf-kek-v1 {0} AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==" },
        { "id of another key", "tmf-kek-v1 0000000000000000 {1}" },
        { "duplicate line", "tmf-kek-v1 {0} {1}" },
    };

    [Theory]
    [MemberData(nameof(MalformedLines))]
    public void LoadKeyFile_names_the_malformed_line_and_never_the_key(string name, string badLine)
    {
        KeyRing.CreateKeyFile(KeyFile).Dispose();
        var valid = File.ReadAllLines(KeyFile).Single(l => l.StartsWith("tmf-kek-v1", StringComparison.Ordinal)).Split(' ');
        var text = $"# master key\n{string.Join(' ', valid)}\n{string.Format(System.Globalization.CultureInfo.InvariantCulture, badLine, valid[1], valid[2], valid[1].ToUpperInvariant())}\n";
        WriteOwnerOnly(KeyFile, text);

        var error = Assert.Throws<KeyFileException>(() => KeyRing.LoadKeyFile(KeyFile));

        Assert.Equal((name, 3), (name, error.LineNumber));
        Assert.Contains($"master key file {KeyFile}, line 3:", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(valid[2], error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadKeyFile_accepts_comments_blank_lines_crlf_and_extra_spaces_and_takes_the_last_key_as_active()
    {
        using var first = KeyRing.CreateKeyFile(KeyFile);
        var firstLine = File.ReadAllLines(KeyFile).Single(l => l.StartsWith("tmf-kek-v1", StringComparison.Ordinal));
        File.Delete(KeyFile);
        using var second = KeyRing.CreateKeyFile(KeyFile);
        var secondLine = File.ReadAllLines(KeyFile).Single(l => l.StartsWith("tmf-kek-v1", StringComparison.Ordinal));
        WriteOwnerOnly(KeyFile, $"# retired 2025\r\n\r\n  {firstLine.Replace(" ", "  \t", StringComparison.Ordinal)}  \r\n# active\r\n{secondLine}");

        using var ring = KeyRing.LoadKeyFile(KeyFile);

        Assert.Equal([first.ActiveKeyId, second.ActiveKeyId], ring.KeyIds);
        Assert.Equal(second.ActiveKeyId, ring.ActiveKeyId);
    }

    [Fact]
    public void LoadKeyFile_of_a_file_without_keys_fails()
    {
        WriteOwnerOnly(KeyFile, "# nothing here\n\n");

        var error = Assert.Throws<KeyFileException>(() => KeyRing.LoadKeyFile(KeyFile));

        Assert.Contains("holds no keys", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadKeyFile_of_an_empty_file_points_to_an_interrupted_init()
    {
        WriteOwnerOnly(KeyFile, "");

        var error = Assert.Throws<KeyFileException>(() => KeyRing.LoadKeyFile(KeyFile));

        Assert.Contains("is empty", error.Message, StringComparison.Ordinal);
        Assert.Contains("turbomft keys init", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CreateKeyFile_in_a_missing_directory_fails_and_leaves_nothing_behind()
    {
        var path = Path.Combine(_directory.FullName, "missing", "master.key");

        var error = Assert.Throws<KeyFileException>(() => KeyRing.CreateKeyFile(path));

        Assert.Equal(path, error.FilePath);
        Assert.Contains("cannot write master key file", error.Message, StringComparison.Ordinal);
        Assert.Empty(_directory.GetFileSystemInfos());
    }

    [Fact]
    public void FromEnvironment_round_trips_a_base64_key()
    {
        var variable = UniqueVariable();
        var key = RandomNumberGenerator.GetBytes(32);
        Environment.SetEnvironmentVariable(variable, Convert.ToBase64String(key) + "\n");
        try
        {
            using var ring = KeyRing.FromEnvironment(variable);
            using var again = KeyRing.FromEnvironment(variable);
            using var dek = DataKey.Generate();
            var fileId = Guid.NewGuid();
            var expectedId = new byte[8];
            MasterKey.ComputeId(key, expectedId);

            Assert.NotNull(ring);
            Assert.NotNull(again);
            Assert.Equal(Convert.ToHexStringLower(expectedId), ring.ActiveKeyId);
            using var unwrapped = again.Unwrap(ring.Wrap(dek, fileId), fileId);
            Assert.Equal(dek.Bytes.ToArray(), unwrapped.Bytes.ToArray());
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Fact]
    public void FromEnvironment_of_an_unset_variable_is_null()
    {
        Assert.Null(KeyRing.FromEnvironment(UniqueVariable()));
    }

    [Theory]
    [InlineData("AAECAwQFBgcICQoLDA0ODw==")] // 16 bytes
    [InlineData("not base64 at all")]
    [InlineData("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==")] // 64 bytes
    public void FromEnvironment_of_a_malformed_value_names_the_variable_but_not_the_value(string value)
    {
        var variable = UniqueVariable();
        Environment.SetEnvironmentVariable(variable, value);
        try
        {
            var error = Assert.Throws<MasterKeyException>(() => KeyRing.FromEnvironment(variable));

            Assert.Contains(variable, error.Message, StringComparison.Ordinal);
            Assert.Contains("base64 of exactly 32", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(value, error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Fact]
    public void Key_id_matches_the_documented_vector()
    {
        using var zero = MasterKey.FromBytes(new byte[32]);
        using var counting = MasterKey.FromBytes(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray());

        Assert.Equal("f63e65ad559d2a2f", zero.Id);
        Assert.Equal("4e061198e4f2f161", counting.Id);
    }

    [Fact]
    public void Wrap_matches_the_documented_vector()
    {
        // KEK 00..1f, DEK 20..3f, nonce a0..ab, file 00112233-4455-6677-8899-aabbccddeeff (docs/format.md, "Wrapped data key").
        using var ring = KeyRing.FromKeys(MasterKey.FromBytes(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray()));
        using var dek = DataKey.FromBytes(Enumerable.Range(0x20, 32).Select(i => (byte)i).ToArray());
        var nonce = Enumerable.Range(0xa0, 12).Select(i => (byte)i).ToArray();
        var fileId = new Guid("00112233-4455-6677-8899-aabbccddeeff");
        var binary = new byte[WrappedKey.BinarySize];

        ring.Wrap(dek, fileId, nonce).WriteTo(binary);

        Assert.Equal(
            "4e061198e4f2f161" + "a0a1a2a3a4a5a6a7a8a9aaab" +
            "c6395e0e61ee24984a4cadf82b57eef1409d6b23a682745ba4371cbd43964b3e" + "56e03b40ea4be1ef533c8786693c60da",
            Convert.ToHexStringLower(binary));
        using var unwrapped = ring.Unwrap(WrappedKey.Read(binary), fileId);
        Assert.Equal(dek.Bytes.ToArray(), unwrapped.Bytes.ToArray());
    }

    [Fact]
    public void Dispose_zeroes_the_master_keys_and_closes_the_ring()
    {
        var key = MasterKey.Generate();
        var bytes = key.Bytes;
        var ring = KeyRing.FromKeys(key);
        Assert.True(bytes.IndexOfAnyExcept((byte)0) >= 0);

        ring.Dispose();

        Assert.True(bytes.IndexOfAnyExcept((byte)0) < 0, "key bytes must be zero after dispose");
        Assert.Throws<ObjectDisposedException>(() => ring.ActiveKeyId);
        using var dek = DataKey.Generate();
        Assert.Throws<ObjectDisposedException>(() => ring.Wrap(dek, Guid.NewGuid()));
    }

    [Fact]
    public void ToString_shows_key_ids_only()
    {
        KeyRing.CreateKeyFile(KeyFile).Dispose();
        var base64Key = File.ReadAllLines(KeyFile).Single(l => l.StartsWith("tmf-kek-v1", StringComparison.Ordinal)).Split(' ')[2];
        using var ring = KeyRing.LoadKeyFile(KeyFile);
        using var dek = DataKey.Generate();

        Assert.Contains(ring.ActiveKeyId, ring.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(base64Key, ring.ToString(), StringComparison.Ordinal);
        Assert.Equal($"data key wrapped under master key {ring.ActiveKeyId}", ring.Wrap(dek, Guid.NewGuid()).ToString());
    }

    private static string UniqueVariable() => $"TMF_TEST_MASTER_KEY_{Guid.NewGuid():N}";

    private static void WriteOwnerOnly(string path, string text)
    {
        File.WriteAllText(path, text);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, Mode0600);
        }
    }
}
