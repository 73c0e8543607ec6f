namespace TurboMft.Engine.Tests;

/// <summary>
/// Runs alone: its tests measure what the whole process allocates. An await may continue on another thread, so a
/// per-thread counter read before and after it compares two threads; the process's total is right only with nothing beside it.
/// </summary>
[CollectionDefinition(nameof(ProcessMeasurementCollection), DisableParallelization = true)]
public sealed class ProcessMeasurementCollection;
