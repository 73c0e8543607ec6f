using TurboMft.Host.Access;
using TurboMft.Host.Audit;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Tests.Access;

/// <summary>An audit trail for tests that keeps what it was given, and can be made to fail like a full disk.</summary>
internal sealed class RecordingAuditTrail : IAuditTrail
{
    private readonly List<(AuditEvent Event, bool Durable)> _events = [];

    public bool Fail { get; set; }

    public IReadOnlyList<AuditEvent> Events
    {
        get
        {
            lock (_events)
            {
                return [.. _events.Select(e => e.Event)];
            }
        }
    }

    public IReadOnlyList<AuditEvent> Durable
    {
        get
        {
            lock (_events)
            {
                return [.. _events.Where(e => e.Durable).Select(e => e.Event)];
            }
        }
    }

    public ValueTask AppendDurableAsync(AuditEvent auditEvent, CancellationToken cancellationToken = default)
    {
        if (Fail)
        {
            throw new AuditUnavailableException("test: the audit log cannot be written");
        }

        lock (_events)
        {
            _events.Add((auditEvent, true));
        }

        return ValueTask.CompletedTask;
    }

    public void Append(AuditEvent auditEvent)
    {
        lock (_events)
        {
            _events.Add((auditEvent, false));
        }
    }
}

/// <summary>A clock a test moves by hand.</summary>
internal sealed class TestClock(DateTimeOffset start) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = start;

    public override DateTimeOffset GetUtcNow() => Now;

    public void Advance(TimeSpan by) => Now += by;
}

/// <summary>A fresh data directory with its access store, administration service and recorded audit trail.</summary>
internal sealed class AccessFixture : IAsyncDisposable
{
    private AccessFixture(string root, DataDirectory data, SqliteAccessStore store, RecordingAuditTrail audit, TestClock clock)
    {
        Root = root;
        Data = data;
        Store = store;
        Audit = audit;
        Clock = clock;
        Admin = new AccessAdministration(store, audit);
        Auth = new AccessAuthenticator(store);
    }

    public string Root { get; }

    public DataDirectory Data { get; }

    public SqliteAccessStore Store { get; private set; }

    public RecordingAuditTrail Audit { get; }

    public TestClock Clock { get; }

    public AccessAdministration Admin { get; private set; }

    /// <summary>The authenticator over <see cref="Store"/>.</summary>
    public AccessAuthenticator Auth { get; private set; }

    public static AdminCaller Caller { get; } = new(new AuditActor("admin", ApiTokens.AdminTokenId, null, "127.0.0.1"), "test-correlation");

    public static async Task<AccessFixture> CreateAsync(string? clientCaFile = null)
    {
        var root = Directory.CreateTempSubdirectory("tmf-access-").FullName;
        var data = DataDirectory.Open(root);
        var clock = new TestClock(DateTimeOffset.UtcNow);
        var store = await SqliteAccessStore.OpenAsync(data, new AccessStoreOptions { Time = clock, ClientCaFile = clientCaFile });
        return new AccessFixture(root, data, store, new RecordingAuditTrail(), clock);
    }

    /// <summary>Closes and opens the store again on the same directory.</summary>
    public async Task ReopenAsync()
    {
        var options = Store.Options;
        await Store.DisposeAsync();
        Store = await SqliteAccessStore.OpenAsync(Data, options);
        Admin = new AccessAdministration(Store, Audit);
        Auth.Dispose();
        Auth = new AccessAuthenticator(Store);
    }

    public async ValueTask DisposeAsync()
    {
        Auth.Dispose();
        await Store.DisposeAsync();
        Directory.Delete(Root, recursive: true);
    }
}
