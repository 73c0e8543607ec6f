using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace TurboMft.Host.Tests.Notifications;

/// <summary>One request the receiver got, and what it answered.</summary>
internal sealed record ReceivedWebhook(DateTimeOffset At, IReadOnlyDictionary<string, string> Headers, byte[] Body, int Answered)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    public string Id => Headers["TurboMft-Incident-Id"];

    public string Kind => Json.GetProperty("kind").GetString()!;
}

/// <summary>
/// A real webhook receiver: Kestrel on a loopback port (plain http, or https with a given certificate) that records every
/// request and answers the statuses in <see cref="Script"/> in turn (then 200); <see cref="Gate"/> can hold answers back.
/// </summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly List<ReceivedWebhook> _requests = [];
    private readonly SemaphoreSlim _arrived = new(0);
    private int _held;

    private WebhookReceiver(WebApplication app) => _app = app;

    public ConcurrentQueue<int> Script { get; } = new();

    /// <summary>Retry-After sent with 429 and 503 answers.</summary>
    public string? RetryAfter { get; set; }

    /// <summary>When set, every request waits for it before answering.</summary>
    public TaskCompletionSource? Gate { get; set; }

    /// <summary>How many requests have been read in full and are waiting at <see cref="Gate"/>.</summary>
    public int Held => Volatile.Read(ref _held);

    public Uri Url => new(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/hooks/turbomft");

    public IReadOnlyList<ReceivedWebhook> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    public static async Task<WebhookReceiver> StartAsync(X509Certificate2? certificate = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen =>
        {
            if (certificate is not null)
            {
                listen.UseHttps(certificate);
            }
        }));
        var app = builder.Build();
        var receiver = new WebhookReceiver(app);
        app.MapPost("/hooks/turbomft", receiver.HandleAsync);
        await app.StartAsync();
        return receiver;
    }

    /// <summary>Waits until a request matching <paramref name="match"/> has arrived.</summary>
    public async Task<ReceivedWebhook> WaitForAsync(Func<ReceivedWebhook, bool> match, TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            if (Requests.FirstOrDefault(match) is { } found)
            {
                return found;
            }

            try
            {
                await _arrived.WaitAsync(cancel.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no matching webhook request within {timeout ?? TimeSpan.FromSeconds(10)}; got {Requests.Count}: {string.Join(" | ", Requests.Select(r => Encoding.UTF8.GetString(r.Body)))}");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Gate?.TrySetResult();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        if (Gate is { } gate)
        {
            Interlocked.Increment(ref _held);
            await gate.Task;
            Interlocked.Decrement(ref _held);
        }

        var status = Script.TryDequeue(out var scripted) ? scripted : 200;
        var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        lock (_requests)
        {
            _requests.Add(new ReceivedWebhook(DateTimeOffset.UtcNow, headers, body.ToArray(), status));
        }

        _arrived.Release();
        context.Response.StatusCode = status;
        if (RetryAfter is { } after && status is 429 or 503)
        {
            context.Response.Headers.RetryAfter = after;
        }
    }
}

/// <summary>What a receiver does with <c>TurboMft-Signature</c>, written independently of the product (docs/content-security.md, "Verifying the signature").</summary>
internal static class ReceiverSide
{
    public static bool Verify(string? header, byte[] body, string secret, DateTimeOffset now)
    {
        if (header is null)
        {
            return false;
        }

        var parts = header.Split(',').Select(p => p.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
        if (!parts.TryGetValue("t", out var t) || !parts.TryGetValue("v1", out var v1) || !long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return false;
        }

        if (Math.Abs(now.ToUnixTimeSeconds() - seconds) > 300)
        {
            return false;
        }

        var signed = Encoding.ASCII.GetBytes(t + ".").Concat(body).ToArray();
        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed);
        return v1.Length == 64 && CryptographicOperations.FixedTimeEquals(Convert.FromHexString(v1), expected);
    }
}

/// <summary>A syslog collector on loopback: UDP datagrams, or TCP with RFC 6587 octet counting.</summary>
internal sealed class SyslogReceiver : IDisposable
{
    private readonly UdpClient? _udp;
    private readonly TcpListener? _tcp;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly SemaphoreSlim _arrived = new(0);
    private readonly CancellationTokenSource _stop = new();

    private SyslogReceiver(UdpClient? udp, TcpListener? tcp)
    {
        _udp = udp;
        _tcp = tcp;
        _ = udp is not null ? ReceiveUdpAsync() : AcceptTcpAsync();
    }

    public string Target => _udp is not null ? $"udp:127.0.0.1:{((IPEndPoint)_udp.Client.LocalEndPoint!).Port}" : $"tcp:127.0.0.1:{((IPEndPoint)_tcp!.LocalEndpoint).Port}";

    public static SyslogReceiver Udp() => new(new UdpClient(new IPEndPoint(IPAddress.Loopback, 0)), null);

    public static SyslogReceiver Tcp()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return new SyslogReceiver(null, listener);
    }

    public async Task<string> NextAsync(TimeSpan? timeout = null)
    {
        if (!await _arrived.WaitAsync(timeout ?? TimeSpan.FromSeconds(10)))
        {
            throw new TimeoutException("no syslog line arrived");
        }

        _lines.TryDequeue(out var line);
        return line!;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _udp?.Dispose();
        _tcp?.Stop();
        _tcp?.Dispose();
    }

    private async Task ReceiveUdpAsync()
    {
        try
        {
            while (true)
            {
                var datagram = await _udp!.ReceiveAsync(_stop.Token);
                _lines.Enqueue(Encoding.UTF8.GetString(datagram.Buffer));
                _arrived.Release();
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    private async Task AcceptTcpAsync()
    {
        try
        {
            using var client = await _tcp!.AcceptTcpClientAsync(_stop.Token);
            var stream = client.GetStream();
            var reader = new BufferedStream(stream);
            while (true)
            {
                // MSG-LEN SP SYSLOG-MSG
                var length = new StringBuilder();
                int b;
                while ((b = reader.ReadByte()) is >= '0' and <= '9')
                {
                    length.Append((char)b);
                }

                if (b != ' ')
                {
                    return;
                }

                var message = new byte[int.Parse(length.ToString(), CultureInfo.InvariantCulture)];
                await reader.ReadExactlyAsync(message, _stop.Token);
                _lines.Enqueue(Encoding.UTF8.GetString(message));
                _arrived.Release();
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException or IOException)
        {
        }
    }
}

/// <summary>RFC 5424 (section 6) parsing for the tests: header fields, every SD-ELEMENT with its unescaped params, MSG.</summary>
internal sealed partial record SyslogMessage(int Pri, string Time, string Host, string App, string ProcId, string MsgId, IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Data, string? Msg)
{
    public static SyslogMessage Parse(string line)
    {
        var match = Line().Match(line);
        Assert.True(match.Success, $"not RFC 5424: {line}");
        var data = new Dictionary<string, IReadOnlyDictionary<string, string>>();
        foreach (Match element in Element().Matches(match.Groups["sd"].Value))
        {
            var parameters = new Dictionary<string, string>();
            foreach (Match param in Param().Matches(element.Groups["params"].Value))
            {
                parameters[param.Groups["name"].Value] = Regex.Replace(param.Groups["value"].Value, """\\(["\\\]])""", "$1");
            }

            data[element.Groups["id"].Value] = parameters;
        }

        return new SyslogMessage(
            int.Parse(match.Groups["pri"].Value, CultureInfo.InvariantCulture),
            match.Groups["time"].Value,
            match.Groups["host"].Value,
            match.Groups["app"].Value,
            match.Groups["proc"].Value,
            match.Groups["msgid"].Value,
            data,
            match.Groups["msg"].Success ? match.Groups["msg"].Value[1..] : null);
    }

    [GeneratedRegex(
        """^<(?<pri>\d{1,3})>1 (?<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)) (?<host>[!-~]{1,255}) (?<app>[!-~]{1,48}) (?<proc>[!-~]{1,128}) (?<msgid>[!-~]{1,32}) (?<sd>-|(\[[^ =\]"]{1,32}( [^ =\]"]{1,32}="([^"\\\]]|\\["\\\]])*")*\])+)(?<msg> .*)?$""")]
    private static partial Regex Line();

    [GeneratedRegex("""\[(?<id>[^ =\]"]{1,32})(?<params>( [^ =\]"]{1,32}="([^"\\\]]|\\["\\\]])*")*)\]""")]
    private static partial Regex Element();

    [GeneratedRegex("""(?<name>[^ =\]"]{1,32})="(?<value>([^"\\\]]|\\["\\\]])*)" ?""")]
    private static partial Regex Param();
}

/// <summary>Keeps every log entry (formatted message and exception) for assertions.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<(LogLevel Level, string Category, string Text)> _entries = new();

    public IReadOnlyList<(LogLevel Level, string Category, string Text)> Entries => [.. _entries];

    public string AllText => string.Join("\n", _entries.Select(e => $"{e.Level} {e.Category}: {e.Text}"));

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var text = formatter(state, exception) + (exception is null ? string.Empty : "\n" + exception);
            if (state is IEnumerable<KeyValuePair<string, object?>> values)
            {
                text += " {" + string.Join(", ", values.Select(v => $"{v.Key}={v.Value}")) + "}";
            }

            owner._entries.Enqueue((logLevel, category, text));
        }
    }
}

/// <summary>A webhook secret file (0600) in a temporary directory.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
internal static class SecretFiles
{
    public static string Write(string directory, string secret)
    {
        var path = Path.Combine(directory, "webhook.secret");
        using (var stream = new FileStream(path, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
        {
            stream.Write(Encoding.UTF8.GetBytes(secret + "\n"));
        }

        return path;
    }
}
