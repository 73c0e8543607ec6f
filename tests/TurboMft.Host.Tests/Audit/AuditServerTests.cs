using System.Runtime.Versioning;
using TurboMft.Host.Audit;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Server;

namespace TurboMft.Host.Tests.Audit;

[UnsupportedOSPlatform("windows")]
public class AuditServerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tmf-audit-server-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task The_server_records_start_and_stop_holds_the_log_and_exposes_it_as_the_audit_trail()
    {
        var data = DataDirectory.Open(_dir);
        await using (var server = TurboMftServer.Create(new ServerSettings { Data = data.Root, Listen = "127.0.0.1:0" }, data, _ => { }))
        {
            await server.StartAsync();
            var log = (AuditLog)server.Services.GetService(typeof(AuditLog))!;
            Assert.Same(log, server.Services.GetService(typeof(IAuditTrail)));
            Assert.Equal(1, log.LastSeq);
            Assert.Throws<AuditUnavailableException>(() => AuditLog.Open(data));

            await ((IAuditTrail)log).AppendDurableAsync(new AuditEvent { Action = "test.request", Actor = AuditActor.System, Outcome = AuditOutcome.Success });
        }

        var records = new AuditFileReader(data.AuditPath).Read().ToList();
        Assert.Equal(["server.start", "test.request", "server.stop"], records.Select(r => r.Action));
        Assert.StartsWith("listening on https://127.0.0.1:", records[0].Detail, StringComparison.Ordinal);
        using var key = data.LoadAuditKey();
        var verification = AuditVerifier.Verify(new AuditFileReader(data.AuditPath), key);
        Assert.True(verification.Ok, verification.Break?.ToString());
        Assert.Equal(3, verification.LastSeq);

        // Released at dispose: an offline writer may open it now.
        await using var offline = AuditLog.Open(data);
        Assert.Equal(3, offline.LastSeq);
    }

    [Fact]
    public async Task A_second_server_on_the_same_data_directory_is_refused()
    {
        var data = DataDirectory.Open(_dir);
        await using var first = TurboMftServer.Create(new ServerSettings { Data = data.Root, Listen = "127.0.0.1:0" }, data, _ => { });
        var refused = Assert.Throws<AuditUnavailableException>(() => TurboMftServer.Create(new ServerSettings { Data = data.Root, Listen = "127.0.0.1:0" }, data, _ => { }));
        Assert.Contains("in use by a running server", refused.Message, StringComparison.Ordinal);
    }
}
