using TurboMft.Engine.Buffers;
using TurboMft.Engine.Container;
using TurboMft.Engine.Crypto;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Storage;
using TurboMft.Host.Metadata;

namespace TurboMft.Host.Scanning;

/// <summary>What <see cref="IScannerChain.ScanAsync"/> needs for a committed file version: its subject and a plaintext opener.</summary>
public static class ScanSources
{
    /// <summary>The scan subject of <paramref name="version"/> (its whole-file SHA-256 as bare hex when it was recorded).</summary>
    public static ScanSubject SubjectOf(FileVersion version)
    {
        ArgumentNullException.ThrowIfNull(version);
        return new ScanSubject(RemotePath.Parse(version.Path), version.Size, version.Digest, WholeFileSha256.Hex(version.Sha256));
    }

    /// <summary>
    /// Opens a fresh <see cref="ContainerPlaintextStream"/> over <paramref name="version"/>'s container on every call:
    /// plaintext is decrypted and authenticated a chunk at a time and never written out. Each stream holds two chunk buffers of its own while
    /// it is open, never from the requests' pool, so a chain opening several streams can never wait on uploads (or on
    /// itself): from <paramref name="pool"/> when given (<c>ServerBuffers.ForScans</c>, which reuses them), else newly allocated.
    /// </summary>
    public static Func<Stream> PlaintextOf(FileVersion version, IObjectStore store, KeyRing keys, ChunkBufferPool? pool = null)
    {
        ArgumentNullException.ThrowIfNull(version);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(keys);
        var key = version.ObjectKey;
        ObjectKeys.ThrowIfInvalid(key);
        // Each chunk is authenticated by its AES-GCM tag and its decoding checked by CRC-64; hashing it again with SHA-256
        // for every scanner cost more than the scan itself on small files (the tree was computed from these bytes on receipt).
        return () => ContainerPlaintextStream.Open(store.OpenRead(key), keys.Resolver(), pool, verifyChunkDigests: false);
    }
}
