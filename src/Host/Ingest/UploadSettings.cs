namespace TurboMft.Host.Ingest;

/// <summary>
/// What an upload may be and how long it lives, as the server's settings give them (docs/operations.md, "Settings"; the
/// keys are those of <c>ServerSettings</c>) and <c>GET /v1/info</c> reports them.
/// </summary>
/// <param name="UploadExpiryHours">Hours an upload session stays resumable without activity.</param>
/// <param name="OneShotChunkSize">Chunk size of one-shot uploads and the largest file of a batch.</param>
/// <param name="BatchMaxFiles">Most files one batch upload may hold.</param>
/// <param name="MinRequestBodyBytesPerSecond">The body rate below which Kestrel cuts a slow client off.</param>
/// <param name="MinRequestBodyGraceSeconds">Seconds a body may run below that rate first.</param>
public sealed record UploadSettings(
    double UploadExpiryHours,
    int OneShotChunkSize,
    int BatchMaxFiles,
    double MinRequestBodyBytesPerSecond,
    double MinRequestBodyGraceSeconds);
