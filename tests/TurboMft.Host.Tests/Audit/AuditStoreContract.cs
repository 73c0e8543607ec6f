using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using TurboMft.Host.Audit;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Tests.Audit;

/// <summary>
/// What every provider of <see cref="IAuditStore"/> promises (docs/architecture.md, "Ports"): records kept in order after the
/// head, read back byte for byte, the head after a restart, a record cut short by a crash dropped and reported, and, with
/// <see cref="AuditLog"/> over it, one valid chain from concurrent callers. A provider's test class derives from this and only
/// says how to open its store and how a crash mid-write looks in it.
/// </summary>
public abstract class AuditStoreContract : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 12, 7, 10, 0, 0, TimeSpan.Zero);

    /// <summary>The key the chain seals with (the store checks its last record and anchor with it).</summary>
    protected AuditKey Key { get; } = AuditKey.Generate();

    /// <summary>
    /// Opens the provider's store for this test: the first call an empty one, later calls the same stored records again
    /// (the previous store was disposed).
    /// </summary>
    protected abstract IAuditStore Open(AuditKey key);

    /// <summary>A reader of the same stored records that takes no lock (<see cref="IAuditReader"/>): what verify and export use beside a running server.</summary>
    protected abstract IAuditReader OpenReader();

    /// <summary>Leaves the closed store as a crash in the middle of writing <paramref name="line"/> after its last record would.</summary>
    protected abstract void TearAfterLastRecord(byte[] line);

    public virtual void Dispose()
    {
        Key.Dispose();
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task An_empty_store_starts_the_chain_at_genesis_with_nothing_to_read()
    {
        await using var store = Open(Key);

        Assert.Equal(AuditStoreHead.Empty, store.Head);
        Assert.Equal(new AuditStoreHead(0, AuditChain.GenesisPrev), store.Head);
        Assert.Empty(store.Recovered);
        Assert.Empty(store.Read());
    }

    [Fact]
    public async Task Written_records_read_back_in_seq_order_byte_for_byte_before_and_after_the_commit()
    {
        await using var store = Open(Key);
        var first = Seal(AuditStoreHead.Empty, 3);
        var second = Seal(Last(first), 2);

        store.Write(first);
        var beforeCommit = store.Read().ToList();
        store.Commit();
        store.Write(second);
        store.Commit();

        Assert.Equal(first.Select(r => r.Line), beforeCommit.Select(r => r.Line));
        Assert.Equal([.. first.Concat(second).Select(r => r.Line)], store.Read().Select(r => r.Line));
        Assert.Equal([1L, 2, 3, 4, 5], store.Read().Select(r => r.Seq));
        Assert.Equal(Last(second), store.Head);
        Assert.Equal([4L, 5], store.Read(afterSeq: 3).Where(r => r.Seq > 3).Select(r => r.Seq));
    }

    [Fact]
    public async Task The_head_after_a_restart_is_the_last_committed_record_and_nothing_is_reported()
    {
        var records = Seal(AuditStoreHead.Empty, 4);
        await StoreCommittedAsync(records);

        await using var reopened = Open(Key);

        Assert.Equal(Last(records), reopened.Head);
        Assert.Empty(reopened.Recovered);
        Assert.Equal(records.Select(r => r.Line), reopened.Read().Select(r => r.Line));
    }

    [Fact]
    public async Task A_record_cut_short_by_a_crash_is_dropped_at_open_and_reported()
    {
        var records = Seal(AuditStoreHead.Empty, 2);
        await StoreCommittedAsync(records);

        var torn = Seal(Last(records), 1)[0].Line;
        TearAfterLastRecord(torn[..(torn.Length / 2)]);
        await using var reopened = Open(Key);

        Assert.Equal(Last(records), reopened.Head);
        var recovered = Assert.Single(reopened.Recovered);
        Assert.Equal(("audit.recovered", AuditOutcome.Failure), (recovered.Action, recovered.Outcome));
        Assert.Equal(records.Select(r => r.Line), reopened.Read().Select(r => r.Line));

        var next = Seal(reopened.Head, 1);
        reopened.Write(next);
        reopened.Commit();
        Assert.Equal([1L, 2, 3], reopened.Read().Select(r => r.Seq));
    }

    [Fact]
    public async Task A_record_whose_seq_does_not_follow_the_head_is_refused()
    {
        await using var store = Open(Key);
        store.Write(Seal(AuditStoreHead.Empty, 1));

        Assert.Throws<ArgumentException>(() => store.Write(Seal(new AuditStoreHead(5, AuditChain.GenesisPrev), 1)));
        Assert.Equal(1, store.Head.Seq);
    }

    [Fact]
    public async Task Concurrent_appends_through_the_log_keep_each_callers_order_in_one_valid_chain()
    {
        const int Tasks = 8;
        const int PerTask = 60;
        await using (var log = AuditLog.Open(Open(Key), Key))
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

        await using var store = Open(Key);
        var records = store.Read().ToList();
        Assert.Equal(Enumerable.Range(1, Tasks * PerTask).Select(i => (long)i), records.Select(r => r.Seq));
        AssertChained(records);
        Assert.Equal(new AuditStoreHead(records[^1].Seq, AuditChain.Hash(records[^1].Line)), store.Head);
        foreach (var byTask in records.GroupBy(r => r.Actor.User))
        {
            Assert.Equal(Enumerable.Range(0, PerTask), byTask.Select(r => int.Parse(r.Detail!.Split(':')[1], CultureInfo.InvariantCulture)));
        }
    }

    [Fact]
    public async Task A_durable_append_is_in_the_store_when_it_returns_and_the_chain_continues_after_a_restart()
    {
        await using (var log = AuditLog.Open(Open(Key), Key))
        {
            await log.AppendDurableAsync(AuditTestLog.Event("test.first"));
            Assert.Equal(["test.first"], log.Store.Read().Select(r => r.Action));
        }

        var time = new FakeTimeProvider(Start);
        await using (var log = AuditLog.Open(Open(Key), Key, time: time))
        {
            log.Append(AuditTestLog.Event("test.second"));
            await log.FlushAsync();
        }

        await using var store = Open(Key);
        var records = store.Read().ToList();
        Assert.Equal(["test.first", "test.second"], records.Select(r => r.Action));
        Assert.Equal(Start, records[1].Time);
        AssertChained(records);
    }

    [Fact]
    public async Task A_reader_beside_the_open_store_sees_every_line_and_the_chain_and_anchor_verify()
    {
        await using var store = Open(Key);
        Assert.True(AuditVerifier.Verify(OpenReader(), Key) is { Ok: true, Records: 0, LastSeq: 0 });

        var records = Seal(AuditStoreHead.Empty, 5);
        store.Write(records);
        store.Commit();
        var reader = OpenReader();

        Assert.Equal(records.Select(r => r.Line), reader.Read().Select(r => r.Line));
        Assert.Equal(records.Select(r => r.Line), reader.ReadLines().Select(l => l.Line!.Value.Bytes));
        Assert.All(reader.ReadLines(), l => Assert.True(l.Line!.Value.Terminated));
        Assert.Equal(store.ReadLines().Select(l => (l.Part, l.Line!.Value.Bytes)), reader.ReadLines().Select(l => (l.Part, l.Line!.Value.Bytes)));
        var anchor = reader.ReadAnchor(Key);
        Assert.Null(anchor.Error);
        Assert.Equal((5L, records[^1].Hash), (anchor.Anchor!.Seq, anchor.Anchor.Hash));
        Assert.True(AuditVerifier.Verify(reader, Key) is { Ok: true, Records: 5, LastSeq: 5 });
        Assert.True(AuditVerifier.Verify(store, Key) is { Ok: true, Records: 5 });
    }

    [Fact]
    public async Task A_reader_shows_a_record_cut_short_by_a_crash_and_the_verifier_names_it_until_the_store_repairs_it()
    {
        var records = Seal(AuditStoreHead.Empty, 3);
        await StoreCommittedAsync(records);

        var torn = Seal(Last(records), 1)[0].Line;
        TearAfterLastRecord(torn[..(torn.Length / 2)]);

        var last = OpenReader().ReadLines().Last().Line!.Value;
        Assert.False(last.Terminated);
        Assert.Equal(torn[..(torn.Length / 2)], last.Bytes);
        Assert.Equal(3, OpenReader().Read().Count());
        var broken = AuditVerifier.Verify(OpenReader(), Key);
        Assert.Equal((AuditBreakKind.Truncated, 4L, 3L), (broken.Break!.Kind, broken.Break.Seq, broken.Records));

        await using (var reopened = AuditLog.Open(Open(Key), Key))
        {
            await reopened.FlushAsync();
        }

        var repaired = AuditVerifier.Verify(OpenReader(), Key);
        Assert.True(repaired.Ok, repaired.Break?.ToString());
        Assert.Single(repaired.Notices);
    }

    [Fact]
    public async Task An_anchor_that_fails_its_key_is_reported_by_the_reader_and_the_verifier()
    {
        var records = Seal(AuditStoreHead.Empty, 2);
        await StoreCommittedAsync(records);
        using var other = AuditKey.Generate();

        var reading = OpenReader().ReadAnchor(other);
        Assert.Null(reading.Anchor);
        Assert.NotNull(reading.Error);
        Assert.Equal(AuditBreakKind.Edited, AuditVerifier.Verify(OpenReader(), other).Break!.Kind);
    }

    /// <summary>Opens the store, writes and commits <paramref name="records"/>, and closes it.</summary>
    private async Task StoreCommittedAsync(IReadOnlyList<SealedAuditRecord> records)
    {
        await using var store = Open(Key);
        store.Write(records);
        store.Commit();
    }

    /// <summary>Every record's prev is the hash of the line before it (genesis for the first) and its HMAC verifies.</summary>
    private void AssertChained(IReadOnlyList<AuditRecord> records)
    {
        var prev = AuditChain.GenesisPrev;
        foreach (var record in records)
        {
            Assert.Equal(prev, record.Prev);
            Assert.True(AuditChain.HasValidHmac(record.Line, Key), $"seq {record.Seq} fails its HMAC");
            prev = AuditChain.Hash(record.Line);
        }
    }

    private List<SealedAuditRecord> Seal(AuditStoreHead after, int count)
    {
        var sealedRecords = new List<SealedAuditRecord>();
        var (seq, prev) = (after.Seq, after.Hash);
        for (var i = 0; i < count; i++)
        {
            var time = Start.AddSeconds(seq);
            var line = AuditChain.Encode(++seq, time, AuditTestLog.Event("test." + seq, detail: seq.ToString(CultureInfo.InvariantCulture)), prev, Key);
            prev = AuditChain.Hash(line);
            sealedRecords.Add(new SealedAuditRecord(seq, time, line, prev));
        }

        return sealedRecords;
    }

    private static AuditStoreHead Last(List<SealedAuditRecord> records) => new(records[^1].Seq, records[^1].Hash);
}
