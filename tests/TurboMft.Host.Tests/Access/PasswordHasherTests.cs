using System.Text;
using TurboMft.Host.Access;

namespace TurboMft.Host.Tests.Access;

public sealed class PasswordHasherTests
{
    // PBKDF2-HMAC-SHA256 vectors: RFC 7914 §11 (64-byte outputs) and the RFC 6070-style set published for SHA-256
    // (cross-checked with Python's hashlib.pbkdf2_hmac).
    [Theory]
    [InlineData("passwd", "salt", 1, "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783")]
    [InlineData("Password", "NaCl", 80000, "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d")]
    [InlineData("password", "salt", 1, "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b")]
    [InlineData("password", "salt", 2, "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43")]
    [InlineData("password", "salt", 4096, "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a")]
    [InlineData("passwordPASSWORDpassword", "saltSALTsaltSALTsaltSALTsaltSALTsalt", 4096, "348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1c635518c7dac47e9")]
    [InlineData("pass\0word", "sa\0lt", 4096, "89b69d0516f829893c696226650a8687")]
    public void Derive_matches_known_answers(string password, string salt, int iterations, string expectedHex)
    {
        var derived = PasswordHasher.Derive(Encoding.UTF8.GetBytes(password), Encoding.UTF8.GetBytes(salt), iterations, expectedHex.Length / 2);

        Assert.Equal(expectedHex, Convert.ToHexStringLower(derived));
    }

    [Fact]
    public void Hash_uses_at_least_600000_iterations_a_16_byte_salt_and_a_32_byte_result()
    {
        var hash = PasswordHasher.Hash("correct horse battery staple");

        Assert.True(PasswordHasher.DefaultIterations >= 600_000);
        Assert.Equal(PasswordHasher.DefaultIterations, hash.Iterations);
        Assert.Equal(16, hash.Salt.Length);
        Assert.Equal(32, hash.Hash.Length);
        Assert.Equal(
            Convert.ToHexStringLower(PasswordHasher.Derive(Encoding.UTF8.GetBytes("correct horse battery staple"), hash.Salt, hash.Iterations, 32)),
            Convert.ToHexStringLower(hash.Hash));
    }

    [Fact]
    public void Verify_accepts_the_password_and_its_other_unicode_spelling_and_rejects_others()
    {
        var hash = PasswordHasher.Hash("caf\u00e9-password-1");

        Assert.True(PasswordHasher.Verify("caf\u00e9-password-1", hash));
        Assert.True(PasswordHasher.Verify("cafe\u0301-password-1", hash));
        Assert.False(PasswordHasher.Verify("caf\u00e9-password-2", hash));
    }

    [Fact]
    public void Two_hashes_of_one_password_differ_by_salt()
    {
        var a = PasswordHasher.Hash("same password here");
        var b = PasswordHasher.Hash("same password here");

        Assert.NotEqual(a.Salt, b.Salt);
        Assert.NotEqual(a.Hash, b.Hash);
    }

    [Theory]
    [InlineData("short")]
    [InlineData("elevenchars")]
    public void Short_passwords_are_refused(string password)
    {
        var error = Assert.Throws<AccessException>(() => PasswordHasher.Hash(password));

        Assert.Equal(AccessError.InvalidRequest, error.Error);
        Assert.Contains("12", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_unicode_is_refused_as_a_new_password_and_never_matches()
    {
        var hash = PasswordHasher.Hash("a valid password");

        Assert.Equal(AccessError.InvalidRequest, Assert.Throws<AccessException>(() => PasswordHasher.Hash("lone surrogate \ud800 here")).Error);
        Assert.False(PasswordHasher.Verify("a valid password\ud800", hash));
    }

    [Fact]
    public void Fewer_than_600000_iterations_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PasswordHasher.Hash("long enough password", 100_000));
    }
}
