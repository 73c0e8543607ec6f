namespace TurboMft.Engine.Storage;

/// <summary>
/// What an <see cref="IObjectStore"/> can do beyond the port's minimum, for callers to consult instead of assuming a local
/// disk (docs/architecture.md, "Ports").
/// </summary>
[Flags]
public enum ObjectStoreCapabilities
{
    /// <summary>Only the minimum: staging written once, committed or aborted, objects read at any offset.</summary>
    None = 0,

    /// <summary>
    /// Staging is written at any offset, in any order, and kept across a restart, so that <see cref="IObjectStore.OpenStaging"/>
    /// reopens an upload to continue it (a local disk, a shared POSIX directory; not an object service's multipart upload).
    /// </summary>
    PositionalResume = 1,

    /// <summary>
    /// A commit is one atomic no-replace rename: an object appears whole or not at all, and a staged object and the object
    /// committed from it never exist together (a local disk, a shared POSIX directory).
    /// </summary>
    AtomicRename = 2,

    /// <summary><see cref="IObjectStore.CommitMany"/> commits all of its objects or none of them.</summary>
    AtomicCommitMany = 4,

    /// <summary>
    /// Several nodes read and write the store at once (a shared POSIX directory, an object service): an upload's chunks
    /// may be written by any node into one staging (in slots, <c>ContainerLayout.Slotted</c>), each write is durable and
    /// visible to every node when it returns, and a staging handle holds nothing between calls, so any node can commit it.
    /// </summary>
    SharedByNodes = 8,
}
