using System.Runtime.Versioning;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using TurboMft.Engine.Protocol;
using TurboMft.Engine.Storage;
using TurboMft.Host.Access;
using TurboMft.Host.Audit;
using TurboMft.Host.Http;

namespace TurboMft.Host.Tests.Audit;

[UnsupportedOSPlatform("windows")]
public class AuditQueryTests : IDisposable
{
    private readonly AuditTestLog _log = new();

    public void Dispose() => _log.Dispose();

    [Fact]
    public async Task Filters_by_since_actor_path_segment_wise_action_prefix_after_and_limit()
    {
        var time = new ManualTime(new DateTimeOffset(2026, 11, 26, 10, 0, 0, TimeSpan.Zero));
        await using (var log = _log.Open(time: time))
        {
            log.Append(AuditTestLog.Event("auth.success", user: "alice"));
            log.Append(AuditTestLog.Event("file.upload", user: "alice", path: "/ot/plant1/a.csv"));

            // A record's time is taken when the writer sequences it.
            await log.FlushAsync();
            time.Advance(TimeSpan.FromHours(1));
            log.Append(AuditTestLog.Event("file.upload", user: "bob", path: "/ot/plant10/b.csv"));
            log.Append(AuditTestLog.Event("auth.failure", user: null));
            log.Append(new AuditEvent { Action = "file.list", Actor = new AuditActor(null, null, "site-b", "192.0.2.9"), Outcome = AuditOutcome.Success, Path = "/ot/plant1" });
            log.Append(AuditTestLog.Event("file.delete", user: "bob", path: "/ot/plant1/a.csv"));
        }

        Assert.Equal([1, 2, 3, 4, 5, 6], Seqs(new AuditQuery()));
        Assert.Equal([3, 4, 5, 6], Seqs(new AuditQuery { Since = new DateTimeOffset(2026, 11, 26, 11, 0, 0, TimeSpan.Zero) }));
        Assert.Equal([3, 6], Seqs(new AuditQuery { Actor = "bob" }));
        Assert.Equal([1, 2], Seqs(new AuditQuery { Actor = "tok_alice" }));
        Assert.Equal([5], Seqs(new AuditQuery { Actor = "site-b" }));
        Assert.Equal([2, 5, 6], Seqs(new AuditQuery { Path = RemotePath.Parse("/ot/plant1") }));
        Assert.Equal([2, 3, 5, 6], Seqs(new AuditQuery { Path = RemotePath.Parse("/ot") }));
        Assert.Equal([1, 4], Seqs(new AuditQuery { Action = "auth." }));
        Assert.Equal([2, 3], Seqs(new AuditQuery { Action = "file.upload" }));
        Assert.Empty(Seqs(new AuditQuery { Action = "file" }));
        Assert.Equal([4, 5], Seqs(new AuditQuery { After = 3, Limit = 2 }));
    }

    [Fact]
    public void Visibility_follows_the_areas_where_audit_is_held()
    {
        var records = new[]
        {
            Record(null),
            Record("/ot/plant1/a.csv"),
            Record("/ot/plant10/b.csv"),
            Record("/it/x"),
        };
        static AccessGrants Grants(params (string Area, Permission Permissions)[] grants) =>
            new(grants.Select(g => new AccessGrant(RemotePath.Parse(g.Area, allowRoot: true), g.Permissions)));

        Assert.Equal([true, true, true, true], records.Select(AuditQuery.VisibleTo(Grants(("/", Permission.Audit)).AreasWith(Permission.Audit))));
        Assert.Equal([false, true, false, false], records.Select(AuditQuery.VisibleTo(Grants(("/ot/plant1", Permission.Audit | Permission.Read)).AreasWith(Permission.Audit))));
        Assert.Equal([false, true, true, true], records.Select(AuditQuery.VisibleTo(Grants(("/ot", Permission.Audit), ("/it", Permission.Audit)).AreasWith(Permission.Audit))));

        // Other permissions on "/" do not make records without a path visible; nothing at all without audit.
        Assert.Equal([false, true, false, false], records.Select(AuditQuery.VisibleTo(Grants(("/", Permission.All & ~Permission.Audit), ("/ot/plant1", Permission.Audit)).AreasWith(Permission.Audit))));
        Assert.All(records.Select(AuditQuery.VisibleTo(AccessGrants.None.AreasWith(Permission.Audit))), Assert.False);
    }

