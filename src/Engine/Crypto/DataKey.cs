using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace TurboMft.Engine.Crypto;

/// <summary>A 256-bit AES data key (DEK) for one file, held in pinned memory and zeroed on dispose.</summary>
public sealed class DataKey : IDisposable
{
    /// <summary>Key length in bytes.</summary>
    public const int Size = 32;

    private readonly byte[] _key = GC.AllocateArray<byte>(Size, pinned: true);
    private bool _disposed;

    private DataKey()
    {
    }

    /// <summary>A fresh random key from the OS CSPRNG.</summary>
    public static DataKey Generate()
    {
        var key = new DataKey();
        RandomNumberGenerator.Fill(key._key);
        return key;
    }

    /// <summary>Copies existing key bytes (for example just unwrapped).</summary>
    public static DataKey FromBytes(ReadOnlySpan<byte> key)
    {
        if (key.Length != Size)
        {
            throw new ArgumentException($"A data key is {Size} bytes.", nameof(key));
        }

        var dataKey = new DataKey();
        key.CopyTo(dataKey._key);
        return dataKey;
    }

    /// <summary>The key bytes; valid until disposed.</summary>
    public ReadOnlySpan<byte> Bytes
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _key;
        }
    }

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
