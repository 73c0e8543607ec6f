using System.Security.Cryptography;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Client;
using TurboMft.Engine.Container;
using TurboMft.Engine.Crypto;
using TurboMft.Engine.Pipeline;
using TurboMft.Host.Access;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Cli;

/// <summary>Process exit codes of the CLI.</summary>
public static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>The operation failed (I/O, verification, tampering).</summary>
    public const int Failed = 1;

    /// <summary>The command line or a setting is wrong.</summary>
    public const int Usage = 2;
}

/// <summary>Turns failures into one clear line on stderr and an exit code; never a stack trace.</summary>
public static class CliErrors
{
    /// <summary>Runs <paramref name="action"/>, mapping known failures to messages the user can act on.</summary>
    public static async Task<int> GuardAsync(TextWriter error, Func<Task<int>> action)
    {
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(action);
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await error.WriteLineAsync("turbomft: cancelled").ConfigureAwait(false);
            return ExitCodes.Failed;
        }
        catch (Exception e) when (Classify(e) is { } code)
        {
            await error.WriteLineAsync($"turbomft: error: {e.Message}").ConfigureAwait(false);
            return code;
        }
        catch (Exception e)
        {
            // Unknown failures still get one line; the type helps a bug report without exposing internals.
            await error.WriteLineAsync($"turbomft: internal error ({e.GetType().Name}): {e.Message}").ConfigureAwait(false);
            return ExitCodes.Failed;
        }
    }

    private static int? Classify(Exception e) => e switch
    {
        TransferVerificationException or ServerTrustException or ServerProblemException or TransferException => ExitCodes.Failed,
        HttpRequestException or TimeoutException => ExitCodes.Failed,
        InvalidChunkSizeException or FormatException or ArgumentException => ExitCodes.Usage,
        ContainerException or SourceUnreadableException or CryptographicException => ExitCodes.Failed,
        UnauthorizedAccessException or IOException => ExitCodes.Failed,
        MasterKeyException => ExitCodes.Failed,
        AuditChainBrokenException or AuditKeyException => ExitCodes.Failed,
        PolicyFileException => ExitCodes.Usage,
        AccessException { Error: AccessError.InvalidName or AccessError.InvalidRequest or AccessError.InvalidArea } => ExitCodes.Usage,
        AccessException => ExitCodes.Failed,
        Release.ReleaseException { Error: Release.ReleaseError.InvalidRequest } => ExitCodes.Usage,
        Release.ReleaseException or Metadata.MetadataException => ExitCodes.Failed,
        _ => null,
    };
}
