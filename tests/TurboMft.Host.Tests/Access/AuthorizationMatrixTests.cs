using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using TurboMft.Host.Tests.Server;

namespace TurboMft.Host.Tests.Access;

/// <summary>
/// Every built-in role × every operation × inside and outside its area, and held on "/", against one real server. Each role
/// is granted on <see cref="Inside"/> to one user and on "/" to another; <see cref="Outside"/> is another area, and the
/// "/"-holders work in <see cref="Elsewhere"/>. The expected statuses are the policy at a glance.
/// </summary>
public sealed class AuthorizationMatrixTests(AuthorizationMatrixTests.Site site) : IClassFixture<AuthorizationMatrixTests.Site>
{
    public const string Inside = "/ot/plant1";
    public const string Outside = "/it";
    public const string Elsewhere = "/lab";

    // "200+" = 200 with records of the area; "200-" = 200 but nothing from the area is visible.
    // The admin endpoints and /metrics need their permission on "/": held on an area they allow nothing.
    private static readonly string[] Matrix =
    [
        "role       | area    | list | read | write | upload | delete | audit | admin | metrics",
        "admin      | inside  | 200  | 200  | 201   | 201    | 204    | 200+  | 403   | 403",
        "admin      | outside | 403  | 403  | 403   | 403    | 403    | 200-  | 403   | 403",
        "admin      | root    | 200  | 200  | 201   | 201    | 204    | 200+  | 200   | 200",
        "operator   | inside  | 200  | 200  | 201   | 201    | 204    | 403   | 403   | 403",
        "operator   | outside | 403  | 403  | 403   | 403    | 403    | 403   | 403   | 403",
        "operator   | root    | 200  | 200  | 201   | 201    | 204    | 403   | 403   | 403",
        "uploader   | inside  | 200  | 403  | 201   | 201    | 403    | 403   | 403   | 403",
        "uploader   | outside | 403  | 403  | 403   | 403    | 403    | 403   | 403   | 403",
        "uploader   | root    | 200  | 403  | 201   | 201    | 403    | 403   | 403   | 403",
        "downloader | inside  | 200  | 200  | 403   | 403    | 403    | 403   | 403   | 403",
        "downloader | outside | 403  | 403  | 403   | 403    | 403    | 403   | 403   | 403",
        "downloader | root    | 200  | 200  | 403   | 403    | 403    | 403   | 403   | 403",
        "auditor    | inside  | 200  | 403  | 403   | 403    | 403    | 200+  | 403   | 403",
        "auditor    | outside | 403  | 403  | 403   | 403    | 403    | 200-  | 403   | 403",
        "auditor    | root    | 200  | 403  | 403   | 403    | 403    | 200+  | 403   | 403",
        "approver   | inside  | 200  | 200  | 403   | 403    | 403    | 403   | 403   | 403",
        "approver   | outside | 403  | 403  | 403   | 403    | 403    | 403   | 403   | 403",
        "approver   | root    | 200  | 200  | 403   | 403    | 403    | 403   | 403   | 403",
        "monitor    | inside  | 403  | 403  | 403   | 403    | 403    | 403   | 403   | 403",
        "monitor    | outside | 403  | 403  | 403   | 403    | 403    | 403   | 403   | 403",
        "monitor    | root    | 403  | 403  | 403   | 403    | 403    | 403   | 403   | 200",
    ];

    public static TheoryData<string, string, string, string> Cases()
    {
        var rows = Matrix.Select(line => line.Split('|', StringSplitOptions.TrimEntries)).ToList();
        var operations = rows[0][2..];
        var data = new TheoryData<string, string, string, string>();
        foreach (var row in rows.Skip(1))
        {
            for (var i = 0; i < operations.Length; i++)
            {
                data.Add(row[0], row[1], operations[i], row[i + 2]);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Role_on_area_allows_exactly_its_permissions(string role, string where, string operation, string expected)
    {
        var area = where switch
        {
            "inside" => Inside,
            "outside" => Outside,
            _ => Elsewhere,
        };
        var client = site.Clients[where == "root" ? role + "-root" : role];
        var name = $"{role}-{operation}.bin";
        using var response = operation switch
        {
            "list" => await client.GetAsync(site.Url($"/v1/files?prefix={area}")),
            "read" => await client.GetAsync(site.Url($"/v1/files{area}/seed.bin")),
            "write" => await client.PutAsync(site.Url($"/v1/files{area}/{name}"), new ByteArrayContent(RandomNumberGenerator.GetBytes(100))),
            "upload" => await client.PostAsJsonAsync(site.Url("/v1/uploads"), new { path = $"{area}/{name}", size = 100 }),
            "delete" => await client.DeleteAsync(site.Url($"/v1/files{area}/delete-{role}.bin")),
            "audit" => await client.GetAsync(site.Url($"/v1/audit?path={area}&limit=10000")),
            "admin" => await client.GetAsync(site.Url("/v1/admin/users")),
            "metrics" => await client.GetAsync(site.Url("/metrics")),
            _ => throw new ArgumentOutOfRangeException(nameof(operation)),
        };

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture) == expected[..3], $"{role} {operation} {area}: {(int)response.StatusCode} {body}");
        if (expected[..3] == "403")
        {
            await AuthorizationTests.AssertForbiddenAsync(response);
        }
        else if (operation == "audit")
        {
            var records = JsonDocument.Parse(body).RootElement.GetProperty("records").GetArrayLength();
            Assert.True(expected[3] == '+' ? records > 0 : records == 0, $"{role} sees {records} audit records of {area}");
        }
    }

    /// <summary>One server; per built-in role a user and token granted on <see cref="Inside"/> and another on "/"; files to read and delete in every area.</summary>
    public sealed class Site : IAsyncLifetime
    {
        public static readonly string[] Roles = ["admin", "operator", "uploader", "downloader", "auditor", "approver", "monitor"];

        private ServerFixture _server = null!;

        public Dictionary<string, HttpClient> Clients { get; } = [];

        public Uri Url(string relative) => _server.Url(relative);

        public async ValueTask InitializeAsync()
        {
            _server = await ServerFixture.StartAsync();
            foreach (var area in new[] { Inside, Outside, Elsewhere })
            {
                await SeedAsync($"{area}/seed.bin");
                foreach (var role in Roles)
                {
                    await SeedAsync($"{area}/delete-{role}.bin");
                }
            }

            foreach (var role in Roles)
            {
                Clients[role] = await ClientAsync("matrix-" + role, role, Inside);
                Clients[role + "-root"] = await ClientAsync("matrix-root-" + role, role, "/");
            }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var client in Clients.Values)
            {
                client.Dispose();
            }

            await _server.DisposeAsync();
        }

        private async Task<HttpClient> ClientAsync(string user, string role, string area)
        {
            await EnsureAsync(await _server.Client.PostAsJsonAsync(_server.Url("/v1/admin/users"), new { name = user, roles = new[] { new { role, area } } }));
            var issued = await _server.Client.PostAsJsonAsync(_server.Url("/v1/admin/tokens"), new { user });
            await EnsureAsync(issued);
            var token = (await issued.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString();
            return ServerFixture.CreateClient(_server.Server.Fingerprint, token, HttpVersion.Version11);
        }

        private static async Task EnsureAsync(HttpResponseMessage response) =>
            Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");

        private async Task SeedAsync(string path)
        {
            using var content = new ByteArrayContent(RandomNumberGenerator.GetBytes(1000));
            await EnsureAsync(await _server.Client.PutAsync(_server.Url("/v1/files" + path), content));
        }
    }
}
