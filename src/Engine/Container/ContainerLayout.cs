namespace TurboMft.Engine.Container;

/// <summary>Where a <see cref="ContainerWriter"/> puts chunk records (docs/format.md, "Slotted layout").</summary>
public enum ContainerLayout
{
    /// <summary>One after another in the order they are written: no holes; one process writes the container.</summary>
    Appended,

    /// <summary>
    /// Each chunk's record at the start of a slot of its index, slots as long as the largest record a chunk can make: any
    /// number of writers, in any processes or on any nodes sharing the file, write chunks without agreeing on offsets. The
    /// unused end of each slot stays a hole. Readers find records through the trailer, so they read both layouts alike.
    /// </summary>
    Slotted,
}
