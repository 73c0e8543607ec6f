using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;
using TurboMft.Engine.Protocol;
using TurboMft.Engine.Storage;
using TurboMft.Host.Release;
using TurboMft.Host.Tests.Access;
using TurboMft.Host.Tests.Server;

namespace TurboMft.Host.Tests.Release;

/// <summary>Release states, quarantine and four-eyes approval on a real server with the test scanner chain (docs/content-security.md).</summary>
public sealed class ReleaseEndToEndTests : IAsyncLifetime
{
    private ReleaseTestServer _s = null!;

    public async ValueTask InitializeAsync() => _s = await ReleaseTestServer.StartAsync();

    public async ValueTask DisposeAsync() => await _s.DisposeAsync();

    [Fact]
    public async Task An_infected_upload_is_quarantined_refused_to_everyone_hidden_from_downloaders_audited_with_its_signature_and_raises_an_incident()
    {
        var commit = await _s.PutAsync(_s.Olga, "/in/eicar.txt", ReleaseTestServer.Infected());

        Assert.Equal("quarantined", commit.GetProperty("state").GetString());
        var finding = Assert.Single(commit.GetProperty("findings").EnumerateArray());
        Assert.Equal((TestScannerChain.ScannerName, TestScannerChain.ScannerVersion, TestScannerChain.Signature),
            (finding.GetProperty("scanner").GetString(), finding.GetProperty("scannerVersion").GetString(), finding.GetProperty("finding").GetString()));
        var versionId = commit.GetProperty("versionId").GetGuid();

        foreach (var client in new[] { _s.Admin, _s.Dana })
        {
            using var get = await client.GetAsync(_s.Url("/v1/files/in/eicar.txt"));
            var problem = await UploadProtocolTests.AssertProblemAsync(get, HttpStatusCode.Conflict, "file-quarantined");
            Assert.Equal("quarantined", problem.GetProperty("state").GetString());
            Assert.Equal("quarantined", get.Headers.GetValues(ProtocolHeaders.ReleaseState).Single());
        }

        using (var head = await _s.Dana.SendAsync(new HttpRequestMessage(HttpMethod.Head, _s.Url("/v1/files/in/eicar.txt"))))
        {
            Assert.Equal(HttpStatusCode.Conflict, head.StatusCode);
            Assert.Equal("quarantined", head.Headers.GetValues(ProtocolHeaders.ReleaseState).Single());
        }

        Assert.DoesNotContain("/in/eicar.txt", await _s.ListAsync(_s.Dana));
        var adminView = (await _s.GetJsonAsync(_s.Admin, "/v1/files?prefix=/in")).GetProperty("files").EnumerateArray().Single();
        Assert.Equal("quarantined", adminView.GetProperty("state").GetString());

        // Only an admin deletes quarantined files, through /v1/quarantine.
        await UploadProtocolTests.AssertProblemAsync(await _s.Olga.DeleteAsync(_s.Url("/v1/files/in/eicar.txt")), HttpStatusCode.Conflict, "file-quarantined");

        var held = Assert.Single((await _s.GetJsonAsync(_s.Admin, "/v1/quarantine")).GetProperty("versions").EnumerateArray());
        Assert.Equal(versionId, held.GetProperty("versionId").GetGuid());
        Assert.Equal("olga", held.GetProperty("uploadedBy").GetString());
        Assert.Contains(held.GetProperty("verdicts").EnumerateArray(), v => v.GetProperty("finding").GetString() == TestScannerChain.Signature);

        var records = await _s.AuditAsync();
        var verdict = Assert.Single(records, r => r.Action == "scan.verdict" && r.Path == "/in/eicar.txt");
        Assert.Contains(TestScannerChain.Signature, verdict.Detail, StringComparison.Ordinal);
        Assert.Contains(TestScannerChain.ScannerVersion, verdict.Detail, StringComparison.Ordinal);
        var quarantined = Assert.Single(records, r => r.Action == "file.quarantined");
        Assert.Equal($"version {versionId}: {TestScannerChain.ScannerName} {TestScannerChain.ScannerVersion} found {TestScannerChain.Signature}", quarantined.Detail);
        Assert.Equal("system", quarantined.Actor.User);
        Assert.Contains(records, r => r.Action == "file.download" && r.Outcome == "denied" && r.Actor.User == "dana");

        var incident = Assert.Single(_s.Incidents.Incidents);
        Assert.Equal(("malware-found", "critical", "/in/eicar.txt", "olga"), (incident.Kind, incident.Severity, incident.Path, incident.Actor));
        Assert.Equal(TestScannerChain.Signature, incident.Details!["signature"]);
        Assert.Equal(TestScannerChain.ScannerVersion, incident.Details["scannerVersion"]);
    }

