using System.Text;
using TurboMft.Host.Audit;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Tests.Audit;

/// <summary>A clock the test sets; timers still run on real time.</summary>
internal sealed class ManualTime(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public DateTimeOffset Now
    {
        get => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);
        set => Interlocked.Exchange(ref _ticks, value.UtcTicks);
    }

    public override DateTimeOffset GetUtcNow() => Now;

    public void Advance(TimeSpan by) => Now += by;
}

/// <summary>A temporary audit directory with a key, and helpers to fill and edit its files.</summary>
internal sealed class AuditTestLog : IDisposable
{
    public AuditTestLog()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("tmf-audit-").FullName;
    }

    public string Directory { get; }

    public AuditKey Key { get; } = AuditKey.Generate();

    public string FilePath(long number) => Path.Combine(Directory, $"audit-{number:D6}.jsonl");

    public string HeadPath => Path.Combine(Directory, "head");

    public static AuditEvent Event(string action, string? user = "alice", string? path = null, string outcome = AuditOutcome.Success, string? detail = null) => new()
    {
        Action = action,
        Actor = new AuditActor(user, user is null ? null : "tok_" + user, null, "192.0.2.7"),
        Outcome = outcome,
        Path = path,
        Detail = detail,
        CorrelationId = "corr-" + action,
    };

    public AuditLog Open(AuditLogOptions? options = null, TimeProvider? time = null) => AuditLog.Open(Directory, Key, options, time);

    /// <summary>Writes <paramref name="count"/> durable records "test.N" (detail = N) and closes the log.</summary>
    public async Task FillAsync(int count, AuditLogOptions? options = null, TimeProvider? time = null)
    {
        await using var log = Open(options, time);
        for (var i = 1; i <= count; i++)
        {
            await log.AppendDurableAsync(Event("test." + i, path: $"/area{i % 3}/file{i}", detail: i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
    }

    public AuditVerification Verify(AuditKey? key = null) => AuditVerifier.Verify(new AuditFileReader(Directory), key ?? Key);

    public List<string> Lines(long file) => [.. File.ReadAllText(FilePath(file), Encoding.UTF8).Split('\n', StringSplitOptions.RemoveEmptyEntries)];

    public void WriteLines(long file, IEnumerable<string> lines) => File.WriteAllText(FilePath(file), string.Concat(lines.Select(l => l + "\n")), new UTF8Encoding(false));

    public void Dispose()
    {
        Key.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
