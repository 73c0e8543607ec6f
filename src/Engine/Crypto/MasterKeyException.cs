using System.Security.Cryptography;

namespace TurboMft.Engine.Crypto;

/// <summary>The node master key could not be obtained (bad environment variable, key file or key ring state); the message says how to fix it.</summary>
public class MasterKeyException : Exception
{
    /// <summary>Creates the exception with a message that tells the user what to do.</summary>
    public MasterKeyException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the I/O or format error behind it.</summary>
    public MasterKeyException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A master key file is missing, unsafe (group or other access), malformed, or cannot be written.</summary>
public sealed class KeyFileException : MasterKeyException
{
    /// <summary>Creates the exception for <paramref name="filePath"/>; <paramref name="lineNumber"/> is 1-based, or null when no line is at fault.</summary>
    public KeyFileException(string filePath, string message, int? lineNumber = null, Exception? innerException = null)
        : base(message, innerException)
    {
        FilePath = filePath;
        LineNumber = lineNumber;
    }

    /// <summary>The key file concerned.</summary>
    public string FilePath { get; }

    /// <summary>The 1-based line at fault in a malformed file, or null.</summary>
    public int? LineNumber { get; }
}

/// <summary>A wrapped data key could not be unwrapped: its master key is not in the ring, or the tag did not verify.</summary>
public sealed class KeyUnwrapException : CryptographicException
{
    /// <summary>Creates the exception for the data key of file <paramref name="fileId"/> wrapped under <paramref name="keyId"/>.</summary>
    public KeyUnwrapException(string keyId, Guid fileId, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        KeyId = keyId;
        FileId = fileId;
    }

    /// <summary>The master key id the wrapped key names.</summary>
    public string KeyId { get; }

    /// <summary>The file whose data key was being unwrapped.</summary>
    public Guid FileId { get; }
}
