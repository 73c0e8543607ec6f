using TurboMft.Engine.Crypto;

namespace TurboMft.Engine.Tests.Crypto;

public class WrappedKeyTests
{
    [Fact]
    public void Sizes_match_the_container_header_layout()
    {
        Assert.Equal(60, WrappedKey.BlobSize);
        Assert.Equal(68, WrappedKey.BinarySize);
    }

    [Fact]
    public void WriteTo_then_Read_round_trips_with_the_key_id_first()
    {
        using var ring = KeyRing.Ephemeral();
        using var dek = DataKey.Generate();
        var wrapped = ring.Wrap(dek, Guid.NewGuid());
        var binary = new byte[WrappedKey.BinarySize + 5];

        wrapped.WriteTo(binary);
        var read = WrappedKey.Read(binary);

        Assert.Equal(wrapped, read);
        Assert.Equal(ring.ActiveKeyId, Convert.ToHexStringLower(binary.AsSpan(0, 8)));
        Assert.Equal(wrapped.Blob.ToArray(), binary.AsSpan(8, 60).ToArray());
        Assert.Equal(wrapped.Nonce.ToArray(), binary.AsSpan(8, 12).ToArray());
        Assert.Equal(wrapped.Tag.ToArray(), binary.AsSpan(52, 16).ToArray());
        Assert.All(binary[WrappedKey.BinarySize..], b => Assert.Equal(0, b));
    }

    [Fact]
    public void Read_and_WriteTo_refuse_short_spans()
    {
        var wrapped = new WrappedKey("0123456789abcdef", new byte[WrappedKey.BlobSize]);

        Assert.Throws<ArgumentException>(() => WrappedKey.Read(new byte[WrappedKey.BinarySize - 1]));
        Assert.Throws<ArgumentException>(() => wrapped.WriteTo(new byte[WrappedKey.BinarySize - 1]));
    }

    [Theory]
    [InlineData("0123456789ABCDEF")]
    [InlineData("0123456789abcde")]
    [InlineData("0123456789abcdeg")]
    public void Constructor_refuses_a_malformed_key_id(string keyId)
    {
        Assert.Throws<ArgumentException>(() => new WrappedKey(keyId, new byte[WrappedKey.BlobSize]));
    }

    [Fact]
    public void Constructor_refuses_a_blob_of_the_wrong_size()
    {
        Assert.Throws<ArgumentException>(() => new WrappedKey("0123456789abcdef", new byte[WrappedKey.BlobSize - 1]));
    }

    [Fact]
    public void Equality_covers_key_id_and_every_blob_byte()
    {
        var blob = new byte[WrappedKey.BlobSize];
        var a = new WrappedKey("0123456789abcdef", blob);
        blob[59] = 1;
        var b = new WrappedKey("0123456789abcdef", blob);
        var c = new WrappedKey("0123456789abcdee", new byte[WrappedKey.BlobSize]);

        Assert.Equal(a, new WrappedKey("0123456789abcdef", new byte[WrappedKey.BlobSize]));
        Assert.NotEqual(a, b);
        Assert.NotEqual(a, c);
        Assert.True(a != b);
        Assert.Equal("0123456789abcdef", a.KeyId);
    }
}
