using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using TurboMft.Engine.Crypto;

namespace TurboMft.Host.Access;

/// <summary>
/// Seals and opens the API token this node presents to a peer that does not use mTLS (docs/security.md, "Peer
/// credentials"): a fresh data key per token, wrapped by the master key ring (so key rotation keeps it readable), and
/// AES-256-GCM over the token bound to the peer's name. The token is never stored or logged in clear.
/// </summary>
/// <remarks>Layout: version byte 1 ‖ 16-byte id ‖ wrapped key ‖ 12-byte nonce ‖ 16-byte tag ‖ ciphertext.</remarks>
public sealed class PeerSecrets(KeyRing keys)
{
    private const byte Version = 1;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const int HeaderSize = 1 + 16 + WrappedKey.BinarySize + NonceSize + TagSize;

    /// <summary>Seals <paramref name="token"/> for peer <paramref name="peer"/>.</summary>
    public byte[] Seal(string peer, string token)
    {
        ArgumentNullException.ThrowIfNull(peer);
        ArgumentException.ThrowIfNullOrEmpty(token);
        var id = Guid.NewGuid();
        using var key = DataKey.Generate();
        var plain = Encoding.UTF8.GetBytes(token);
        var sealedBytes = new byte[HeaderSize + plain.Length];
        sealedBytes[0] = Version;
        id.TryWriteBytes(sealedBytes.AsSpan(1, 16));
        keys.Wrap(key, id).WriteTo(sealedBytes.AsSpan(17, WrappedKey.BinarySize));
        var nonce = sealedBytes.AsSpan(17 + WrappedKey.BinarySize, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key.Bytes, TagSize);
        aes.Encrypt(nonce, plain, sealedBytes.AsSpan(HeaderSize), sealedBytes.AsSpan(17 + WrappedKey.BinarySize + NonceSize, TagSize), AssociatedData(peer));
        CryptographicOperations.ZeroMemory(plain);
        return sealedBytes;
    }

    /// <summary>Opens a token sealed for <paramref name="peer"/>.</summary>
    /// <exception cref="CryptographicException">The blob was altered, belongs to another peer, or its master key is gone.</exception>
    public string Open(string peer, byte[] sealedToken)
    {
        ArgumentNullException.ThrowIfNull(peer);
        ArgumentNullException.ThrowIfNull(sealedToken);
        if (sealedToken.Length <= HeaderSize || sealedToken[0] != Version)
        {
            throw new CryptographicException($"The stored token of peer '{peer}' is not a sealed token this build reads.");
        }

        var id = new Guid(sealedToken.AsSpan(1, 16));
        using var key = keys.Unwrap(WrappedKey.Read(sealedToken.AsSpan(17, WrappedKey.BinarySize)), id);
        var plain = new byte[sealedToken.Length - HeaderSize];
        using var aes = new AesGcm(key.Bytes, TagSize);
        aes.Decrypt(sealedToken.AsSpan(17 + WrappedKey.BinarySize, NonceSize), sealedToken.AsSpan(HeaderSize), sealedToken.AsSpan(17 + WrappedKey.BinarySize + NonceSize, TagSize), plain, AssociatedData(peer));
        var token = Encoding.UTF8.GetString(plain);
        CryptographicOperations.ZeroMemory(plain);
        return token;
    }

    private static byte[] AssociatedData(string peer)
    {
        var name = Encoding.UTF8.GetBytes(peer);
        var data = new byte[17 + 4 + name.Length];
        "tmf-peer-token-v1"u8.CopyTo(data);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(17), name.Length);
        name.CopyTo(data.AsSpan(21));
        return data;
    }
}
