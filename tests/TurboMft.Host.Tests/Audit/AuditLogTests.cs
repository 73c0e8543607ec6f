using System.Globalization;
using System.Runtime.Versioning;
using System.Text;
using TurboMft.Host.Audit;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Tests.Audit;

[UnsupportedOSPlatform("windows")]
public class AuditLogTests : IDisposable
{
    private readonly AuditTestLog _log = new();

    public void Dispose() => _log.Dispose();

    [Fact]
    public async Task Records_round_trip_in_call_order_with_every_field_and_verify()
    {
        await using (var log = _log.Open())
        {
            await log.AppendDurableAsync(new AuditEvent
            {
                Action = "file.upload",
                Actor = new AuditActor("alice", "tok_a", null, "192.0.2.7"),
                Outcome = AuditOutcome.Success,
                Path = "/ot/plant1/export.csv",
                Size = 42,
                Digest = "sha256-tree:abcd",
                CorrelationId = "c-1",
            });
            log.Append(new AuditEvent { Action = "file.list", Actor = new AuditActor(null, null, "site-b", "192.0.2.9"), Outcome = AuditOutcome.Denied, Path = "/ot" });
            log.Append(new AuditEvent { Action = "auth.failure", Actor = new AuditActor(null, null, null, "192.0.2.10"), Outcome = AuditOutcome.Failure, Detail = "unknown-token" });
            await log.FlushAsync();
            Assert.Equal(3, log.LastSeq);
        }

        var lines = _log.Lines(1);
        Assert.Equal(3, lines.Count);
        Assert.Matches(
            "^\\{\"seq\":1,\"time\":\"\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\",\"action\":\"file.upload\",\"outcome\":\"success\","
            + "\"actor\":\\{\"user\":\"alice\",\"token\":\"tok_a\",\"address\":\"192.0.2.7\"\\},\"path\":\"/ot/plant1/export.csv\",\"size\":42,"
            + "\"digest\":\"sha256-tree:abcd\",\"correlationId\":\"c-1\",\"prev\":\"0{64}\",\"hmac\":\"[0-9a-f]{64}\"\\}$",
            lines[0]);
        Assert.Contains("\"actor\":{\"peer\":\"site-b\",\"address\":\"192.0.2.9\"}", lines[1], StringComparison.Ordinal);
        Assert.Contains("\"detail\":\"unknown-token\"", lines[2], StringComparison.Ordinal);
        Assert.Contains($"\"prev\":\"{AuditChain.Hash(Encoding.UTF8.GetBytes(lines[0]))}\"", lines[1], StringComparison.Ordinal);

        var verification = _log.Verify();
        Assert.True(verification.Ok, verification.Break?.ToString());
        Assert.Equal(3, verification.Records);
        Assert.Equal(3, verification.LastSeq);
        Assert.Empty(verification.Notices);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_log.FilePath(1)));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_log.Directory));
    }

    [Fact]
    public async Task A_durable_append_is_in_the_file_and_the_head_anchor_when_it_returns()
    {
        await using var log = _log.Open(new AuditLogOptions { FlushInterval = TimeSpan.FromHours(1) });
        log.Append(AuditTestLog.Event("file.download"));
        await log.AppendDurableAsync(AuditTestLog.Event("file.delete", detail: "durable-marker"));

        var text = ReadShared(_log.FilePath(1));
        Assert.Contains("\"action\":\"file.download\"", text, StringComparison.Ordinal);
        Assert.Contains("durable-marker", text, StringComparison.Ordinal);
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        Assert.Contains("\"seq\":2,", ReadShared(_log.HeadPath), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_non_durable_append_is_committed_within_the_flush_interval()
    {
        await using var log = _log.Open(new AuditLogOptions { FlushInterval = TimeSpan.FromMilliseconds(200) });
        log.Append(AuditTestLog.Event("auth.success"));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!ReadShared(_log.HeadPath).Contains("\"seq\":1,", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, "the head anchor did not reach seq 1: the record was never committed");
            await Task.Delay(50);
        }

        Assert.Contains("auth.success", ReadShared(_log.FilePath(1)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Concurrent_appends_get_continuous_seqs_a_valid_chain_and_keep_each_callers_order()
    {
        const int Tasks = 16;
        const int PerTask = 150;
        await using (var log = _log.Open(new AuditLogOptions { MaxFileBytes = 64 * 1024 }))
        {
            await Task.WhenAll(Enumerable.Range(0, Tasks).Select(t => Task.Run(async () =>
            {
                for (var i = 0; i < PerTask; i++)
                {
                    var auditEvent = AuditTestLog.Event("test.concurrent", user: "u" + t, detail: $"{t}:{i}");
                    if (i % 3 == 0)
                    {
                        await log.AppendDurableAsync(auditEvent);
                    }
                    else
                    {
                        log.Append(auditEvent);
                    }
                }
            })));
        }

        var verification = _log.Verify();
        Assert.True(verification.Ok, verification.Break?.ToString());
        Assert.Equal(Tasks * PerTask, verification.Records);
        Assert.True(File.Exists(_log.FilePath(2)), "the size limit should have rotated the log");

        var records = new AuditFileReader(_log.Directory).Read().ToList();
        Assert.Equal(Enumerable.Range(1, Tasks * PerTask).Select(i => (long)i), records.Select(r => r.Seq));
        foreach (var byTask in records.GroupBy(r => r.Actor.User))
        {
            var order = byTask.Select(r => int.Parse(r.Detail!.Split(':')[1], CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(Enumerable.Range(0, PerTask), order);
        }
    }

    [Fact]
    public async Task Rotation_by_size_keeps_the_chain_across_files()
    {
        await _log.FillAsync(40, new AuditLogOptions { MaxFileBytes = 2000 });
        var files = Directory.GetFiles(_log.Directory, "audit-*.jsonl").Order(StringComparer.Ordinal).ToList();
        Assert.True(files.Count >= 5, $"{files.Count} files");
        Assert.All(files, f => Assert.InRange(new FileInfo(f).Length, 1, 2000));

        var verification = _log.Verify();
        Assert.True(verification.Ok, verification.Break?.ToString());
        Assert.Equal(40, verification.LastSeq);

        // The first record of the second file links to the last record of the first.
        var firstOfSecond = AuditRecord.TryParse(Encoding.UTF8.GetBytes(_log.Lines(2)[0]), out _)!;
        Assert.Equal(AuditChain.Hash(Encoding.UTF8.GetBytes(_log.Lines(1)[^1])), firstOfSecond.Prev);
        Assert.Equal(_log.Lines(1).Count + 1, firstOfSecond.Seq);
    }

    [Fact]
    public async Task Rotation_by_utc_day_starts_a_file_per_day_and_survives_a_reopen()
    {
        var time = new ManualTime(new DateTimeOffset(2026, 11, 26, 23, 59, 58, TimeSpan.Zero));
        await using (var log = _log.Open(time: time))
        {
            await log.AppendDurableAsync(AuditTestLog.Event("test.a"));
            await log.AppendDurableAsync(AuditTestLog.Event("test.b"));
            time.Advance(TimeSpan.FromSeconds(3));
            await log.AppendDurableAsync(AuditTestLog.Event("test.c"));
        }

        // Reopened the same day: it continues the day's file; the next day starts another.
        await using (var log = _log.Open(time: time))
        {
            await log.AppendDurableAsync(AuditTestLog.Event("test.d"));
            time.Advance(TimeSpan.FromDays(1));
            await log.AppendDurableAsync(AuditTestLog.Event("test.e"));
        }

        Assert.Equal(2, _log.Lines(1).Count);
        Assert.All(_log.Lines(1), l => Assert.Contains("\"time\":\"2026-11-26T", l, StringComparison.Ordinal));
        Assert.Equal(2, _log.Lines(2).Count);
        Assert.All(_log.Lines(2), l => Assert.Contains("\"time\":\"2026-11-27T", l, StringComparison.Ordinal));
        Assert.Single(_log.Lines(3));
        Assert.Contains("\"time\":\"2026-11-28T", _log.Lines(3)[0], StringComparison.Ordinal);
        var verification = _log.Verify();
        Assert.True(verification.Ok, verification.Break?.ToString());
        Assert.Equal(5, verification.LastSeq);
    }

    [Fact]
    public async Task A_second_open_of_the_same_directory_is_refused_while_the_first_holds_it()
    {
        await using (var log = _log.Open())
        {
            var refused = Assert.Throws<AuditUnavailableException>(() => _log.Open());
            Assert.Contains("in use by a running server", refused.Message, StringComparison.Ordinal);
            await log.AppendDurableAsync(AuditTestLog.Event("test.still-writes"));
        }

        // Released on dispose.
        await using (var again = _log.Open())
        {
            Assert.Equal(1, again.LastSeq);
        }
    }

    [Fact]
    public async Task A_partial_last_line_is_cut_at_open_and_an_audit_recovered_record_says_how_many_bytes()
    {
        await _log.FillAsync(3);
        await File.AppendAllTextAsync(_log.FilePath(1), "{\"seq\":4,\"time\":\"2026-");

        var before = _log.Verify();
        Assert.Equal(AuditBreakKind.Truncated, before.Break?.Kind);
        Assert.Equal(4, before.Break!.Seq);
        Assert.Equal(4, before.Break.Line);

        await using (var log = _log.Open())
        {
            Assert.Equal(4, log.LastSeq);
        }

        var lines = _log.Lines(1);
        Assert.Equal(4, lines.Count);
        var recovered = AuditRecord.TryParse(Encoding.UTF8.GetBytes(lines[3]), out _)!;
        Assert.Equal("audit.recovered", recovered.Action);
        Assert.Equal(AuditOutcome.Failure, recovered.Outcome);
        Assert.Equal(AuditActor.System, recovered.Actor);
        Assert.Contains("dropped 22 bytes", recovered.Detail, StringComparison.Ordinal);

        var after = _log.Verify();
        Assert.True(after.Ok, after.Break?.ToString());
        Assert.Equal(4, after.Records);
        Assert.Contains(after.Notices, n => n.Contains("dropped 22 bytes", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_head_anchor_ahead_of_the_log_is_recorded_as_audit_gap_and_stays_a_break()
    {
        await _log.FillAsync(6);
        _log.WriteLines(1, _log.Lines(1).Take(4));

        await using (var log = _log.Open())
        {
            await log.AppendDurableAsync(AuditTestLog.Event("test.after"));
        }

        var gap = AuditRecord.TryParse(Encoding.UTF8.GetBytes(_log.Lines(1)[4]), out _)!;
        Assert.Equal(5, gap.Seq);
        Assert.Equal("audit.gap", gap.Action);
        Assert.Equal(AuditOutcome.Failure, gap.Outcome);
        Assert.Contains("seq 6", gap.Detail, StringComparison.Ordinal);
        Assert.Contains("2 records are missing", gap.Detail, StringComparison.Ordinal);

        var verification = _log.Verify();
        Assert.Equal(AuditBreakKind.Truncated, verification.Break?.Kind);
        Assert.Equal(5, verification.Break!.Seq);
        Assert.Equal(5, verification.Break.Line);
        Assert.Equal(4, verification.Records);
    }

    [Fact]
    public async Task Open_refuses_a_log_whose_last_record_does_not_verify_with_the_key()
    {
        await _log.FillAsync(2);
        using var other = AuditKey.Generate();
        var refused = Assert.Throws<AuditUnavailableException>(() => AuditLog.Open(_log.Directory, other));
        Assert.Contains("does not verify with this audit key", refused.Message, StringComparison.Ordinal);

        // The refused open released the lock.
        await using var log = _log.Open();
        Assert.Equal(2, log.LastSeq);
    }

    [Fact]
    public async Task After_a_write_failure_every_append_fails_closed()
    {
        var time = new ManualTime(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
        var log = _log.Open(time: time);
        await log.AppendDurableAsync(AuditTestLog.Event("test.ok"));

        // The next record rotates (new day) into a file that already exists: the write fails.
        await File.WriteAllTextAsync(_log.FilePath(2), string.Empty);
        time.Advance(TimeSpan.FromDays(1));
        await Assert.ThrowsAsync<AuditUnavailableException>(async () => await log.AppendDurableAsync(AuditTestLog.Event("test.fails")));
        await Assert.ThrowsAsync<AuditUnavailableException>(async () => await log.AppendDurableAsync(AuditTestLog.Event("test.later")));
        var refused = Assert.Throws<AuditUnavailableException>(() => log.Append(AuditTestLog.Event("test.later")));
        Assert.Contains("could not be written", refused.Message, StringComparison.Ordinal);
        await log.DisposeAsync();
        Assert.Single(_log.Lines(1));
    }

    [Fact]
    public async Task Appends_after_dispose_are_refused()
    {
        var log = _log.Open();
        await log.DisposeAsync();
        var refused = await Assert.ThrowsAsync<AuditUnavailableException>(async () => await log.AppendDurableAsync(AuditTestLog.Event("test.late")));
        Assert.Contains("closed", refused.Message, StringComparison.Ordinal);
    }

    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
