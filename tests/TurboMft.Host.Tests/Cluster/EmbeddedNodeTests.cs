using System.Net;
using System.Net.Http.Json;
using TurboMft.Engine.Protocol;
using TurboMft.Host.Tests.Harness;

namespace TurboMft.Host.Tests.Cluster;

/// <summary>The embedded server is a cluster of one: ready at once, and the node listing names it alone, live.</summary>
public sealed class EmbeddedNodeTests : IAsyncLifetime
{
    private readonly CancellationToken _cancel = TestContext.Current.CancellationToken;
    private InMemoryServer _server = null!;

    public async ValueTask InitializeAsync() => _server = await InMemoryServer.StartAsync(configure: s => s.Node = "solo-1");

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Readyz_answers_ready_anonymously_and_the_listing_holds_this_node_alone()
    {
        using var anonymous = _server.CreateClient(null);
        using var ready = await anonymous.GetAsync("/readyz", _cancel);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("ready\n", await ready.Content.ReadAsStringAsync(_cancel));

        var listing = await _server.Client.GetFromJsonAsync<NodeListing>("/v1/admin/nodes", _cancel);
        Assert.Equal("solo-1", listing!.Node);
        var node = Assert.Single(listing.Nodes);
        Assert.Equal("solo-1", node.Name);
        Assert.True(node.Live);

        using var refused = await anonymous.GetAsync("/v1/admin/nodes", _cancel);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }
}
