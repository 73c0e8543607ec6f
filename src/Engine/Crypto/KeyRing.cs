using System.Security.Cryptography;

namespace TurboMft.Engine.Crypto;

/// <summary>
/// The node's master keys (KEKs): one active key that wraps new data keys, plus older keys kept so that data keys wrapped
/// before a rotation still unwrap. Thread-safe. Formats in docs/format.md, "Master key file" and "Wrapped data key".
/// </summary>
public sealed class KeyRing : IDisposable
{
    /// <summary>The environment variable that may carry the master key as base64 of 32 bytes.</summary>
    public const string DefaultEnvironmentVariable = "TURBOMFT_MASTER_KEY";

    /// <summary>Length of the associated data of a wrapped key: domain tag, key id, file id.</summary>
    public const int AssociatedDataSize = 10 + MasterKey.IdSize + 16;

    private readonly Lock _sync = new();
    private readonly List<MasterKey> _keys;
    private bool _disposed;

    private KeyRing(List<MasterKey> keys)
    {
        _keys = keys;
    }

    /// <summary>The domain-separation prefix of a wrapped key's associated data.</summary>
    public static ReadOnlySpan<byte> WrapDomainTag => "tmf-dek-v1"u8;

    /// <summary>The id of the active master key, which wraps new data keys.</summary>
    public string ActiveKeyId
    {
        get
        {
            lock (_sync)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                return _keys[^1].Id;
            }
        }
    }

    /// <summary>The ids of all master keys in the ring, oldest first; the last is <see cref="ActiveKeyId"/>.</summary>
    public IReadOnlyList<string> KeyIds
    {
        get
        {
            lock (_sync)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                return _keys.ConvertAll(k => k.Id);
            }
        }
    }

    /// <summary>
    /// Creates a key file holding one new random master key, mode 0600 from the moment it exists, and returns its ring.
    /// Refuses to overwrite an existing file.
    /// </summary>
    /// <exception cref="KeyFileException">The file exists or cannot be written.</exception>
    public static KeyRing CreateKeyFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var key = MasterKey.Generate();
        try
        {
            MasterKeyFile.Write(path, [key], overwrite: false);
        }
        catch
        {
            key.Dispose();
            throw;
        }

        return new KeyRing([key]);
    }

    /// <summary>Loads a key file; its last key line is the active key.</summary>
    /// <exception cref="KeyFileException">The file is missing, accessible by group or others, or malformed (the message names the line).</exception>
    public static KeyRing LoadKeyFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new KeyRing(MasterKeyFile.Read(path));
    }

    /// <summary>
    /// Builds a one-key ring from <paramref name="variable"/> holding the base64 of 32 bytes; null when the variable is
    /// unset or empty.
    /// </summary>
    /// <exception cref="MasterKeyException">The variable is set but is not the base64 of 32 bytes.</exception>
    public static KeyRing? FromEnvironment(string variable = DefaultEnvironmentVariable)
    {
        ArgumentException.ThrowIfNullOrEmpty(variable);
        var value = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        Span<byte> key = stackalloc byte[48];
        try
        {
            if (!Convert.TryFromBase64String(value.Trim(), key, out var written) || written != MasterKey.Size)
            {
                throw new MasterKeyException(
                    $"{variable} does not hold a master key: it must be the base64 of exactly {MasterKey.Size} random bytes (make one with `openssl rand -base64 32`), or be unset to use the key file.");
            }

            return new KeyRing([MasterKey.FromBytes(key[..MasterKey.Size])]);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>A one-key ring with a random master key that lives only in memory, for tests and benchmarks.</summary>
    public static KeyRing Ephemeral() => new([MasterKey.Generate()]);

    /// <summary>A ring over given keys, oldest first; it owns and disposes them. For known-answer tests.</summary>
    internal static KeyRing FromKeys(params MasterKey[] keys) =>
        keys.Length > 0 ? new KeyRing([.. keys]) : throw new ArgumentException("A key ring needs at least one master key.", nameof(keys));

    /// <summary>True when the master key <paramref name="keyId"/> is in the ring.</summary>
    public bool Contains(string keyId)
    {
        lock (_sync)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _keys.Exists(k => k.Id == keyId);
        }
    }

    /// <summary>Wraps the data key of file <paramref name="fileId"/> under the active master key, with a fresh random nonce.</summary>
    public WrappedKey Wrap(DataKey dek, Guid fileId)
    {
        Span<byte> nonce = stackalloc byte[WrappedKey.NonceSize];
        RandomNumberGenerator.Fill(nonce);
        return Wrap(dek, fileId, nonce);
    }

    /// <summary>
    /// Unwraps the data key of file <paramref name="fileId"/>. The caller disposes the returned key.
    /// </summary>
    /// <exception cref="KeyUnwrapException">The master key is not in this ring, or the tag does not verify (wrong master key, tampered bytes, or another file's wrapped key).</exception>
    public DataKey Unwrap(WrappedKey wrapped, Guid fileId)
    {
        lock (_sync)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var keyId = wrapped.KeyId;
            var kek = Find(wrapped.KeyIdBytes) ?? throw new KeyUnwrapException(
                keyId,
                fileId,
                $"cannot unwrap the data key of file {fileId}: key id {keyId} is not in this node's key ring (it holds {string.Join(", ", _keys.ConvertAll(k => k.Id))}); load the key file that holds that master key.");

            Span<byte> aad = stackalloc byte[AssociatedDataSize];
            WriteAssociatedData(wrapped.KeyIdBytes, fileId, aad);
            Span<byte> plain = stackalloc byte[DataKey.Size];
            try
            {
                using var aes = new AesGcm(kek.Bytes, WrappedKey.TagSize);
                aes.Decrypt(wrapped.Nonce, wrapped.Ciphertext, wrapped.Tag, plain, aad);
                return DataKey.FromBytes(plain);
            }
            catch (AuthenticationTagMismatchException e)
            {
                throw new KeyUnwrapException(
                    keyId,
                    fileId,
                    $"cannot unwrap the data key of file {fileId} under master key {keyId}: wrong master key or tampered wrapped key (or one that belongs to another file).",
                    e);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(plain);
            }
        }
    }

    /// <summary>
    /// Re-wraps a data key under the active master key without touching the data it encrypts. The input is verified
    /// first; one already under the active key comes back unchanged.
    /// </summary>
    /// <exception cref="KeyUnwrapException">The input does not unwrap (see <see cref="Unwrap"/>).</exception>
    public WrappedKey Rewrap(WrappedKey wrapped, Guid fileId)
    {
        lock (_sync)
        {
            using var dek = Unwrap(wrapped, fileId);
            return wrapped.KeyIdBytes.SequenceEqual(_keys[^1].IdBytes) ? wrapped : Wrap(dek, fileId);
        }
    }

    /// <summary>
    /// Generates a new master key, makes it active, and rewrites <paramref name="keyFilePath"/> atomically with every key
    /// of the ring; returns the new key id. Older keys stay, so existing wrapped keys still unwrap until re-wrapped.
    /// </summary>
    /// <exception cref="KeyFileException">The file holds keys this ring lacks (it changed since loading), is unsafe or malformed, or cannot be written.</exception>
    public string Rotate(string keyFilePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyFilePath);
        lock (_sync)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var fullPath = Path.GetFullPath(keyFilePath);
            if (File.Exists(fullPath))
            {
                // Rewriting a file with keys we never loaded would destroy them, and every data key they wrap.
                using var onDisk = LoadKeyFile(fullPath);
                var unknown = onDisk.KeyIds.Where(id => !_keys.Exists(k => k.Id == id)).ToList();
                if (unknown.Count > 0)
                {
                    throw new KeyFileException(
                        fullPath,
                        $"master key file {fullPath} holds key ids this ring lacks ({string.Join(", ", unknown)}): it changed since it was loaded. Load it again, then rotate.");
                }
            }

            var key = MasterKey.Generate();
            try
            {
                MasterKeyFile.Write(fullPath, [.. _keys, key], overwrite: true);
            }
            catch
            {
                key.Dispose();
                throw;
            }

            _keys.Add(key);
            return key.Id;
        }
    }

    /// <summary>Describes the ring by key ids only.</summary>
    public override string ToString()
    {
        lock (_sync)
        {
            return _disposed ? "key ring (disposed)" : $"key ring of {_keys.Count} master keys, active {_keys[^1].Id}";
        }
    }

    /// <summary>Zeroes every master key.</summary>
    public void Dispose()
    {
        lock (_sync)
        {
            if (!_disposed)
            {
                _keys.ForEach(k => k.Dispose());
                _disposed = true;
            }
        }
    }

    /// <summary>Wraps with a given nonce; only known-answer tests pass one, everything else uses a random nonce.</summary>
    internal WrappedKey Wrap(DataKey dek, Guid fileId, ReadOnlySpan<byte> nonce)
    {
        ArgumentNullException.ThrowIfNull(dek);
        lock (_sync)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var kek = _keys[^1];
            Span<byte> aad = stackalloc byte[AssociatedDataSize];
            WriteAssociatedData(kek.IdBytes, fileId, aad);
            Span<byte> blob = stackalloc byte[WrappedKey.BlobSize];
            nonce[..WrappedKey.NonceSize].CopyTo(blob);
            using var aes = new AesGcm(kek.Bytes, WrappedKey.TagSize);
            aes.Encrypt(
                blob[..WrappedKey.NonceSize],
                dek.Bytes,
                blob.Slice(WrappedKey.NonceSize, DataKey.Size),
                blob[(WrappedKey.NonceSize + DataKey.Size)..],
                aad);
            return new WrappedKey(kek.Id, blob);
        }
    }

    private static void WriteAssociatedData(ReadOnlySpan<byte> keyId, Guid fileId, Span<byte> aad)
    {
        WrapDomainTag.CopyTo(aad);
        keyId.CopyTo(aad.Slice(WrapDomainTag.Length, MasterKey.IdSize));
        fileId.TryWriteBytes(aad.Slice(WrapDomainTag.Length + MasterKey.IdSize, 16), bigEndian: true, out _);
    }

    private MasterKey? Find(ReadOnlySpan<byte> keyId)
    {
        foreach (var key in _keys)
        {
            if (key.IdBytes.SequenceEqual(keyId))
            {
                return key;
            }
        }

        return null;
    }
}
