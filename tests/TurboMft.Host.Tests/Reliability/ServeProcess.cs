using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using TurboMft.Host.Tests.Cli;
using TurboMft.Host.Tests.Server;

namespace TurboMft.Host.Tests.Reliability;

/// <summary>
/// <c>turbomft serve</c> as a real process over a data directory: the address and pin it prints, a pinned HTTP client for
/// looking at upload sessions, and SIGKILL.
/// </summary>
internal sealed partial class ServeProcess : IDisposable
{
    private ServeProcess(RunningTurboMft process, Uri address, string pin, string token)
    {
        Process = process;
        Address = address;
        Pin = pin;
        Client = ServerFixture.CreateClient(pin, token, HttpVersion.Version11);
    }

    public RunningTurboMft Process { get; }

    /// <summary>The address printed: <c>https://127.0.0.1:PORT/</c>.</summary>
    public Uri Address { get; }

    /// <summary>The certificate pin printed: <c>sha256:…</c>.</summary>
    public string Pin { get; }

    public HttpClient Client { get; }

    /// <summary>
    /// Starts the server on <paramref name="port"/> (0 = any) and waits for its start-up lines. A port just freed by a
    /// killed server may still be unavailable for a moment, so a failed bind is tried again a few times.
    /// </summary>
    public static async Task<ServeProcess> StartAsync(string dataPath, int port, CancellationToken cancellationToken, IDictionary<string, string?>? environment = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            var process = TurboMftProcess.Start(environment, "serve", "--data", dataPath, "--listen", $"127.0.0.1:{port}");
            try
            {
                while (!process.HasExited && !CertificateLine().IsMatch(process.Output))
                {
                    await Task.Delay(20, cancellationToken);
                }

                var output = process.Output;
                var address = ServingLine().Match(output);
                var pin = CertificateLine().Match(output);
                if (address.Success && pin.Success)
                {
                    var token = (await File.ReadAllTextAsync(Path.Combine(dataPath, "admin.token"), cancellationToken)).Trim();
                    return new ServeProcess(process, new Uri(address.Groups[1].Value), pin.Groups[1].Value, token);
                }

                var run = await process.WaitAsync(cancellationToken);
                if (attempt >= 20 || !run.Error.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
                {
                    throw new InvalidOperationException($"turbomft serve did not start:\n{run}");
                }
            }
            catch
            {
                process.Dispose();
                throw;
            }

            process.Dispose();
            await Task.Delay(250, cancellationToken);
        }
    }

    /// <summary>What the server logged at warning level or above: one line each, never a stack trace.</summary>
    public string[] LoggedProblems => [.. Process.Output.Split('\n').Where(line => line.StartsWith("warn:", StringComparison.Ordinal) || line.StartsWith("fail:", StringComparison.Ordinal) || line.StartsWith("crit:", StringComparison.Ordinal))];

    /// <summary>SIGKILL, then wait until the process is gone.</summary>
    public async Task KillAsync(CancellationToken cancellationToken)
    {
        Process.Kill();
        await Process.WaitAsync(cancellationToken);
    }

    /// <summary>Chunk indices the server holds for upload <paramref name="id"/>.</summary>
    public async Task<long[]> ReceivedAsync(string id, CancellationToken cancellationToken)
    {
        using var status = JsonDocument.Parse(await Client.GetStringAsync(new Uri(Address, $"/v1/uploads/{id}"), cancellationToken));
        return [.. status.RootElement.GetProperty("received").EnumerateArray().Select(e => e.GetInt64())];
    }

    public void Dispose()
    {
        Client.Dispose();
        Process.Dispose();
    }

    [GeneratedRegex(@"TurboMft serving (https://\S+/)")]
    private static partial Regex ServingLine();

    [GeneratedRegex(@"certificate (sha256:[0-9a-f]{64})")]
    private static partial Regex CertificateLine();
}
