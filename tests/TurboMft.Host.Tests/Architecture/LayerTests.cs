using NetArchTest.Rules;
using TurboMft.Engine.Storage;
using TurboMft.Host.Access;
using TurboMft.Host.Server;

namespace TurboMft.Host.Tests.Architecture;

/// <summary>
/// The layers of docs/architecture.md ("Folders of the Host"), read from the compiled code (every type a method body,
/// field or signature references, not only <c>using</c> lines): a folder uses only the folders below it.
/// </summary>
public sealed class LayerTests
{
    /// <summary>The folders of src/Host from the bottom up; each may use only those before it.</summary>
    public static readonly string[] Layers =
    [
        "Infrastructure", "Cluster", "Metrics", "Metadata", "Notifications", "Audit", "Scanning", "Access", "Release", "Ingest", "Delivery", "Replication", "Http", "Server", "Cli",
    ];

    /// <summary>Folders whose code may touch ASP.NET Core's HTTP types: the edge and what composes it.</summary>
    private static readonly string[] HttpEdge = ["Http", "Server", "Cli"];

    public static TheoryData<string> Folders => [.. Layers];

    [Theory]
    [MemberData(nameof(Folders))]
    public void A_folder_uses_no_folder_above_it(string folder)
    {
        var above = Layers.SkipWhile(layer => layer != folder).Skip(1).Select(Namespace).ToArray();
        Assert.NotEmpty(Types.InAssembly(typeof(TurboMftServer).Assembly).That().ResideInNamespace(Namespace(folder)).GetTypes());
        if (above.Length == 0)
        {
            return;
        }

        var result = Types.InAssembly(typeof(TurboMftServer).Assembly).That().ResideInNamespace(Namespace(folder))
            .ShouldNot().HaveDependencyOnAny(above).GetResult();
        Assert.True(result.IsSuccessful, $"{folder} uses a folder above it: {string.Join(", ", result.FailingTypes?.Select(t => t.FullName) ?? [])}");
    }

    [Fact]
    public void Every_folder_of_the_host_is_a_layer()
    {
        var namespaces = typeof(TurboMftServer).Assembly.GetTypes()
            .Select(t => t.Namespace)
            .Where(n => n is not null && n.StartsWith("TurboMft.Host.", StringComparison.Ordinal))
            .Select(n => n!["TurboMft.Host.".Length..].Split('.')[0])
            .Distinct()
            .Order(StringComparer.Ordinal);
        Assert.Equal(Layers.Order(StringComparer.Ordinal), namespaces);
    }

    public static TheoryData<string> InnerFolders => [.. Layers.Except(HttpEdge)];

    [Theory]
    [MemberData(nameof(InnerFolders))]
    public void Only_the_http_edge_touches_http_requests(string folder)
    {
        var result = Types.InAssembly(typeof(TurboMftServer).Assembly).That().ResideInNamespace(Namespace(folder))
            .ShouldNot().HaveDependencyOnAny("Microsoft.AspNetCore.Http", "Microsoft.AspNetCore.Routing", "Microsoft.AspNetCore.Builder")
            .GetResult();
        Assert.True(result.IsSuccessful, $"HTTP types in {folder}: {string.Join(", ", result.FailingTypes?.Select(t => t.FullName) ?? [])}");
    }

    [Fact]
    public void The_rule_sees_a_real_dependency()
    {
        // The checks above would pass vacuously if the dependency search saw nothing: the endpoints must be seen using Access.
        var result = Types.InAssembly(typeof(TurboMftServer).Assembly).That().ResideInNamespace(Namespace("Http"))
            .ShouldNot().HaveDependencyOnAny(Namespace("Access")).GetResult();
        Assert.False(result.IsSuccessful);
        var http = Types.InAssembly(typeof(TurboMftServer).Assembly).That().ResideInNamespace(Namespace("Http"))
            .ShouldNot().HaveDependencyOnAny("Microsoft.AspNetCore.Http").GetResult();
        Assert.False(http.IsSuccessful);
    }

    [Fact]
    public void Only_the_composition_names_the_local_object_store()
    {
        // Everything else holds the port (IObjectStore, docs/architecture.md, "Ports"), so that issue 17's stores plug in
        // beside it. The composition is Server (with OfflineStores for the CLI's offline commands) and the Use… extensions
        // of the *Services builders.
        var result = Types.InAssembly(typeof(TurboMftServer).Assembly)
            .That().DoNotResideInNamespace(Namespace("Server"))
            .And().DoNotHaveNameEndingWith("Services")
            .ShouldNot().HaveDependencyOnAny(typeof(LocalObjectStore).FullName!).GetResult();
        Assert.True(result.IsSuccessful, $"named outside the composition: {string.Join(", ", result.FailingTypes?.Select(t => t.FullName) ?? [])}");
        var engine = Types.InAssembly(typeof(LocalObjectStore).Assembly).That().DoNotResideInNamespace(typeof(LocalObjectStore).Namespace!)
            .ShouldNot().HaveDependencyOnAny(typeof(LocalObjectStore).FullName!).GetResult();
        Assert.True(engine.IsSuccessful, $"named in the Engine outside its provider: {string.Join(", ", engine.FailingTypes?.Select(t => t.FullName) ?? [])}");

        // Positive control: the rule sees the composition's use of it.
        var composition = Types.InAssembly(typeof(TurboMftServer).Assembly).That().HaveNameEndingWith("Services")
            .ShouldNot().HaveDependencyOnAny(typeof(LocalObjectStore).FullName!).GetResult();
        Assert.False(composition.IsSuccessful);
    }

