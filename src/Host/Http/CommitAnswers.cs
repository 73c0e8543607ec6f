using TurboMft.Engine.Protocol;
using TurboMft.Host.Metadata;
using TurboMft.Host.Release;

namespace TurboMft.Host.Http;

/// <summary>
/// The answer for a committed version (complete, one-shot PUT, each file of a batch): <see cref="CommittedVersion"/> with
/// its release <c>state</c> after the inline scan wait and, when quarantined, the <c>findings</c> (docs/protocol.md,
/// "Release states in answers").
/// </summary>
internal static class CommitAnswers
{
    /// <summary>Describes <paramref name="version"/> in <paramref name="state"/>; <paramref name="unchanged"/> for a replica already held.</summary>
    public static async Task<CommittedVersion> DescribeAsync(FileVersion version, ReleaseState state, IMetadataStore metadata, CancellationToken cancellationToken, bool unchanged = false)
    {
        IReadOnlyList<VerdictView>? findings = null;
        if (state == ReleaseState.Quarantined)
        {
            findings = [.. (await metadata.ListVerdictsAsync(version.VersionId, cancellationToken).ConfigureAwait(false))
                .Where(v => v.Verdict.Outcome == ScanOutcome.Infected)
                .Select(v => ReleaseDecisions.VerdictView(v.Verdict, v.ScannedAt))];
        }

        return new CommittedVersion(
            version.Path,
            version.Size,
            version.ChunkSize,
            version.Digest,
            version.Sha256,
            version.VersionId,
            version.CommittedAt,
            state.ToName(),
            findings,
            version.Origin,
            unchanged ? true : null);
    }
}
