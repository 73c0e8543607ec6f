using Microsoft.Extensions.Options;
using TurboMft.Engine.Chunks;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Ingest;

/// <summary>
/// What an upload may be and how long it lives (docs/operations.md, "Settings"), as <c>GET /v1/info</c> reports them. Bound
/// from the top level of the server's settings (the keys keep their flat names: <c>UploadExpiryHours</c>,
/// <c>TURBOMFT_BATCHMAXFILES</c>, …) and validated by <see cref="UploadSettingsValidation"/>.
/// </summary>
public sealed class UploadSettings
{
    /// <summary>Hours an upload session stays resumable without activity before it expires and its staging is removed.</summary>
    public double UploadExpiryHours { get; set; } = 24;

    /// <summary>Chunk size for one-shot uploads (PUT /v1/files/...) and the largest file of a batch.</summary>
    public int OneShotChunkSize { get; set; } = ChunkGeometry.DefaultChunkSize;

    /// <summary>
    /// Most files one batch upload (<c>POST /v1/batch</c>) may hold; each is at most <see cref="OneShotChunkSize"/> bytes. The
    /// server keeps a few hundred bytes per file of a batch in memory until it commits (the bytes themselves are staged on disk).
    /// </summary>
    public int BatchMaxFiles { get; set; } = 4096;

    /// <summary>Minimum request body rate in bytes per second before Kestrel cuts a slow client off.</summary>
    public double MinRequestBodyBytesPerSecond { get; set; } = 240;

    /// <summary>Seconds a request body may run below <see cref="MinRequestBodyBytesPerSecond"/> before the cut-off (Kestrel's grace; more than 1).</summary>
    public double MinRequestBodyGraceSeconds { get; set; } = 10;
}

/// <summary>Validates <see cref="UploadSettings"/>.</summary>
public sealed class UploadSettingsValidation : IValidateOptions<UploadSettings>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, UploadSettings options)
    {
        ArgumentNullException.ThrowIfNull(options);
        List<string> failures = [];

        // Kestrel checks data rates once a second, so a grace of a second or less could never be honoured.
        if (!(options.MinRequestBodyGraceSeconds is > 1 and <= 3600))
        {
            failures.Add($"MinRequestBodyGraceSeconds is {options.MinRequestBodyGraceSeconds}; give seconds, more than 1 and at most 3600.");
        }

        if (options.BatchMaxFiles is < 1 or > 1_000_000)
        {
            failures.Add($"BatchMaxFiles is {options.BatchMaxFiles}; give 1 to 1000000.");
        }

        return SettingsValidation.Result(failures);
    }
}
