using System.Security.Cryptography;

namespace TurboMft.Engine.Tests.Crypto;

// Test cases 13-16 (256-bit key, 96-bit IV) of McGrew & Viega, "The Galois/Counter Mode of Operation", the GCM
// specification that NIST SP 800-38D adopts.
public class AesGcmKnownAnswerTests
{
    private const string SpecKey = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
    private const string SpecIv = "cafebabefacedbaddecaf888";
    private const string SpecPlaintext60 =
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" +
        "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";

    private const string SpecCiphertext60 =
        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa" +
        "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662";

    public static TheoryData<string, string, string, string, string, string, string> Vectors => new()
    {
        // name, key, iv, aad, plaintext, ciphertext, tag
        { "13", new string('0', 64), new string('0', 24), "", "", "", "530f8afbc74536b9a963b4f1c4cb738b" },
        { "14", new string('0', 64), new string('0', 24), "", new string('0', 32), "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919" },
        { "15", SpecKey, SpecIv, "", SpecPlaintext60 + "1aafd255", SpecCiphertext60 + "898015ad", "b094dac5d93471bdec1a502270e3cc6c" },
        { "16", SpecKey, SpecIv, "feedfacedeadbeeffeedfacedeadbeefabaddad2", SpecPlaintext60, SpecCiphertext60, "76fc6ece0f4e1768cddf8853bb2d551b" },
    };

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Encrypt_matches_gcm_spec_test_case(string name, string key, string iv, string aad, string plaintext, string ciphertext, string tag)
    {
        using var aes = new AesGcm(Convert.FromHexString(key), 16);
        var actualCiphertext = new byte[plaintext.Length / 2];
        var actualTag = new byte[16];

        aes.Encrypt(Convert.FromHexString(iv), Convert.FromHexString(plaintext), actualCiphertext, actualTag, Convert.FromHexString(aad));

        // The case name rides along so a failure says which case.
        Assert.Equal((name, ciphertext, tag), (name, Convert.ToHexStringLower(actualCiphertext), Convert.ToHexStringLower(actualTag)));
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Decrypt_recovers_gcm_spec_plaintext(string name, string key, string iv, string aad, string plaintext, string ciphertext, string tag)
    {
        using var aes = new AesGcm(Convert.FromHexString(key), 16);
        var actual = new byte[ciphertext.Length / 2];

        aes.Decrypt(Convert.FromHexString(iv), Convert.FromHexString(ciphertext), Convert.FromHexString(tag), actual, Convert.FromHexString(aad));

        Assert.Equal((name, plaintext), (name, Convert.ToHexStringLower(actual)));
    }

    [Fact]
    public void Decrypt_of_test_case_16_with_altered_aad_fails_authentication()
    {
        using var aes = new AesGcm(Convert.FromHexString(SpecKey), 16);
        var aad = Convert.FromHexString("feedfacedeadbeeffeedfacedeadbeefabaddad2");
        aad[^1] ^= 1;
        var plaintext = new byte[SpecCiphertext60.Length / 2];

        Assert.Throws<AuthenticationTagMismatchException>(() => aes.Decrypt(
            Convert.FromHexString(SpecIv),
            Convert.FromHexString(SpecCiphertext60),
            Convert.FromHexString("76fc6ece0f4e1768cddf8853bb2d551b"),
            plaintext,
            aad));
    }
}
