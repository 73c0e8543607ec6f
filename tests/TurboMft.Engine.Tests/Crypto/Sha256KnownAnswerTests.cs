using System.Security.Cryptography;

namespace TurboMft.Engine.Tests.Crypto;

// The SHA-256 examples of FIPS 180-4 (NIST "Cryptographic Standards and Guidelines: Examples with Intermediate Values").
public class Sha256KnownAnswerTests
{
    [Fact]
    public void Sha256_of_abc()
    {
        Assert.Equal(
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            Convert.ToHexStringLower(SHA256.HashData("abc"u8)));
    }

    [Fact]
    public void Sha256_of_448_bit_message_spanning_two_blocks()
    {
        Assert.Equal(
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
            Convert.ToHexStringLower(SHA256.HashData("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"u8)));
    }

    [Fact]
    public void Sha256_of_one_million_a()
    {
        var message = new byte[1_000_000];
        message.AsSpan().Fill((byte)'a');

        Assert.Equal(
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
            Convert.ToHexStringLower(SHA256.HashData(message)));
    }

    [Fact]
    public void Sha256_of_one_million_a_fed_in_uneven_pieces_matches_one_shot()
    {
        var message = new byte[1_000_000];
        message.AsSpan().Fill((byte)'a');
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (var offset = 0; offset < message.Length; offset += 999)
        {
            hash.AppendData(message.AsSpan(offset, Math.Min(999, message.Length - offset)));
        }

        Assert.Equal(
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
            Convert.ToHexStringLower(hash.GetHashAndReset()));
    }
}
