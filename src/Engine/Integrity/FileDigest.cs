using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace TurboMft.Engine.Integrity;

/// <summary>
/// A file's identity: the <c>sha256-tree</c> digest (docs/format.md, "File digest"), written as <c>sha256-tree:&lt;hex&gt;</c>.
/// </summary>
public readonly struct FileDigest : IEquatable<FileDigest>
{
    /// <summary>The textual prefix of a tree digest.</summary>
    public const string Prefix = "sha256-tree:";

    private readonly Bytes32 _value;

    /// <summary>Wraps 32 digest bytes.</summary>
    public FileDigest(ReadOnlySpan<byte> sha256)
    {
        if (sha256.Length != SHA256.HashSizeInBytes)
        {
            throw new ArgumentException("A sha256-tree digest is exactly 32 bytes.", nameof(sha256));
        }

        sha256.CopyTo(_value);
    }

    /// <summary>The 32 digest bytes.</summary>
    [UnscopedRef]
    public ReadOnlySpan<byte> Bytes => _value;

    /// <summary>Parses <c>sha256-tree:&lt;64 hex digits&gt;</c>.</summary>
    public static bool TryParse(string? text, out FileDigest digest)
    {
        digest = default;
        if (text is null || !text.StartsWith(Prefix, StringComparison.Ordinal) || text.Length != Prefix.Length + 64)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[32];
        if (Convert.FromHexString(text.AsSpan(Prefix.Length), bytes, out _, out var written) != System.Buffers.OperationStatus.Done || written != 32)
        {
            return false;
        }

        digest = new FileDigest(bytes);
        return true;
    }

    /// <summary>Parses a digest or throws a <see cref="FormatException"/> naming the expected form.</summary>
    public static FileDigest Parse(string text) =>
        TryParse(text, out var digest) ? digest : throw new FormatException($"'{text}' is not a file digest; expected sha256-tree:<64 lowercase hex digits>.");

    /// <inheritdoc />
    public bool Equals(FileDigest other) => CryptographicOperations.FixedTimeEquals(_value, other._value);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is FileDigest other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => BitConverter.ToInt32(_value);

    /// <summary>The canonical text form, <c>sha256-tree:&lt;lowercase hex&gt;</c>.</summary>
    public override string ToString() => Prefix + Convert.ToHexStringLower(_value);

    /// <summary>Equality.</summary>
    public static bool operator ==(FileDigest left, FileDigest right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(FileDigest left, FileDigest right) => !left.Equals(right);

    [InlineArray(32)]
    private struct Bytes32
    {
        private byte _element0;
    }
}
