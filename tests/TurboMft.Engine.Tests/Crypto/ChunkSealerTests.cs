using System.Buffers.Binary;
using System.Security.Cryptography;
using TurboMft.Engine.Compression;
using TurboMft.Engine.Crypto;
using TurboMft.Engine.Integrity;

namespace TurboMft.Engine.Tests.Crypto;

public class ChunkSealerTests
{
    private static readonly Guid FileId = new("00112233-4455-6677-8899-aabbccddeeff");

    public static TheoryData<string> Tamperings =>
    [
        "ciphertext bit",
        "tag bit",
        "nonce bit",
        "truncated ciphertext",
        "other chunk index",
        "other file id",
        "other plain length",
        "other plain crc",
        "other encoding",
        "wrong key",
    ];

    [Fact]
    public void Seal_then_TryOpen_round_trips()
    {
        using var key = DataKey.Generate();
        using var sealer = new ChunkSealer(key, FileId);
        var plaintext = RandomNumberGenerator.GetBytes(4096 + 7);
        var record = new ChunkRecordInfo(5, ChunkEncoding.Raw, plaintext.Length, ChunkCrc.Compute(plaintext));
        var ciphertext = new byte[plaintext.Length];
        var nonce = new byte[ChunkSealer.NonceSize];
        var tag = new byte[ChunkSealer.TagSize];

        sealer.Seal(record, plaintext, ciphertext, nonce, tag);
        var opened = new byte[ciphertext.Length];

        Assert.NotEqual(plaintext, ciphertext);
        Assert.True(sealer.TryOpen(record, nonce, ciphertext, tag, opened));
        Assert.Equal(plaintext, opened);
    }

    [Fact]
    public void Seal_in_place_round_trips()
    {
        using var key = DataKey.Generate();
        using var sealer = new ChunkSealer(key, FileId);
        var plaintext = RandomNumberGenerator.GetBytes(1000);
        var buffer = plaintext.ToArray();
        var record = new ChunkRecordInfo(0, ChunkEncoding.Raw, plaintext.Length, ChunkCrc.Compute(plaintext));
        var nonce = new byte[ChunkSealer.NonceSize];
        var tag = new byte[ChunkSealer.TagSize];

        sealer.Seal(record, buffer, buffer, nonce, tag);
        Assert.NotEqual(plaintext, buffer);
        Assert.True(sealer.TryOpen(record, nonce, buffer, tag, buffer));

        Assert.Equal(plaintext, buffer);
    }

    [Fact]
    public void Two_seals_of_the_same_chunk_use_different_nonces()
    {
        using var key = DataKey.Generate();
        using var sealer = new ChunkSealer(key, FileId);
        var plaintext = new byte[64];
        var record = new ChunkRecordInfo(0, ChunkEncoding.Raw, plaintext.Length, ChunkCrc.Compute(plaintext));
        var (nonce1, ciphertext1) = (new byte[12], new byte[64]);
        var (nonce2, ciphertext2) = (new byte[12], new byte[64]);

        sealer.Seal(record, plaintext, ciphertext1, nonce1, new byte[16]);
        sealer.Seal(record, plaintext, ciphertext2, nonce2, new byte[16]);

        Assert.NotEqual(nonce1, nonce2);
        Assert.NotEqual(ciphertext1, ciphertext2);
    }

    [Fact]
    public void Sealed_record_decrypts_with_raw_AesGcm_and_the_documented_associated_data()
    {
        using var key = DataKey.Generate();
        using var sealer = new ChunkSealer(key, FileId);
        var plaintext = RandomNumberGenerator.GetBytes(333);
        var stored = RandomNumberGenerator.GetBytes(300); // stands in for an LZ4 block: stored length differs from plain length
        var record = new ChunkRecordInfo(0x0102030405060708, ChunkEncoding.Lz4, plaintext.Length, 0x1122334455667788);
        var ciphertext = new byte[stored.Length];
        var nonce = new byte[ChunkSealer.NonceSize];
        var tag = new byte[ChunkSealer.TagSize];
        sealer.Seal(record, stored, ciphertext, nonce, tag);

        // "tmfrec01" ‖ file id (RFC 4122 byte order) ‖ i64le index ‖ u8 encoding ‖ i32le plain length ‖ i32le stored length ‖ u64le plain CRC
        var aad = new byte[49];
        "tmfrec01"u8.CopyTo(aad);
        Convert.FromHexString("00112233445566778899aabbccddeeff").CopyTo(aad, 8);
        BinaryPrimitives.WriteInt64LittleEndian(aad.AsSpan(24), 0x0102030405060708);
        aad[32] = 1;
        BinaryPrimitives.WriteInt32LittleEndian(aad.AsSpan(33), 333);
        BinaryPrimitives.WriteInt32LittleEndian(aad.AsSpan(37), 300);
        BinaryPrimitives.WriteUInt64LittleEndian(aad.AsSpan(41), 0x1122334455667788);
        using var aes = new AesGcm(key.Bytes, 16);
        var decrypted = new byte[ciphertext.Length];

        aes.Decrypt(nonce, ciphertext, tag, decrypted, aad);

        Assert.Equal(ChunkSealer.AssociatedDataSize, aad.Length);
        Assert.Equal(stored, decrypted);
    }

    [Theory]
    [MemberData(nameof(Tamperings))]
    public void TryOpen_rejects_a_tampered_or_misplaced_record_and_zeroes_the_output(string tampering)
    {
        using var key = DataKey.Generate();
        using var sealer = new ChunkSealer(key, FileId);
        var plaintext = RandomNumberGenerator.GetBytes(1024);
        var record = new ChunkRecordInfo(7, ChunkEncoding.Raw, plaintext.Length, ChunkCrc.Compute(plaintext));
        var ciphertext = new byte[plaintext.Length];
        var nonce = new byte[ChunkSealer.NonceSize];
        var tag = new byte[ChunkSealer.TagSize];
        sealer.Seal(record, plaintext, ciphertext, nonce, tag);

        using var otherKey = DataKey.Generate();
        using var otherFileSealer = new ChunkSealer(key, Guid.NewGuid());
        using var otherKeySealer = new ChunkSealer(otherKey, FileId);
        var opener = sealer;
        var stored = ciphertext.AsSpan();
        switch (tampering)
        {
            case "ciphertext bit":
                ciphertext[500] ^= 0x10;
                break;
            case "tag bit":
                tag[15] ^= 0x80;
                break;
            case "nonce bit":
                nonce[0] ^= 0x01;
                break;
            case "truncated ciphertext":
                stored = stored[..^1];
                break;
            case "other chunk index":
                record = record with { Index = 8 };
                break;
            case "other file id":
                opener = otherFileSealer;
                break;
            case "other plain length":
                record = record with { PlainLength = 1023 };
                break;
            case "other plain crc":
                record = record with { PlainCrc64 = record.PlainCrc64 ^ 1 };
                break;
            case "other encoding":
                record = record with { Encoding = ChunkEncoding.Lz4 };
                break;
            case "wrong key":
                opener = otherKeySealer;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(tampering), tampering, null);
        }

        var output = new byte[stored.Length];
        output.AsSpan().Fill(0xAA);

        Assert.False(opener.TryOpen(record, nonce, stored, tag, output));
        Assert.True(output.All(b => b == 0), "the output must be zeroed when authentication fails");
    }
}
