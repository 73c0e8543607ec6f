using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace TurboMft.Engine.Crypto;

/// <summary>
/// A node master key (KEK): 256 bits that wrap the per-file data keys, held in pinned memory and zeroed on dispose.
/// Its public name is <see cref="Id"/> (docs/format.md, "Master key file").
/// </summary>
public sealed class MasterKey : IDisposable
{
    /// <summary>Key length in bytes.</summary>
    public const int Size = 32;

    /// <summary>Length in bytes of a key id; its text form is twice as many lowercase hex digits.</summary>
    public const int IdSize = 8;

    private readonly byte[] _key = GC.AllocateArray<byte>(Size, pinned: true);
    private readonly byte[] _id = new byte[IdSize];
    private bool _disposed;

    private MasterKey(ReadOnlySpan<byte> key)
    {
        key.CopyTo(_key);
        ComputeId(_key, _id);
        Id = Convert.ToHexStringLower(_id);
    }

    /// <summary>The domain-separation prefix hashed before the key bytes to derive the key id.</summary>
    public static ReadOnlySpan<byte> IdDomainTag => "tmf-kek-id-v1"u8;

    /// <summary>The key id: 16 lowercase hex digits, the first 8 bytes of SHA-256("tmf-kek-id-v1" ‖ key).</summary>
    public string Id { get; }

    /// <summary>The 8 key id bytes, as embedded in wrapped keys.</summary>
    public ReadOnlySpan<byte> IdBytes => _id;

    internal ReadOnlySpan<byte> Bytes
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _key;
        }
    }

    /// <summary>A fresh random key from the OS CSPRNG.</summary>
    public static MasterKey Generate()
    {
        Span<byte> key = stackalloc byte[Size];
        try
        {
            RandomNumberGenerator.Fill(key);
            return new MasterKey(key);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>Copies existing key bytes (for example decoded from a key file).</summary>
    public static MasterKey FromBytes(ReadOnlySpan<byte> key)
    {
        if (key.Length != Size)
        {
            throw new ArgumentException($"A master key is {Size} bytes.", nameof(key));
        }

        return new MasterKey(key);
    }

    /// <summary>Writes the 8 key id bytes of <paramref name="key"/> to <paramref name="id"/>.</summary>
    public static void ComputeId(ReadOnlySpan<byte> key, Span<byte> id)
    {
        if (key.Length != Size)
        {
            throw new ArgumentException($"A master key is {Size} bytes.", nameof(key));
        }

        // The hash input holds the key, so it lives on the stack and is wiped.
        Span<byte> input = stackalloc byte[IdDomainTag.Length + Size];
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        IdDomainTag.CopyTo(input);
        key.CopyTo(input[IdDomainTag.Length..]);
        SHA256.HashData(input, hash);
        CryptographicOperations.ZeroMemory(input);
        hash[..IdSize].CopyTo(id);
    }

    /// <summary>True when <paramref name="text"/> has the form of a key id: 16 lowercase hex digits.</summary>
    public static bool IsKeyId(ReadOnlySpan<char> text)
    {
        if (text.Length != 2 * IdSize)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The key id only; never the key.</summary>
    public override string ToString() => $"master key {Id}";

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_disposed)
        {
            CryptographicOperations.ZeroMemory(MemoryMarshal.CreateSpan(ref _key[0], Size));
            _disposed = true;
        }
    }
}