    /// <summary>
    /// The embedded access store is a provider of <see cref="IAccessStore"/>: only the composition (Server) chooses it, and only
    /// its own types (SqliteAccessStore, SqliteAccessTransaction) know it; everything else holds the port.
    /// </summary>
    [Fact]
    public void Only_the_composition_and_the_provider_name_the_sqlite_access_store()
    {
        string[] allowed = ["TurboMft.Host.Access.SqliteAccess"];
        var failing = DependentsOf(typeof(SqliteAccessStore), "Server").Where(name => !allowed.Any(a => name.StartsWith(a, StringComparison.Ordinal)));
        Assert.Empty(failing);

        // The check would pass vacuously if it saw no use: the composition is seen using the provider.
        Assert.Contains(typeof(TurboMftServer).FullName!, DependentsOf(typeof(SqliteAccessStore), "Cli"));
    }

    /// <summary>
    /// The PostgreSQL access store is a provider of <see cref="IAccessStore"/> as well: only the composition (Server) may choose
    /// it, and only its own types (PostgresAccessStore, PostgresAccessTransaction) know it.
    /// </summary>
    [Fact]
    public void Only_the_composition_and_the_provider_name_the_postgres_access_store()
    {
        string[] allowed = ["TurboMft.Host.Access.PostgresAccess"];
        var dependents = DependentsOf(typeof(PostgresAccessStore), "Server").ToArray();
        var failing = dependents.Where(name => !allowed.Any(a => name.StartsWith(a, StringComparison.Ordinal)));
        Assert.Empty(failing);

        // The check would pass vacuously if it saw no use: the composition is seen choosing the provider.
        Assert.Contains(typeof(TurboMftServer).FullName!, DependentsOf(typeof(PostgresAccessStore), "Cli"));
    }

    /// <summary>Full names of the types outside <paramref name="exceptFolder"/> that depend on <paramref name="type"/>.</summary>
    private static IEnumerable<string> DependentsOf(Type type, string exceptFolder) =>
        Types.InAssembly(typeof(TurboMftServer).Assembly).That().DoNotResideInNamespace(Namespace(exceptFolder))
            .ShouldNot().HaveDependencyOnAny(type.FullName!).GetResult()
            .FailingTypes?.Select(t => t.FullName) ?? [];

    /// <summary>The store providers (embedded and PostgreSQL), which only the composition names; everything else holds their ports.</summary>
    private static readonly string[] StoreProviders =
    [
        "TurboMft.Host.Metadata.SqliteMetadataStore", "TurboMft.Host.Replication.SqliteReplicationStore",
        "TurboMft.Host.Metadata.PostgresMetadataStore", "TurboMft.Host.Replication.PostgresReplicationStore",
    ];

    /// <summary>Types that may name a provider beside the Server folder: the providers and the <c>Use…</c> extension registering each.</summary>
    private static readonly string[] ProviderHomes = [.. StoreProviders, "TurboMft.Host.Metadata.MetadataServices", "TurboMft.Host.Replication.ReplicationServices"];

    [Fact]
    public void Only_the_composition_names_a_store_provider()
    {
        var outside = TypesNaming(StoreProviders).Where(t => !t.StartsWith(Namespace("Server") + ".", StringComparison.Ordinal) && !ProviderHomes.Any(home => IsOrNestedIn(t, home)));
        Assert.True(!outside.Any(), $"Types naming a store provider instead of its port: {string.Join(", ", outside)}");
    }

    [Fact]
    public void The_provider_rule_sees_the_composition_naming_them()
    {
        // The rule above would pass vacuously if the search saw nothing: the offline stores and the Use… extensions must be seen.
        var naming = TypesNaming(StoreProviders).ToArray();
        Assert.Contains(naming, t => IsOrNestedIn(t, typeof(OfflineStores).FullName!));
        Assert.Contains(naming, t => IsOrNestedIn(t, "TurboMft.Host.Metadata.MetadataServices"));
        Assert.Contains(naming, t => IsOrNestedIn(t, "TurboMft.Host.Replication.ReplicationServices"));

        // Each PostgreSQL provider is seen chosen by its Use… extension.
        Assert.Contains(Types.InAssembly(typeof(TurboMftServer).Assembly).ShouldNot().HaveDependencyOnAny(StoreProviders[2]).GetResult().FailingTypes!, t => IsOrNestedIn(t.FullName!, "TurboMft.Host.Metadata.MetadataServices"));
        Assert.Contains(Types.InAssembly(typeof(TurboMftServer).Assembly).ShouldNot().HaveDependencyOnAny(StoreProviders[3]).GetResult().FailingTypes!, t => IsOrNestedIn(t.FullName!, "TurboMft.Host.Replication.ReplicationServices"));
    }

    private static IEnumerable<string> TypesNaming(string[] types) =>
        Types.InAssembly(typeof(TurboMftServer).Assembly).ShouldNot().HaveDependencyOnAny(types).GetResult().FailingTypes?.Select(t => t.FullName) ?? [];

    // Compiler-made types (async state machines, closures) are nested in the type whose code they hold.
    private static bool IsOrNestedIn(string type, string outer) =>
        type == outer || type.StartsWith(outer + "/", StringComparison.Ordinal) || type.StartsWith(outer + "+", StringComparison.Ordinal);

    private static string Namespace(string folder) => "TurboMft.Host." + folder;
}
