using System.CommandLine;
using TurboMft.Engine.Container;
using TurboMft.Engine.Crypto;

namespace TurboMft.Host.Cli;

/// <summary>Where a command gets the node master key: <c>--key-file</c>, else <c>TURBOMFT_MASTER_KEY</c>.</summary>
internal static class MasterKeyOptions
{
    public static Option<FileInfo> KeyFile(bool required = false) => new("--key-file")
    {
        Description = "Master key file (mode 0600). Without it, TURBOMFT_MASTER_KEY (base64 of 32 bytes) is used.",
        Required = required,
        HelpName = "FILE",
    };

    public static KeyRing Load(FileInfo? keyFile)
    {
        if (keyFile is not null)
        {
            return KeyRing.LoadKeyFile(keyFile.FullName);
        }

        return KeyRing.FromEnvironment()
            ?? throw new MasterKeyException($"No master key: pass --key-file FILE (create one with `turbomft keys init --key-file FILE`) or set {KeyRing.DefaultEnvironmentVariable}.");
    }

    /// <summary>A container key resolver that unwraps with <paramref name="ring"/>.</summary>
    public static DataKeyResolver Resolver(KeyRing ring) => (fileId, wrapped) => ring.Unwrap(WrappedKey.Read(wrapped), fileId);
}
