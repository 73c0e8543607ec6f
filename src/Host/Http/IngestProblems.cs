using Microsoft.AspNetCore.Http;
using TurboMft.Host.Ingest;

namespace TurboMft.Host.Http;

/// <summary>The problem answer of each ingest refusal (docs/protocol.md, "Errors").</summary>
internal static class IngestProblems
{
    /// <summary>The answer to <paramref name="refused"/>.</summary>
    public static IResult For(IngestException refused) => refused.Fault switch
    {
        IngestFault.ChunkBody => Problems.BadRequest("chunk-too-large", refused.Message),
        IngestFault.ChunkDigestMismatch => Problems.Unverified("chunk-digest-mismatch", refused.Message),
        IngestFault.ChunkCrcMismatch => Problems.Unverified("chunk-crc-mismatch", refused.Message),
        IngestFault.SizeMismatch => Problems.Unverified("size-mismatch", refused.Message),
        IngestFault.FileDigestMismatch => Problems.Unverified("file-digest-mismatch", refused.Message),
        IngestFault.ChunksMissing => Problems.Conflict("chunks-missing", refused.Message, new Dictionary<string, object?> { ["missing"] = refused.Missing }),
        IngestFault.UploadClosed => Problems.Conflict("upload-closed", refused.Message),
        _ => throw new ArgumentOutOfRangeException(nameof(refused), refused.Fault, "An ingest fault without a problem type."),
    };

    /// <summary>507: the disk filled under the upload; nothing was committed.</summary>
    public static IResult DiskFull(string detail) =>
        Problems.Result(StatusCodes.Status507InsufficientStorage, "insufficient-storage", "Insufficient storage", detail);
}
