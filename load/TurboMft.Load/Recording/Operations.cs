namespace TurboMft.Load.Recording;

/// <summary>The names under which latencies and errors are recorded: whole operations and the requests they are made of.</summary>
public static class Operations
{
    /// <summary>A whole upload: one-shot PUT for a file smaller than a chunk, else session open, chunk PUTs and complete.</summary>
    public const string Upload = "upload";

    /// <summary>A whole download: HEAD, then chunk-aligned range GETs.</summary>
    public const string Download = "download";

    /// <summary><c>PUT /v1/files/{path}</c> of a small file.</summary>
    public const string OneShotPut = "one-shot PUT";

    /// <summary><c>POST /v1/uploads</c>.</summary>
    public const string SessionOpen = "session open";

    /// <summary><c>PUT /v1/uploads/{id}/chunks/{n}</c>.</summary>
    public const string ChunkPut = "chunk PUT";

    /// <summary><c>POST /v1/uploads/{id}/complete</c> (commit, and the wait for the inline scan).</summary>
    public const string Complete = "complete";

    /// <summary><c>HEAD /v1/files/{path}</c> before a download.</summary>
    public const string Head = "HEAD";

    /// <summary><c>GET /v1/files/{path}</c> with one chunk-aligned <c>Range</c>.</summary>
    public const string RangeGet = "range GET";

    /// <summary>The cheap authenticated request an idle connection sends now and then.</summary>
    public const string IdleRequest = "idle request";

    /// <summary>A trickled one-shot PUT of a slow client, timed until the server cut it off.</summary>
    public const string SlowPut = "slow PUT";

    /// <summary>The order in which operations are reported.</summary>
    public static readonly IReadOnlyList<string> ReportOrder =
        [Upload, Download, OneShotPut, SessionOpen, ChunkPut, Complete, Head, RangeGet, IdleRequest, SlowPut];
}
