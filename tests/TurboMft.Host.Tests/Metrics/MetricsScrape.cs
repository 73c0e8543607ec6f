using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using TurboMft.Host.Tests.Server;

namespace TurboMft.Host.Tests.Metrics;

/// <summary>
/// One scrape of <c>GET /metrics</c>: the text, its samples by name and labels, and a check of the text by Prometheus's own
/// parser (<c>promtool check metrics</c>, from Debian's prometheus package, which .ci/run installs).
/// </summary>
internal sealed partial class MetricsScrape
{
    private readonly List<(string Name, Dictionary<string, string> Labels, double Value)> _samples = [];

    private MetricsScrape(string text, string? contentType)
    {
        Text = text;
        ContentType = contentType;
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith('#'))
            {
                continue;
            }

            var match = Sample().Match(line);
            Assert.True(match.Success, $"not a sample line: {line}");
            var labels = Label().Matches(match.Groups["labels"].Value).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
            _samples.Add((match.Groups["name"].Value, labels, double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture)));
        }
    }

    public string Text { get; }

    public string? ContentType { get; }

    /// <summary>Scrapes <paramref name="server"/> with <paramref name="client"/> (a token holding metrics on "/"); 200 expected.</summary>
    public static async Task<MetricsScrape> TakeAsync(HttpClient client, ServerFixture server)
    {
        using var response = await client.GetAsync(server.Url("/metrics"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET /metrics: {(int)response.StatusCode} {text}");
        return new MetricsScrape(text, response.Content.Headers.ContentType?.ToString());
    }

    /// <summary>A client whose token belongs to a new user holding <paramref name="role"/> on <paramref name="area"/>.</summary>
    public static async Task<HttpClient> ClientWithRoleAsync(ServerFixture server, string user, string role, string area = "/")
    {
        using (var created = await server.Client.PostAsJsonAsync(server.Url("/v1/admin/users"), new { name = user, roles = new[] { new { role, area } } }))
        {
            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        }

        using var issued = await server.Client.PostAsJsonAsync(server.Url("/v1/admin/tokens"), new { user });
        Assert.True(issued.IsSuccessStatusCode, await issued.Content.ReadAsStringAsync());
        var token = (await issued.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString();
        return ServerFixture.CreateClient(server.Server.Fingerprint, token, HttpVersion.Version11);
    }

    /// <summary>The one sample named <paramref name="name"/> whose labels include <paramref name="labels"/>.</summary>
    public double Value(string name, params (string Name, string Value)[] labels)
    {
        var found = _samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Name, out var v) && v == l.Value)).ToList();
        Assert.True(found.Count == 1, $"{found.Count} samples of {name}{{{string.Join(',', labels.Select(l => $"{l.Name}=\"{l.Value}\""))}}} in:\n{Text}");
        return found[0].Value;
    }

    /// <summary>Runs <c>promtool check metrics</c> over the text; it must find nothing to complain about.</summary>
    public async Task AssertPromtoolAcceptsAsync()
    {
        var start = new ProcessStartInfo("promtool", "check metrics")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        Process promtool;
        try
        {
            promtool = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("promtool is not installed: install Debian's prometheus package (`apt-get install -y prometheus`; .ci/run does this in CI).", e);
        }

        using (promtool)
        {
            var output = promtool.StandardOutput.ReadToEndAsync();
            var error = promtool.StandardError.ReadToEndAsync();
            await promtool.StandardInput.WriteAsync(Text);
            promtool.StandardInput.Close();
            await promtool.WaitForExitAsync();
            Assert.True(promtool.ExitCode == 0, $"promtool check metrics: exit {promtool.ExitCode}\n{await output}{await error}");
            Assert.Equal(string.Empty, (await output + await error).Trim());
        }
    }

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>\S+)$""")]
    private static partial Regex Sample();

    [GeneratedRegex("""([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)",?""")]
    private static partial Regex Label();
}
