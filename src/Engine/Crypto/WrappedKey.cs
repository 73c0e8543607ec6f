using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace TurboMft.Engine.Crypto;

/// <summary>
/// A file's data key sealed under a master key: the key id, then nonce(12) ‖ AES-256-GCM ciphertext(32) ‖ tag(16).
/// Byte layout and associated data in docs/format.md, "Wrapped data key".
/// </summary>
public readonly struct WrappedKey : IEquatable<WrappedKey>
{
    /// <summary>Length of the sealed blob: nonce, encrypted data key and tag.</summary>
    public const int BlobSize = NonceSize + DataKey.Size + TagSize;

    /// <summary>Length of the binary form written by <see cref="WriteTo"/>: the 8 key id bytes, then the blob.</summary>
    public const int BinarySize = MasterKey.IdSize + BlobSize;

    /// <summary>Nonce length in bytes.</summary>
    public const int NonceSize = 12;

    /// <summary>Authentication tag length in bytes.</summary>
    public const int TagSize = 16;

    private readonly Bytes68 _bytes;

    /// <summary>Assembles a wrapped key from its key id (16 lowercase hex digits) and its 60-byte blob.</summary>
    public WrappedKey(string keyId, ReadOnlySpan<byte> blob)
    {
        ArgumentNullException.ThrowIfNull(keyId);
        if (!MasterKey.IsKeyId(keyId))
        {
            throw new ArgumentException($"'{keyId}' is not a master key id; expected 16 lowercase hex digits.", nameof(keyId));
        }

        if (blob.Length != BlobSize)
        {
            throw new ArgumentException($"A wrapped key blob is {BlobSize} bytes, not {blob.Length}.", nameof(blob));
        }

        Convert.FromHexString(keyId, _bytes, out _, out _);
        blob.CopyTo(((Span<byte>)_bytes)[MasterKey.IdSize..]);
    }

    private WrappedKey(ReadOnlySpan<byte> binary)
    {
        binary.CopyTo(_bytes);
    }

    /// <summary>The id of the master key that wrapped the data key (16 lowercase hex digits).</summary>
    public string KeyId => Convert.ToHexStringLower(KeyIdBytes);

    /// <summary>The 8 key id bytes.</summary>
    [UnscopedRef]
    public ReadOnlySpan<byte> KeyIdBytes => ((ReadOnlySpan<byte>)_bytes)[..MasterKey.IdSize];

    /// <summary>The 60-byte blob: nonce ‖ ciphertext ‖ tag.</summary>
    [UnscopedRef]
    public ReadOnlySpan<byte> Blob => ((ReadOnlySpan<byte>)_bytes)[MasterKey.IdSize..];

    /// <summary>The nonce part of the blob.</summary>
    [UnscopedRef]
    public ReadOnlySpan<byte> Nonce => Blob[..NonceSize];

    /// <summary>The encrypted data key part of the blob.</summary>
    [UnscopedRef]
    public ReadOnlySpan<byte> Ciphertext => Blob.Slice(NonceSize, DataKey.Size);

    /// <summary>The authentication tag part of the blob.</summary>
    [UnscopedRef]
    public ReadOnlySpan<byte> Tag => Blob[(NonceSize + DataKey.Size)..];

    /// <summary>Writes the fixed <see cref="BinarySize"/>-byte binary form (key id bytes, then blob), as embedded in a container header.</summary>
    public void WriteTo(Span<byte> destination)
    {
        if (destination.Length < BinarySize)
        {
            throw new ArgumentException($"A wrapped key needs {BinarySize} bytes; the destination has {destination.Length}.", nameof(destination));
        }

        ((ReadOnlySpan<byte>)_bytes).CopyTo(destination);
    }

    /// <summary>Reads the first <see cref="BinarySize"/> bytes of <paramref name="source"/> written by <see cref="WriteTo"/>.</summary>
    public static WrappedKey Read(ReadOnlySpan<byte> source)
    {
        if (source.Length < BinarySize)
        {
            throw new ArgumentException($"A wrapped key is {BinarySize} bytes; only {source.Length} were given.", nameof(source));
        }

        return new WrappedKey(source[..BinarySize]);
    }

    /// <inheritdoc />
    public bool Equals(WrappedKey other) => CryptographicOperations.FixedTimeEquals(_bytes, other._bytes);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is WrappedKey other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => BitConverter.ToInt32(Blob);

    /// <summary>Names the master key only; the blob is not shown.</summary>
    public override string ToString() => $"data key wrapped under master key {KeyId}";

    /// <summary>Equality.</summary>
    public static bool operator ==(WrappedKey left, WrappedKey right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(WrappedKey left, WrappedKey right) => !left.Equals(right);

    [InlineArray(BinarySize)]
    private struct Bytes68
    {
        private byte _element0;
    }
}