    [Fact]
    public async Task Reading_while_the_writer_appends_sees_only_complete_records()
    {
        await using var log = _log.Open();
        var writing = Task.Run(async () =>
        {
            for (var i = 0; i < 400; i++)
            {
                log.Append(AuditTestLog.Event("test.live", detail: new string('x', i % 97)));
                if (i % 50 == 0)
                {
                    await log.FlushAsync();
                }
            }

            await log.FlushAsync();
        });

        while (!writing.IsCompleted)
        {
            var seqs = new AuditFileReader(_log.Directory).Read().Select(r => r.Seq).ToList();
            Assert.Equal(Enumerable.Range(1, seqs.Count).Select(i => (long)i), seqs);
        }

        await writing;
        Assert.Equal(400, new AuditFileReader(_log.Directory).Read().Count());
    }

    [Fact]
    public void The_query_string_is_parsed_with_defaults_bounds_and_clear_errors()
    {
        var query = AuditEndpoints.ParseQuery(Query(("since", "2026-11-26T00:00:00Z"), ("actor", "alice"), ("path", "/ot/plant1"), ("action", "auth."), ("limit", "50"), ("after", "7")), out var error);
        Assert.Null(error);
        Assert.Equal(new AuditQuery
        {
            Since = new DateTimeOffset(2026, 11, 26, 0, 0, 0, TimeSpan.Zero),
            Actor = "alice",
            Path = RemotePath.Parse("/ot/plant1"),
            Action = "auth.",
            Limit = 50,
            After = 7,
        }, query);
        Assert.Equal(AuditEndpoints.DefaultLimit, AuditEndpoints.ParseQuery(Query(), out _)!.Limit);

        Assert.Null(AuditEndpoints.ParseQuery(Query(("limit", "10001")), out error));
        Assert.Contains("1 to 10000", error, StringComparison.Ordinal);
        Assert.Null(AuditEndpoints.ParseQuery(Query(("since", "yesterday")), out error));
        Assert.Contains("RFC 3339", error, StringComparison.Ordinal);
        Assert.Null(AuditEndpoints.ParseQuery(Query(("path", "/a/../b")), out error));
        Assert.StartsWith("path:", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_page_carries_the_stored_records_byte_for_byte_and_the_next_link()
    {
        var records = new[] { Record("/a"), Record(null) };
        var body = AuditEndpoints.WritePage(records, "/v1/audit?after=2");
        var expected = "{\"records\":[" + Encoding.UTF8.GetString(records[0].Line) + "," + Encoding.UTF8.GetString(records[1].Line) + "],\"next\":\"/v1/audit?after=2\"}";
        Assert.Equal(expected, Encoding.UTF8.GetString(body));
        Assert.Equal("{\"records\":[]}", Encoding.UTF8.GetString(AuditEndpoints.WritePage([], null)));
    }

    [Fact]
    public void A_page_escapes_the_next_link_strictly_and_reads_back_as_the_clients_record()
    {
        var records = new[] { Record("/ot/plänt1/a+b.csv"), Record(null) };
        var body = AuditEndpoints.WritePage(records, "/v1/audit?action=auth.&after=2");
        var expected = "{\"records\":[" + Encoding.UTF8.GetString(records[0].Line) + "," + Encoding.UTF8.GetString(records[1].Line) + "],\"next\":\"/v1/audit?action=auth.\\u0026after=2\"}";
        Assert.Equal(expected, Encoding.UTF8.GetString(body));

        var page = JsonSerializer.Deserialize<AuditPage>(body, ProtocolJson.Options)!;
        Assert.Equal("/v1/audit?action=auth.&after=2", page.Next);
        Assert.Equal(records.Select(r => r.Line), page.Records.Select(r => r.Utf8Json.ToArray()));
        Assert.Equal(body, JsonSerializer.SerializeToUtf8Bytes(page, ProtocolJson.Options));
    }

    private List<long> Seqs(AuditQuery query) => [.. query.Run(new AuditFileReader(_log.Directory)).Select(r => r.Seq)];

    private AuditRecord Record(string? path) =>
        AuditRecord.TryParse(AuditChain.Encode(1, DateTimeOffset.UnixEpoch, AuditTestLog.Event("file.upload", path: path), AuditChain.GenesisPrev, _log.Key), out _)!;

    private static QueryCollection Query(params (string Name, string Value)[] values) =>
        new(values.ToDictionary(v => v.Name, v => new StringValues(v.Value)));
}
