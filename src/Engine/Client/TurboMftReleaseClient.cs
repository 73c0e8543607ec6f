using TurboMft.Engine.Protocol;

namespace TurboMft.Engine.Client;

/// <summary>
/// A typed client of the held-file API (docs/protocol.md, "Quarantine" and "Approvals"): <c>/v1/quarantine</c> (admin on
/// "/") and <c>/v1/approvals</c> (approve on the file's area; never the uploader's own file). Trusts the server as
/// <see cref="TurboMftClient"/> does. Requests are not retried: a decision must not be applied twice. Errors are
/// <see cref="ServerProblemException"/> with the stable problem type.
/// </summary>
public sealed class TurboMftReleaseClient : IDisposable
{
    private readonly TurboMftClient _client;

    /// <summary>Creates the client; throws <see cref="ArgumentException"/> for settings that cannot work.</summary>
    public TurboMftReleaseClient(TurboMftClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _client = new TurboMftClient(options with { Retry = RetryPolicy.None, Connections = 1 });
    }

    /// <summary>Quarantined versions, current or superseded, with their verdicts.</summary>
    public async Task<IReadOnlyList<HeldVersionView>> ListQuarantineAsync(CancellationToken cancellationToken = default) =>
        (await _client.SendJsonAsync<HeldVersionList>(HttpMethod.Get, "v1/quarantine", null, cancellationToken).ConfigureAwait(false))!.Versions;

    /// <summary>Releases a quarantined version despite its findings; <paramref name="reason"/> is required and audited.</summary>
    public async Task<HeldVersionView> ReleaseFromQuarantineAsync(Guid versionId, string reason, CancellationToken cancellationToken = default) =>
        (await _client.SendJsonAsync<HeldVersionView>(HttpMethod.Post, $"v1/quarantine/{versionId}/release", new ReleaseReasonRequest(reason), cancellationToken).ConfigureAwait(false))!;

    /// <summary>Deletes a quarantined version and its container.</summary>
    public Task DeleteFromQuarantineAsync(Guid versionId, CancellationToken cancellationToken = default) =>
        _client.SendJsonAsync<object>(HttpMethod.Delete, $"v1/quarantine/{versionId}", null, cancellationToken);

    /// <summary>Versions waiting for approval in the areas where the caller holds approve.</summary>
    public async Task<IReadOnlyList<HeldVersionView>> ListApprovalsAsync(CancellationToken cancellationToken = default) =>
        (await _client.SendJsonAsync<HeldVersionList>(HttpMethod.Get, "v1/approvals", null, cancellationToken).ConfigureAwait(false))!.Versions;

    /// <summary>Approves (releases) a version pending approval, with an optional reason.</summary>
    public async Task<HeldVersionView> ApproveAsync(Guid versionId, string? reason = null, CancellationToken cancellationToken = default) =>
        (await _client.SendJsonAsync<HeldVersionView>(HttpMethod.Post, $"v1/approvals/{versionId}/approve", new ReleaseReasonRequest(reason), cancellationToken).ConfigureAwait(false))!;

    /// <summary>Rejects a version pending approval; <paramref name="reason"/> is required.</summary>
    public async Task<HeldVersionView> RejectAsync(Guid versionId, string reason, CancellationToken cancellationToken = default) =>
        (await _client.SendJsonAsync<HeldVersionView>(HttpMethod.Post, $"v1/approvals/{versionId}/reject", new ReleaseReasonRequest(reason), cancellationToken).ConfigureAwait(false))!;

    /// <inheritdoc />
    public void Dispose() => _client.Dispose();
}
