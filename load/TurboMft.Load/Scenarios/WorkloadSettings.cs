using System.Net;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Datasets;
using TurboMft.Load.Workload;

namespace TurboMft.Load.Scenarios;

/// <summary>How the transferring clients behave in every scenario: sizes, mix of uploads and downloads, timing.</summary>
public sealed record WorkloadSettings
{
    /// <summary>File sizes and their weights.</summary>
    public SizeMix Sizes { get; init; } = SizeMix.Parse(SizeMix.DefaultText);

    /// <summary>Share of operations that are downloads (of files seeded before the run); the rest are uploads.</summary>
    public double DownloadShare { get; init; } = 0.5;

    /// <summary>Seed of the content and of every client's choices.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>Chunk size of session uploads; smaller files go one-shot.</summary>
    public int ChunkSize { get; init; } = ChunkGeometry.DefaultChunkSize;

    /// <summary>The content of the files.</summary>
    public DatasetKind Content { get; init; } = DatasetKind.Random;

    /// <summary>Whether chunks are LZ4-compressed where the client's adaptive policy would (it never pays on random content).</summary>
    public bool Compress { get; init; } = true;

    /// <summary>Bytes the in-memory payload holds at least, beyond the largest file (the slow clients' bodies come out of it too).</summary>
    public int MinimumPayload { get; init; }

    /// <summary>Chunks in flight per client, HTTP version and per-request timeout.</summary>
    public ClientProfile Profile { get; init; } = new(4, HttpVersion.Version11, TimeSpan.FromSeconds(120));

    /// <summary>The measurement window of each run.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long operations still in flight when the window closes may take to finish before they are cancelled.</summary>
    public TimeSpan Drain { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest wait, before each run, for the server to go quiet (CPU under 5% of a core), when its process is known.</summary>
    public TimeSpan SettleLimit { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How often the server's memory, threads and connections are sampled.</summary>
    public TimeSpan SampleInterval { get; init; } = TimeSpan.FromMilliseconds(250);
}

/// <summary>The <c>idle</c> scenario: many mostly idle TLS connections beside a few transferring clients.</summary>
public sealed record IdleSettings
{
    /// <summary>Transferring clients, measured alone and then beside the idle connections.</summary>
    public int ActiveClients { get; init; } = 4;

    /// <summary>Idle connections to hold.</summary>
    public int IdleConnections { get; init; } = 1000;

    /// <summary>How often each idle connection sends its cheap request (each at its own random phase).</summary>
    public TimeSpan IdleInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The cheap authenticated request the idle connections send.</summary>
    public string IdlePath { get; init; } = "v1/info";

    /// <summary>Connections opened at once while the idle connections are set up.</summary>
    public int OpenConcurrency { get; init; } = 32;
}

/// <summary>The <c>slow</c> scenario: slow clients trickling upload bodies beside normal clients.</summary>
public sealed record SlowSettings
{
    /// <summary>Normal transferring clients.</summary>
    public int Clients { get; init; } = 4;

    /// <summary>Slow clients, each on its own connection, starting a new trickle after each cut-off.</summary>
    public int SlowClients { get; init; } = 8;

    /// <summary>Bytes per second a slow client sends.</summary>
    public int BytesPerSecond { get; init; } = 100;

    /// <summary>The body length a slow client announces.</summary>
    public int BodySize { get; init; } = 1 << 20;
}