    [Fact]
    public async Task A_clean_csv_is_released_within_the_inline_wait_and_downloads_at_once()
    {
        var csv = ReleaseTestServer.Csv();

        var commit = await _s.PutAsync(_s.Olga, "/ot/plant1/h.csv", csv);
        using var get = await _s.Dana.GetAsync(_s.Url("/v1/files/ot/plant1/h.csv"));

        Assert.Equal("released", commit.GetProperty("state").GetString());
        Assert.False(commit.TryGetProperty("findings", out var findings) && findings.ValueKind != JsonValueKind.Null);
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(csv, await get.Content.ReadAsByteArrayAsync());
        Assert.Equal("released", get.Headers.GetValues(ProtocolHeaders.ReleaseState).Single());
        Assert.Equal(["/ot/plant1/h.csv"], await _s.ListAsync(_s.Dana));
        var records = await _s.AuditAsync();
        Assert.Contains(records, r => r.Action == "scan.verdict" && r.Detail!.Contains("clean; test-av TestAV 1.0/42: clean", StringComparison.Ordinal));
        var released = Assert.Single(records, r => r.Action == "file.released");
        Assert.Contains("scanned clean by test-av TestAV 1.0/42, test-type 1", released.Detail, StringComparison.Ordinal);
        Assert.Empty(_s.Incidents.Incidents);
    }

