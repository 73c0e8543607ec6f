using System.Net;
using System.Reflection;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using TurboMft.Host.Infrastructure;
using TurboMft.Host.Metadata;
using TurboMft.Host.Tests.Harness;

namespace TurboMft.Host.Tests.Http;

/// <summary>
/// A shared store that is away (the PostgreSQL database restarting, an object store unreachable) is answered
/// <c>503 store-unavailable</c> with Retry-After, commits nothing, and the same request succeeds once it is back. The
/// metadata store here is the real one behind a switch that makes every call fail as a provider does when its database
/// is away (the PostgreSQL providers' own tests stop a real server).
/// </summary>
public sealed class StoreUnavailableTests : IAsyncLifetime
{
    private readonly CancellationToken _cancel = TestContext.Current.CancellationToken;
    private InMemoryServer _server = null!;
    private SwitchedMetadataStore _switch = null!;

    public async ValueTask InitializeAsync() => _server = await InMemoryServer.StartAsync(services: collection =>
    {
        var real = (IMetadataStore)collection.Last(d => d.ServiceType == typeof(IMetadataStore)).ImplementationInstance!;
        var proxy = DispatchProxy.Create<IMetadataStore, SwitchedMetadataStore>();
        _switch = (SwitchedMetadataStore)(object)proxy;
        _switch.Inner = real;
        collection.AddSingleton(proxy);
    });

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_put_while_the_store_is_away_is_503_with_retry_after_commits_nothing_and_succeeds_after()
    {
        _switch.Away = true;
        using (var refused = await _server.Client.PutAsync("/v1/files/in/report.csv", new StringContent("a,b\n1,2\n"), _cancel))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal("2", Assert.Single(refused.Headers.GetValues("Retry-After")));
            using var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync(_cancel));
            Assert.EndsWith("store-unavailable", problem.RootElement.GetProperty("type").GetString(), StringComparison.Ordinal);
            Assert.DoesNotContain("PostgreSQL", problem.RootElement.GetRawText(), StringComparison.Ordinal);
        }

        _switch.Away = false;
        Assert.Null(await _switch.Inner.GetCurrentVersionAsync("/in/report.csv", _cancel));
        using var accepted = await _server.Client.PutAsync("/v1/files/in/report.csv", new StringContent("a,b\n1,2\n"), _cancel);
        Assert.True(accepted.IsSuccessStatusCode, $"{(int)accepted.StatusCode} {await accepted.Content.ReadAsStringAsync(_cancel)}");
        Assert.Equal(8, (await _switch.Inner.GetCurrentVersionAsync("/in/report.csv", _cancel))!.Size);
    }

    /// <summary>Forwards every call to <see cref="Inner"/>, or fails it as a provider whose database is away does.</summary>
    public class SwitchedMetadataStore : DispatchProxy
    {
        public IMetadataStore Inner { get; set; } = null!;

        public volatile bool Away;

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            if (Away && targetMethod!.Name != nameof(IAsyncDisposable.DisposeAsync))
            {
                var away = new StoreUnavailableException("PostgreSQL (database test on 127.0.0.1:5432 as test) is unavailable: the test switched it off");
                return targetMethod.ReturnType == typeof(Task)
                    ? Task.FromException(away)
                    : typeof(Task).GetMethod(nameof(Task.FromException), 1, [typeof(Exception)])!.MakeGenericMethod(targetMethod.ReturnType.GetGenericArguments()[0]).Invoke(null, [away]);
            }

            try
            {
                return targetMethod!.Invoke(Inner, args);
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                throw e.InnerException;
            }
        }
    }
}
