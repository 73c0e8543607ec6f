namespace TurboMft.Engine.Datasets;

/// <summary>The kinds of synthetic file content the engine can generate for tests, benchmarks and load runs.</summary>
public enum DatasetKind
{
    /// <summary>Industrial historian CSV export: timestamp, tag, value, OPC quality per line; LZ4 gains about 3–4×.</summary>
    HistorianCsv,

    /// <summary>16-bit little-endian detector frames with smooth shapes and sensor noise; LZ4 gains little.</summary>
    ImagingFrames,

    /// <summary>Uniformly random bytes; incompressible.</summary>
    Random,
}