    [Fact]
    public async Task In_an_approval_area_a_clean_file_waits_for_a_second_person_and_its_uploader_cannot_approve_it()
    {
        var csv = ReleaseTestServer.Csv();
        var commit = await _s.PutAsync(_s.Olga, "/four-eyes/batch.csv", csv);
        Assert.Equal("pending-approval", commit.GetProperty("state").GetString());
        var id = commit.GetProperty("versionId").GetGuid();

        using (var get = await _s.Dana.GetAsync(_s.Url("/v1/files/four-eyes/batch.csv")))
        {
            var problem = await UploadProtocolTests.AssertProblemAsync(get, HttpStatusCode.Conflict, "file-pending");
            Assert.Equal("pending-approval", problem.GetProperty("state").GetString());
            Assert.Equal(TimeSpan.FromSeconds(60), get.Headers.RetryAfter!.Delta);
        }

        Assert.DoesNotContain("/four-eyes/batch.csv", await _s.ListAsync(_s.Dana));
        Assert.Equal("pending-approval", (await _s.GetJsonAsync(_s.Petra, "/v1/files?prefix=/four-eyes")).GetProperty("files")[0].GetProperty("state").GetString());
        var pending = Assert.Single((await _s.GetJsonAsync(_s.Petra, "/v1/approvals")).GetProperty("versions").EnumerateArray());
        Assert.Equal((id, "olga"), (pending.GetProperty("versionId").GetGuid(), pending.GetProperty("uploadedBy").GetString()));
        Assert.Empty((await _s.GetJsonAsync(_s.Quinn, "/v1/approvals")).GetProperty("versions").EnumerateArray());

        // The uploader holds approve here too, and is still refused; others without approve on the area get the plain 403.
        var self = await UploadProtocolTests.AssertProblemAsync(await _s.PostReasonAsync(_s.Olga, $"/v1/approvals/{id}/approve", "looks fine to me"), HttpStatusCode.Forbidden, "self-approval");
        Assert.Contains("four-eyes", self.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await AuthorizationTests.AssertForbiddenAsync(await _s.PostReasonAsync(_s.Quinn, $"/v1/approvals/{id}/approve", null));
        await AuthorizationTests.AssertForbiddenAsync(await _s.PostReasonAsync(_s.Dana, $"/v1/approvals/{id}/approve", null));
        Assert.Equal(HttpStatusCode.Conflict, (await _s.Dana.GetAsync(_s.Url("/v1/files/four-eyes/batch.csv"))).StatusCode);

        using (var approve = await _s.PostReasonAsync(_s.Petra, $"/v1/approvals/{id}/approve", "batch 11 checked against the work order"))
        {
            Assert.Equal(HttpStatusCode.OK, approve.StatusCode);
            var view = JsonDocument.Parse(await approve.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("released", view.GetProperty("state").GetString());
            Assert.Equal("petra", view.GetProperty("decision").GetProperty("by").GetString());
        }

        Assert.Equal(csv, await _s.Dana.GetByteArrayAsync(_s.Url("/v1/files/four-eyes/batch.csv")));
        Assert.Contains("/four-eyes/batch.csv", await _s.ListAsync(_s.Dana));
        var again = await UploadProtocolTests.AssertProblemAsync(await _s.PostReasonAsync(_s.Petra, $"/v1/approvals/{id}/reject", "too late"), HttpStatusCode.Conflict, "release-state-conflict");
        Assert.Equal("released", again.GetProperty("state").GetString());

        var records = await _s.AuditAsync();
        Assert.Contains(records, r => r.Action == "approval.requested" && r.Detail!.Contains("uploader olga", StringComparison.Ordinal));
        Assert.Contains(records, r => r.Action == "approval.approved" && r.Outcome == "denied" && r.Actor.User == "olga");
        var approved = Assert.Single(records, r => r.Action == "approval.approved" && r.Outcome == "success");
        Assert.Equal("petra", approved.Actor.User);
        Assert.Equal($"version {id}: approved by petra; reason: batch 11 checked against the work order", approved.Detail);
    }

    [Fact]
    public async Task A_rejection_needs_a_reason_and_leaves_the_file_unavailable()
    {
        var id = (await _s.PutAsync(_s.Olga, "/four-eyes/bad.csv", ReleaseTestServer.Csv())).GetProperty("versionId").GetGuid();

        await UploadProtocolTests.AssertProblemAsync(await _s.PostReasonAsync(_s.Petra, $"/v1/approvals/{id}/reject", null), HttpStatusCode.BadRequest, "invalid-request");
        using var reject = await _s.PostReasonAsync(_s.Petra, $"/v1/approvals/{id}/reject", "wrong plant");

        Assert.Equal(HttpStatusCode.OK, reject.StatusCode);
        var problem = await UploadProtocolTests.AssertProblemAsync(await _s.Dana.GetAsync(_s.Url("/v1/files/four-eyes/bad.csv")), HttpStatusCode.Conflict, "file-rejected");
        Assert.Equal("rejected", problem.GetProperty("state").GetString());
        Assert.Empty((await _s.GetJsonAsync(_s.Petra, "/v1/approvals")).GetProperty("versions").EnumerateArray());
        var rejected = Assert.Single(await _s.AuditAsync(), r => r.Action == "approval.rejected");
        Assert.Equal(("petra", $"version {id}: rejected by petra; reason: wrong plant"), (rejected.Actor.User, rejected.Detail));
    }

    [Fact]
    public async Task A_scanner_that_is_down_holds_uploads_pending_and_they_are_released_once_it_is_back()
    {
        _s.Chain.Down = true;
        var first = await _s.PutAsync(_s.Olga, "/held/a.csv", ReleaseTestServer.Csv());
        var second = await _s.PutAsync(_s.Olga, "/held/b.csv", ReleaseTestServer.Csv(10));

        Assert.Equal(["pending-scan", "pending-scan"], new[] { first, second }.Select(c => c.GetProperty("state").GetString()));
        using (var get = await _s.Dana.GetAsync(_s.Url("/v1/files/held/a.csv")))
        {
            var problem = await UploadProtocolTests.AssertProblemAsync(get, HttpStatusCode.Conflict, "file-pending");
            Assert.Equal("pending-scan", problem.GetProperty("state").GetString());
            Assert.Equal(TimeSpan.FromSeconds(5), get.Headers.RetryAfter!.Delta);
        }

        // Several retries while it is down: still held, one scan.held per version, one incident for the outage.
        var before = _s.Chain.Scans;
        await ReleaseTestServer.WaitUntilAsync(() => Task.FromResult(_s.Chain.Scans >= before + 4), "the held versions were retried");
        Assert.Equal(HttpStatusCode.Conflict, (await _s.Dana.GetAsync(_s.Url("/v1/files/held/a.csv"))).StatusCode);
        var records = await _s.AuditAsync();
        Assert.Equal(2, records.Count(r => r.Action == "scan.held"));
        Assert.All(records.Where(r => r.Action == "scan.held"), r => Assert.Contains("connection refused (test: scanner down)", r.Detail, StringComparison.Ordinal));
        Assert.Equal("scanner-unavailable", Assert.Single(_s.Incidents.Incidents).Kind);

        _s.Chain.Down = false;
        await ReleaseTestServer.WaitUntilAsync(
            async () => (await _s.Dana.GetAsync(_s.Url("/v1/files/held/a.csv"))).StatusCode == HttpStatusCode.OK
                && (await _s.Dana.GetAsync(_s.Url("/v1/files/held/b.csv"))).StatusCode == HttpStatusCode.OK,
            "both held files were released");
        Assert.Equal(2, (await _s.AuditAsync()).Count(r => r.Action == "file.released"));
        Assert.Single(_s.Incidents.Incidents);
    }

    [Fact]
    public async Task A_scan_that_never_finishes_is_cut_off_and_the_file_held_until_a_scan_decides()
    {
        await using var s = await ReleaseTestServer.StartAsync(configure: settings => settings.Content.ScanServiceTimeoutSeconds = 0.3);
        s.Chain.Hang = true;

        Assert.Equal("pending-scan", (await s.PutAsync(s.Olga, "/hang/a.csv", ReleaseTestServer.Csv())).GetProperty("state").GetString());

        var held = Assert.Single(await s.AuditAsync(), r => r.Action == "scan.held");
        Assert.Contains("the scan did not finish within 0.3 s", held.Detail, StringComparison.Ordinal);
        s.Chain.Hang = false;
        await ReleaseTestServer.WaitUntilAsync(async () => (await s.Dana.GetAsync(s.Url("/v1/files/hang/a.csv"))).StatusCode == HttpStatusCode.OK, "the file was released");
    }

    [Fact]
    public async Task A_version_left_pending_when_the_server_stopped_is_scanned_after_the_restart()
    {
        _s.Chain.Down = true;
        Assert.Equal("pending-scan", (await _s.PutAsync(_s.Olga, "/restart/a.csv", ReleaseTestServer.Csv())).GetProperty("state").GetString());

        var fresh = new TestScannerChain();
        await _s.Fixture.RestartAsync(services: services => ReleaseTestServer.Register(services, fresh, new RecordingIncidentNotifier()));
        await _s.ReconnectAsync();

        await ReleaseTestServer.WaitUntilAsync(async () => (await _s.Dana.GetAsync(_s.Url("/v1/files/restart/a.csv"))).StatusCode == HttpStatusCode.OK, "the file was released after the restart");
        Assert.Equal(1, fresh.Scans);
    }

    [Fact]
    public async Task An_admin_releases_a_quarantined_file_only_with_a_reason_and_it_becomes_downloadable()
    {
        var content = ReleaseTestServer.Infected();
        var id = (await _s.PutAsync(_s.Olga, "/in/false-positive.bin", content)).GetProperty("versionId").GetGuid();

        await UploadProtocolTests.AssertProblemAsync(await _s.PostReasonAsync(_s.Admin, $"/v1/quarantine/{id}/release", null), HttpStatusCode.BadRequest, "invalid-request");
        using var release = await _s.PostReasonAsync(_s.Admin, $"/v1/quarantine/{id}/release", "vendor confirmed a false positive, ticket 4711");

        Assert.Equal(HttpStatusCode.OK, release.StatusCode);
        Assert.Equal(content, await _s.Dana.GetByteArrayAsync(_s.Url("/v1/files/in/false-positive.bin")));
        Assert.Empty((await _s.GetJsonAsync(_s.Admin, "/v1/quarantine")).GetProperty("versions").EnumerateArray());
        var released = Assert.Single(await _s.AuditAsync(), r => r.Action == "file.released");
        Assert.Equal("admin", released.Actor.User);
        Assert.Equal(
            $"version {id}: released from quarantine by admin despite test-av TestAV 1.0/42 found Eicar-Test-Signature; reason: vendor confirmed a false positive, ticket 4711",
            released.Detail);
        await UploadProtocolTests.AssertProblemAsync(await _s.PostReasonAsync(_s.Admin, $"/v1/quarantine/{id}/release", "again"), HttpStatusCode.Conflict, "release-state-conflict");
    }

    [Fact]
    public async Task An_admin_deletes_a_quarantined_file_with_its_container()
    {
        var commit = await _s.PutAsync(_s.Olga, "/in/delete-me.bin", ReleaseTestServer.Infected());
        var id = commit.GetProperty("versionId").GetGuid();
        var container = new LocalObjectStore(Path.Combine(_s.Fixture.DataPath, "store")).GetObjectPath(id.ToString("N"));
        Assert.True(File.Exists(container));

        Assert.Equal(HttpStatusCode.NoContent, (await _s.Admin.DeleteAsync(_s.Url($"/v1/quarantine/{id}"))).StatusCode);

        Assert.False(File.Exists(container));
        await UploadProtocolTests.AssertProblemAsync(await _s.Admin.GetAsync(_s.Url("/v1/files/in/delete-me.bin")), HttpStatusCode.NotFound, "file-not-found");
        await UploadProtocolTests.AssertProblemAsync(await _s.Admin.DeleteAsync(_s.Url($"/v1/quarantine/{id}")), HttpStatusCode.NotFound, "version-not-found");
        var deleted = Assert.Single(await _s.AuditAsync(), r => r.Action == "file.delete");
        Assert.Equal(("admin", "/in/delete-me.bin"), (deleted.Actor.User, deleted.Path));
        Assert.Contains("quarantined version deleted", deleted.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_new_upload_over_a_quarantined_version_keeps_that_container_as_evidence_until_an_admin_deletes_it()
    {
        var infected = (await _s.PutAsync(_s.Olga, "/in/report.pdf", ReleaseTestServer.Infected())).GetProperty("versionId").GetGuid();
        var clean = ReleaseTestServer.Csv();

        Assert.Equal("released", (await _s.PutAsync(_s.Olga, "/in/report.pdf", clean)).GetProperty("state").GetString());

        Assert.Equal(clean, await _s.Dana.GetByteArrayAsync(_s.Url("/v1/files/in/report.pdf")));
        var evidence = Assert.Single((await _s.GetJsonAsync(_s.Admin, "/v1/quarantine")).GetProperty("versions").EnumerateArray());
        Assert.Equal((infected, false), (evidence.GetProperty("versionId").GetGuid(), evidence.GetProperty("current").GetBoolean()));
        Assert.True(File.Exists(new LocalObjectStore(Path.Combine(_s.Fixture.DataPath, "store")).GetObjectPath(infected.ToString("N"))));
        await UploadProtocolTests.AssertProblemAsync(await _s.PostReasonAsync(_s.Admin, $"/v1/quarantine/{infected}/release", "no"), HttpStatusCode.Conflict, "version-superseded");
        Assert.Equal(HttpStatusCode.NoContent, (await _s.Admin.DeleteAsync(_s.Url($"/v1/quarantine/{infected}"))).StatusCode);
        Assert.Equal(clean, await _s.Dana.GetByteArrayAsync(_s.Url("/v1/files/in/report.pdf")));
    }

    [Fact]
    public async Task Quarantine_and_approval_endpoints_refuse_callers_without_their_permission()
    {
        var quarantined = (await _s.PutAsync(_s.Olga, "/in/x.bin", ReleaseTestServer.Infected())).GetProperty("versionId").GetGuid();
        var pending = (await _s.PutAsync(_s.Olga, "/four-eyes/x.csv", ReleaseTestServer.Csv())).GetProperty("versionId").GetGuid();

        foreach (var client in new[] { _s.Dana, _s.Olga, _s.Petra })
        {
            await AuthorizationTests.AssertForbiddenAsync(await client.GetAsync(_s.Url("/v1/quarantine")));
            await AuthorizationTests.AssertForbiddenAsync(await _s.PostReasonAsync(client, $"/v1/quarantine/{quarantined}/release", "mine"));
            await AuthorizationTests.AssertForbiddenAsync(await client.DeleteAsync(_s.Url($"/v1/quarantine/{quarantined}")));
        }

        await AuthorizationTests.AssertForbiddenAsync(await _s.Dana.GetAsync(_s.Url("/v1/approvals")));
        await AuthorizationTests.AssertForbiddenAsync(await _s.PostReasonAsync(_s.Dana, $"/v1/approvals/{pending}/reject", "no"));
        await UploadProtocolTests.AssertProblemAsync(await _s.PostReasonAsync(_s.Petra, $"/v1/approvals/{Guid.NewGuid()}/approve", null), HttpStatusCode.NotFound, "version-not-found");
        await UploadProtocolTests.AssertProblemAsync(await _s.PostReasonAsync(_s.Petra, $"/v1/approvals/{quarantined}/approve", null), HttpStatusCode.Forbidden, "forbidden");
        Assert.Equal(HttpStatusCode.Conflict, (await _s.Dana.GetAsync(_s.Url("/v1/files/four-eyes/x.csv"))).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await _s.Dana.GetAsync(_s.Url("/v1/files/in/x.bin"))).StatusCode);
    }
}

/// <summary>Approval expiry, on a clock the test moves.</summary>
public sealed class ReleaseExpiryTests
{
    [Fact]
    public async Task An_approval_past_its_expiry_is_rejected_by_the_service_as_system()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var chain = new TestScannerChain { ApprovalExpiry = TimeSpan.FromHours(24) };

        // Sweeps hourly: advancing the fake clock fires a periodic timer once per period passed, so the test servers'
        // 0.2 s sweep made the 25 h advanced here 450,000 sweep ticks, minutes of CPU under load.
        await using var s = await ReleaseTestServer.StartAsync(clock, settings => settings.Content.ScanSweepSeconds = 3600, chain);
        var commit = await s.PutAsync(s.Olga, "/four-eyes/late.csv", ReleaseTestServer.Csv());
        var id = commit.GetProperty("versionId").GetGuid();
        var pending = Assert.Single((await s.GetJsonAsync(s.Petra, "/v1/approvals")).GetProperty("versions").EnumerateArray());
        Assert.Equal(clock.GetUtcNow().AddHours(24).ToUnixTimeMilliseconds(), pending.GetProperty("approvalExpiresAt").GetDateTimeOffset().ToUnixTimeMilliseconds());

        // A sweep at 23 h, run to its end here rather than waited for, leaves the approval pending.
        clock.Advance(TimeSpan.FromHours(23));
        await s.Fixture.Server.Services.GetRequiredService<ScanService>().SweepAsync(TestContext.Current.CancellationToken);
        Assert.Single((await s.GetJsonAsync(s.Petra, "/v1/approvals")).GetProperty("versions").EnumerateArray());

        clock.Advance(TimeSpan.FromHours(2));
        await ReleaseTestServer.WaitUntilAsync(
            async () => (await s.Dana.GetAsync(s.Url("/v1/files/four-eyes/late.csv"))).Headers.TryGetValues("TMF-Release-State", out var state) && state.Single() == "rejected",
            "the expired approval was rejected");

        await UploadProtocolTests.AssertProblemAsync(await s.PostReasonAsync(s.Petra, $"/v1/approvals/{id}/approve", null), HttpStatusCode.Conflict, "release-state-conflict");
        var rejected = Assert.Single(await s.AuditAsync(), r => r.Action == "approval.rejected");
        Assert.Equal("system", rejected.Actor.User);
        Assert.Contains("rejected automatically", rejected.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_embedding_without_a_scanner_chain_releases_versions_unscanned_and_the_audit_trail_says_so()
    {
        // The executable always registers the chain; only an embedding that removes it gets here.
        await using var server = await ServerFixture.StartAsync(services: s => s.RemoveAll<TurboMft.Host.Scanning.IScannerChain>());
        using var content = new ByteArrayContent(ReleaseTestServer.Csv());
        using var put = await server.Client.PutAsync(server.Url("/v1/files/embedded/a.csv"), content);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal("released", JsonDocument.Parse(await put.Content.ReadAsStringAsync()).RootElement.GetProperty("state").GetString());

        await server.Server.Services.GetRequiredService<TurboMft.Host.Audit.AuditLog>().FlushAsync();
        var released = Assert.Single(new TurboMft.Host.Audit.AuditFileReader(Path.Combine(server.DataPath, "audit")).Read(), r => r.Action == "file.released");
        Assert.Contains("unscanned, no content scanner is configured", released.Detail, StringComparison.Ordinal);
    }
}
