using System.Runtime.Versioning;
using TurboMft.Host.Audit;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Tests.Audit;

[UnsupportedOSPlatform("windows")]
public class AuditVerifierTests : IDisposable
{
    private readonly AuditTestLog _log = new();

    public void Dispose() => _log.Dispose();

    [Fact]
    public async Task An_intact_log_verifies()
    {
        await _log.FillAsync(10);
        var verification = _log.Verify();
        Assert.True(verification.Ok, verification.Break?.ToString());
        Assert.Equal(10, verification.Records);
        Assert.Equal(10, verification.LastSeq);
    }

    [Fact]
    public void An_empty_directory_verifies_as_an_empty_log()
    {
        var verification = _log.Verify();
        Assert.True(verification.Ok);
        Assert.Equal(0, verification.Records);
    }

    [Fact]
    public async Task An_edited_field_is_edited_at_that_record()
    {
        await _log.FillAsync(10);
        var lines = _log.Lines(1);
        lines[3] = lines[3].Replace("\"user\":\"alice\"", "\"user\":\"mallory\"", StringComparison.Ordinal);
        _log.WriteLines(1, lines);
        AssertBreak(AuditBreakKind.Edited, seq: 4, line: 4);
    }

    [Fact]
    public async Task A_deleted_middle_line_is_deleted_at_the_record_after_it()
    {
        await _log.FillAsync(10);
        var lines = _log.Lines(1);
        lines.RemoveAt(4);
        _log.WriteLines(1, lines);
        var broken = AssertBreak(AuditBreakKind.Deleted, seq: 5, line: 5);
        Assert.Contains("records 5..5 were deleted", broken.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_forged_line_is_inserted_when_the_next_record_links_past_it()
    {
        await _log.FillAsync(10);
        var lines = _log.Lines(1);
        var forged = lines[3].Replace("\"detail\":\"4\"", "\"detail\":\"4b\"", StringComparison.Ordinal);
        lines.Insert(4, forged);
        _log.WriteLines(1, lines);
        AssertBreak(AuditBreakKind.Inserted, seq: 5, line: 5);
    }

    [Fact]
    public async Task A_replayed_copy_of_an_authentic_line_is_inserted()
    {
        await _log.FillAsync(10);
        var lines = _log.Lines(1);
        lines.Insert(6, lines[2]);
        _log.WriteLines(1, lines);
        var broken = AssertBreak(AuditBreakKind.Inserted, seq: 7, line: 7);
        Assert.Contains("seq 3 appears again", broken.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_swapped_lines_are_reordered_at_the_first_of_them()
    {
        await _log.FillAsync(10);
        var lines = _log.Lines(1);
        (lines[4], lines[5]) = (lines[5], lines[4]);
        _log.WriteLines(1, lines);
        AssertBreak(AuditBreakKind.Reordered, seq: 5, line: 5);
    }

    [Fact]
    public async Task Lines_cut_from_the_end_are_truncated_because_the_head_anchor_is_ahead()
    {
        await _log.FillAsync(10);
        _log.WriteLines(1, _log.Lines(1).Take(7));
        var broken = AssertBreak(AuditBreakKind.Truncated, seq: 8, line: 0);
        Assert.Equal("audit-000001.jsonl", broken.File);
        Assert.Contains("records 8..10 were cut from the end", broken.Message, StringComparison.Ordinal);
        Assert.Equal(7, _log.Verify().Records);
    }

    [Fact]
    public async Task A_partial_last_line_is_truncated_at_that_line()
    {
        await _log.FillAsync(10);
        var bytes = await File.ReadAllBytesAsync(_log.FilePath(1));
        await File.WriteAllBytesAsync(_log.FilePath(1), bytes[..^30]);
        AssertBreak(AuditBreakKind.Truncated, seq: 10, line: 10);
    }

    [Fact]
    public async Task A_deleted_middle_file_is_deleted_naming_the_file()
    {
        await _log.FillAsync(30, new AuditLogOptions { MaxFileBytes = 2000 });
        Assert.True(File.Exists(_log.FilePath(4)));
        var firstMissing = _log.Lines(1).Count + _log.Lines(2).Count + 1;
        File.Delete(_log.FilePath(2));
        var broken = AssertBreak(AuditBreakKind.Deleted, seq: _log.Lines(1).Count + 1, line: 0);
        Assert.Equal("audit-000002.jsonl", broken.File);
        Assert.True(firstMissing > broken.Seq);
    }

    [Fact]
    public async Task A_deleted_first_file_is_deleted()
    {
        await _log.FillAsync(30, new AuditLogOptions { MaxFileBytes = 2000 });
        File.Delete(_log.FilePath(1));
        var broken = AssertBreak(AuditBreakKind.Deleted, seq: 1, line: 0);
        Assert.Equal("audit-000001.jsonl", broken.File);
    }

    [Fact]
    public async Task A_deleted_last_file_is_truncated_naming_the_file()
    {
        await _log.FillAsync(30, new AuditLogOptions { MaxFileBytes = 2000 });
        var files = Directory.GetFiles(_log.Directory, "audit-*.jsonl").Order(StringComparer.Ordinal).ToList();
        var last = Path.GetFileName(files[^1]);
        File.Delete(files[^1]);
        var verification = _log.Verify();
        Assert.Equal(AuditBreakKind.Truncated, verification.Break?.Kind);
        Assert.Equal(last, verification.Break!.File);
        Assert.Equal(verification.LastSeq + 1, verification.Break.Seq);
        Assert.Contains("which is missing", verification.Break.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Another_key_makes_the_first_record_edited()
    {
        await _log.FillAsync(5);
        using var other = AuditKey.Generate();
        var verification = _log.Verify(other);
        Assert.Equal(AuditBreakKind.Edited, verification.Break?.Kind);
        Assert.Equal(1, verification.Break!.Seq);
        Assert.Equal(1, verification.Break.Line);
        Assert.Equal(0, verification.Records);
    }

    [Fact]
    public async Task A_line_that_is_not_a_record_is_malformed()
    {
        await _log.FillAsync(5);
        var lines = _log.Lines(1);
        lines[2] = "{\"seq\":3,\"oops\":true}";
        _log.WriteLines(1, lines);
        AssertBreak(AuditBreakKind.Malformed, seq: 3, line: 3);
    }

    [Fact]
    public async Task An_edited_or_missing_head_anchor_is_a_break()
    {
        await _log.FillAsync(5);
        var head = await File.ReadAllTextAsync(_log.HeadPath);
        await File.WriteAllTextAsync(_log.HeadPath, head.Replace("\"seq\":5,", "\"seq\":9,", StringComparison.Ordinal));
        var edited = _log.Verify();
        Assert.Equal(AuditBreakKind.Edited, edited.Break?.Kind);
        Assert.Equal("head", edited.Break!.File);

        File.Delete(_log.HeadPath);
        var missing = _log.Verify();
        Assert.Equal(AuditBreakKind.Truncated, missing.Break?.Kind);
        Assert.Equal("head", missing.Break!.File);
        Assert.Equal(5, missing.Records);
    }

    private AuditBreak AssertBreak(AuditBreakKind kind, long seq, long line)
    {
        var verification = _log.Verify();
        Assert.False(verification.Ok, "the tampering was not detected");
        var broken = verification.Break!;
        Assert.True(kind == broken.Kind && seq == broken.Seq && line == broken.Line, $"expected {kind} seq {seq} line {line}, got {broken}");
        Assert.Equal(seq - 1, verification.LastSeq);
        return broken;
    }
}
