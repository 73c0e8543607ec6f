using TurboMft.Engine.Crypto;

namespace TurboMft.Engine.Container;

/// <summary>
/// Moves a container's data key to the key ring's active master key by rewriting the 68-byte wrapped-key field (and the
/// header check) in place. The trailer's AAD excludes that field, so nothing else changes and no data is re-encrypted.
/// </summary>
public static class ContainerKeyRewrap
{
    /// <summary>Re-wraps in place and flushes; returns the key ids before and after.</summary>
    public static (string Before, string After) Rewrap(string path, KeyRing ring)
    {
        ArgumentNullException.ThrowIfNull(ring);
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        var header = ContainerHeader.ReadFrom(file, path);
        var wrapped = WrappedKey.Read(header.WrappedKey);
        if (wrapped.KeyId == ring.ActiveKeyId)
        {
            return (wrapped.KeyId, wrapped.KeyId);
        }

        var rewrapped = ring.Rewrap(wrapped, header.FileId);
        var field = new byte[ContainerFormat.WrappedKeySize];
        rewrapped.WriteTo(field);
        var bytes = new byte[ContainerFormat.HeaderSize];
        (header with { WrappedKey = field }).Write(bytes);

        // One positional write of the 128-byte header, within a single disk sector, then a flush.
        RandomAccess.Write(file, bytes, 0);
        RandomAccess.FlushToDisk(file);
        return (wrapped.KeyId, rewrapped.KeyId);
    }
}
