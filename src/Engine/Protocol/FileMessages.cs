using System.Text.Json.Serialization;

namespace TurboMft.Engine.Protocol;

/// <summary>A file's current version as <c>GET /v1/files?prefix=</c> lists it (docs/protocol.md, "One-shot files").</summary>
/// <param name="Path">Canonical remote path.</param>
/// <param name="Size">Bytes.</param>
/// <param name="Digest">Its <c>sha256-tree:…</c>.</param>
/// <param name="ChunkSize">Its chunk size.</param>
/// <param name="CommittedAt">When the current version was committed.</param>
/// <param name="State">
/// Its release state; only approvers and admins of its area are shown files that are not <c>released</c>. Null from a
/// server without release states (everything it lists is downloadable).
/// </param>
/// <param name="Origin">Where a replicated version comes from (docs/protocol.md, "Provenance headers"); null otherwise.</param>
public sealed record RemoteFile(string Path, long Size, string? Digest, int ChunkSize, DateTimeOffset? CommittedAt, string? State = null, Provenance? Origin = null)
{
    /// <summary>True when the file can be downloaded now (not on the wire).</summary>
    [JsonIgnore]
    public bool IsReleased => State is null or ReleaseStates.Released;
}

/// <summary>Answer of <c>GET /v1/files?prefix=</c> (docs/protocol.md, "One-shot files").</summary>
/// <param name="Files">The current versions under the prefix that the caller may see, by path.</param>
public sealed record FileList(IReadOnlyList<RemoteFile> Files);
