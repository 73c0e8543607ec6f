using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TurboMft.Engine.Storage;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Tests.Server;

/// <summary>Containers left in objects/ by a commit or delete cut short are set aside at start (docs/operations.md).</summary>
public sealed class OrphanedObjectsTests : IAsyncLifetime
{
    private ServerFixture _server = null!;

    public async ValueTask InitializeAsync() => _server = await ServerFixture.StartAsync();

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_container_nothing_names_is_moved_to_orphaned_at_start_and_named_ones_stay()
    {
        var body = new byte[300_000];
        Random.Shared.NextBytes(body);
        Assert.Equal(HttpStatusCode.Created, (await _server.Client.PutAsync(_server.Url("/v1/files/in/kept.bin"), new ByteArrayContent(body))).StatusCode);
        var open = await _server.Client.PostAsJsonAsync(_server.Url("/v1/uploads"), new { path = "/in/resumable.bin", size = 10, chunkSize = 1 << 20 });
        Assert.Equal(HttpStatusCode.Created, open.StatusCode);
        var sessionKey = Guid.Parse(JsonDocument.Parse(await open.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!).ToString("N");
        var orphanKey = Guid.NewGuid().ToString("N");
        var store = new LocalObjectStore(DataDirectory.Open(_server.DataPath).StorePath);
        var keptKey = Assert.Single(store.ListObjects());

        await _server.RestartAsync(whileStopped: _ =>
        {
            // As a kill -9 between a commit's rename and its metadata transaction leaves it: a whole container no row names.
            foreach (var key in new[] { orphanKey, sessionKey })
            {
                Directory.CreateDirectory(Path.GetDirectoryName(store.GetObjectPath(key))!);
                File.Copy(store.GetObjectPath(keptKey), store.GetObjectPath(key));
            }
        });

        Assert.False(File.Exists(store.GetObjectPath(orphanKey)));
        var aside = Path.Combine(store.RootDirectory, "orphaned", orphanKey);
        Assert.Equal(new FileInfo(store.GetObjectPath(keptKey)).Length, new FileInfo(aside).Length);
        Assert.True(File.Exists(store.GetObjectPath(sessionKey)), "an open upload's container is finished on resume, not set aside");
        Assert.Equal(body, await _server.Client.GetByteArrayAsync(_server.Url("/v1/files/in/kept.bin")));
        var audit = string.Concat(Directory.GetFiles(DataDirectory.Open(_server.DataPath).AuditPath, "audit-*.jsonl").Select(File.ReadAllText));
        Assert.Contains("\"storage.orphaned\"", audit, StringComparison.Ordinal);
        Assert.Contains($"1 containers that no version or open upload names moved to {Path.Combine(store.RootDirectory, "orphaned")}", audit, StringComparison.Ordinal);

        // Nothing new at the next start.
        await _server.RestartAsync();
        Assert.Single(Directory.GetFiles(Path.Combine(store.RootDirectory, "orphaned")));
        Assert.True(File.Exists(store.GetObjectPath(keptKey)));
    }
}
