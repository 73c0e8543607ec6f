using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using TurboMft.Engine.Client;
using TurboMft.Engine.Native;
using TurboMft.Engine.Retries;

namespace TurboMft.Host.Notifications;

/// <summary>
/// Where incidents go (docs/content-security.md, "Incident notifications"; docs/operations.md, "Settings"): a signed JSON
/// webhook and/or RFC 5424 syslog. Bound as <c>Notifications</c> of the server settings, e.g.
/// <c>TURBOMFT_Notifications__WebhookUrl</c>. Checked at start by <see cref="Resolve()"/>.
/// </summary>
public sealed class NotificationSettings
{
    /// <summary>Environment variable that holds the webhook's HMAC secret (wins over <see cref="WebhookSecretFile"/>).</summary>
    public const string SecretEnvironmentVariable = "TURBOMFT_WEBHOOK_SECRET";

    /// <summary>Shortest secret accepted, in characters (<c>openssl rand -hex 32</c> gives 64).</summary>
    public const int MinSecretLength = 32;

    /// <summary>
    /// The receiver's URL. <c>https://</c>; plain <c>http://</c> only to a loopback host (a local relay or a test), since
    /// incidents name paths, users and addresses. No user name or password in the URL.
    /// </summary>
    public string? WebhookUrl { get; set; }

    /// <summary>File holding the HMAC-SHA256 secret (owner-only, like the admin token), unless <c>TURBOMFT_WEBHOOK_SECRET</c> is set.</summary>
    public string? WebhookSecretFile { get; set; }

    /// <summary>Optional PEM or DER CA certificate that the receiver's TLS certificate must chain to (instead of the system store).</summary>
    public string? WebhookCaFile { get; set; }

    /// <summary>Optional <c>sha256:HEX</c> pin of the receiver's exact TLS certificate (instead of the system store).</summary>
    public string? WebhookPin { get; set; }

    /// <summary>Seconds one webhook attempt may take, connection included (default 10).</summary>
    public double WebhookTimeoutSeconds { get; set; } = 10;

    /// <summary>Syslog destination: <c>udp:HOST:PORT</c>, <c>tcp:HOST:PORT</c> (RFC 6587 octet counting) or <c>unix:/dev/log</c> (a datagram socket).</summary>
    public string? SyslogTarget { get; set; }

    /// <summary>Incidents queued per channel at most (default 10,000); when full, the oldest is dropped and counted.</summary>
    public int MaxQueued { get; set; } = 10_000;

    /// <summary>First retry delay in seconds (default 1); it doubles per attempt, with jitter.</summary>
    public double RetryInitialSeconds { get; set; } = 1;

    /// <summary>Longest delay between two attempts in seconds (default 300).</summary>
    public double RetryMaxDelaySeconds { get; set; } = 300;

    /// <summary>Hours an incident is retried before it is given up (default 24); 0 tries once.</summary>
    public double RetryForHours { get; set; } = 24;

    /// <summary>Checks the settings and loads the secret and the receiver's trust; the message of an error says what to fix.</summary>
    /// <exception cref="ArgumentException">A setting is malformed or contradicts another.</exception>
    /// <exception cref="IOException">The secret file or CA file cannot be read, or others can read the secret file.</exception>
    public NotificationTargets Resolve() => Resolve(Environment.GetEnvironmentVariable(SecretEnvironmentVariable));

    /// <summary><see cref="Resolve()"/> with the environment's secret given.</summary>
    internal NotificationTargets Resolve(string? secretFromEnvironment)
    {
        if (MaxQueued is < 1 or > 1_000_000)
        {
            throw Invalid(nameof(MaxQueued), $"is {MaxQueued}; give 1 to 1000000");
        }

        if (!(RetryInitialSeconds > 0) || !(RetryMaxDelaySeconds >= RetryInitialSeconds) || RetryMaxDelaySeconds > 86_400)
        {
            throw Invalid(nameof(RetryInitialSeconds), $"({RetryInitialSeconds.ToString(CultureInfo.InvariantCulture)}) and {nameof(RetryMaxDelaySeconds)} ({RetryMaxDelaySeconds.ToString(CultureInfo.InvariantCulture)}) must satisfy 0 < initial <= max <= 86400");
        }

        if (!(RetryForHours >= 0) || RetryForHours > 24 * 30)
        {
            throw Invalid(nameof(RetryForHours), $"is {RetryForHours.ToString(CultureInfo.InvariantCulture)}; give 0 (no retry) to 720");
        }

        var retry = RetrySchedule.For(TimeSpan.FromSeconds(RetryInitialSeconds), TimeSpan.FromSeconds(RetryMaxDelaySeconds), TimeSpan.FromHours(RetryForHours));
        return new NotificationTargets(ResolveWebhook(secretFromEnvironment), ParseSyslog(SyslogTarget), MaxQueued, retry);
    }

    /// <summary>Parses <c>udp:HOST:PORT</c>, <c>tcp:HOST:PORT</c> or <c>unix:PATH</c>; null for an empty value.</summary>
    internal static SyslogDestination? ParseSyslog(string? target)
    {
        if (string.IsNullOrWhiteSpace(target))
        {
            return null;
        }

        var text = target.Trim();
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var scheme = colon > 0 ? text[..colon].ToLowerInvariant() : string.Empty;
        var rest = colon > 0 ? text[(colon + 1)..] : string.Empty;
        const string Shape = "write udp:HOST:PORT, tcp:HOST:PORT or unix:/dev/log";
        if (scheme == "unix")
        {
            return rest.StartsWith('/')
                ? new SyslogDestination(SyslogTransport.Unix, null, 0, rest)
                : throw Invalid(nameof(SyslogTarget), $"'{target}' needs an absolute socket path after 'unix:'; {Shape}");
        }

        if (scheme is not ("udp" or "tcp"))
        {
            throw Invalid(nameof(SyslogTarget), $"'{target}' has no known transport; {Shape}");
        }

        var portColon = rest.LastIndexOf(':');
        var host = portColon > 0 ? rest[..portColon] : string.Empty;
        var bracketed = host.Length > 2 && host.StartsWith('[') && host.EndsWith(']');
        if (bracketed)
        {
            host = host[1..^1];
        }

        if (host.Length == 0 || (host.Contains(':', StringComparison.Ordinal) && !(bracketed && System.Net.IPAddress.TryParse(host, out _)))
            || !int.TryParse(rest[(portColon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw Invalid(nameof(SyslogTarget), $"'{target}' is not {scheme}:HOST:PORT (an IPv6 address goes in brackets, e.g. {scheme}:[::1]:514)");
        }

        return new SyslogDestination(scheme == "udp" ? SyslogTransport.Udp : SyslogTransport.Tcp, host, port, null);
    }

    private WebhookTarget? ResolveWebhook(string? secretFromEnvironment)
    {
        if (string.IsNullOrWhiteSpace(WebhookUrl))
        {
            foreach (var (name, value) in new[] { (nameof(WebhookSecretFile), WebhookSecretFile), (nameof(WebhookCaFile), WebhookCaFile), (nameof(WebhookPin), WebhookPin) })
            {
                if (!string.IsNullOrWhiteSpace(value))
                {
                    throw Invalid(name, $"is set but {nameof(WebhookUrl)} is not; set the receiver's URL or remove it");
                }
            }

            return null;
        }

        if (!Uri.TryCreate(WebhookUrl.Trim(), UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            throw Invalid(nameof(WebhookUrl), "is not an absolute https:// URL");
        }

        if (url.UserInfo.Length > 0)
        {
            throw Invalid(nameof(WebhookUrl), "holds a user name or password; the receiver authenticates TurboMft by the signature header instead");
        }

        if (url.Scheme == Uri.UriSchemeHttp && !url.IsLoopback)
        {
            throw Invalid(nameof(WebhookUrl), $"is plain http to {url.Host}; incidents name paths, users and addresses, so only https is allowed off this machine (http only to a loopback address)");
        }

        if (!string.IsNullOrWhiteSpace(WebhookCaFile) && !string.IsNullOrWhiteSpace(WebhookPin))
        {
            throw Invalid(nameof(WebhookPin), $"and {nameof(WebhookCaFile)} are both set; trust the receiver by one of them");
        }

        if (url.Scheme == Uri.UriSchemeHttp && (!string.IsNullOrWhiteSpace(WebhookCaFile) || !string.IsNullOrWhiteSpace(WebhookPin)))
        {
            throw Invalid(nameof(WebhookUrl), $"is plain http, so {nameof(WebhookCaFile)} and {nameof(WebhookPin)} mean nothing; use https");
        }

        if (!(WebhookTimeoutSeconds > 0) || WebhookTimeoutSeconds > 300)
        {
            throw Invalid(nameof(WebhookTimeoutSeconds), $"is {WebhookTimeoutSeconds.ToString(CultureInfo.InvariantCulture)}; give more than 0 and at most 300");
        }

        CertificatePin? pin = null;
        if (!string.IsNullOrWhiteSpace(WebhookPin))
        {
            try
            {
                pin = CertificatePin.Parse(WebhookPin);
            }
            catch (FormatException e)
            {
                throw Invalid(nameof(WebhookPin), e.Message);
            }
        }

        var roots = string.IsNullOrWhiteSpace(WebhookCaFile) ? null : LoadRoots(WebhookCaFile);
        return new WebhookTarget(url, LoadSecret(secretFromEnvironment), pin, roots, TimeSpan.FromSeconds(WebhookTimeoutSeconds));
    }

    private byte[] LoadSecret(string? secretFromEnvironment)
    {
        string secret;
        string source;
        if (!string.IsNullOrWhiteSpace(secretFromEnvironment))
        {
            secret = secretFromEnvironment.Trim();
            source = SecretEnvironmentVariable;
        }
        else if (!string.IsNullOrWhiteSpace(WebhookSecretFile))
        {
            var path = Path.GetFullPath(WebhookSecretFile);
            source = path;
            try
            {
                if (!OperatingSystem.IsWindows() && !DurableFileSystem.IsOwnerOnly(path))
                {
                    throw new IOException($"The webhook secret file '{path}' is readable by other users; run: chmod 600 {path}");
                }

                secret = File.ReadAllText(path).Trim();
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
            {
                throw new IOException($"Cannot read the webhook secret file '{path}' ({e.GetType().Name}); create it with: (umask 077; openssl rand -hex 32 > {path})", e);
            }
        }
        else
        {
            throw Invalid(nameof(WebhookSecretFile), $"is not set (nor {SecretEnvironmentVariable}): a webhook is always signed, so give the secret the receiver verifies with");
        }

        // The length only: the secret itself never goes into a message or a log.
        return secret.Length >= MinSecretLength
            ? Encoding.UTF8.GetBytes(secret)
            : throw new ArgumentException($"The webhook secret from {source} has {secret.Length} characters; at least {MinSecretLength} are needed (e.g. openssl rand -hex 32).");
    }

    private static X509Certificate2Collection LoadRoots(string file)
    {
        var path = Path.GetFullPath(file);
        var roots = new X509Certificate2Collection();
        try
        {
            roots.ImportFromPemFile(path);
            if (roots.Count == 0)
            {
                roots.Add(X509CertificateLoader.LoadCertificateFromFile(path));
            }
        }
        catch (Exception e) when (e is CryptographicException or UnauthorizedAccessException or FileNotFoundException or DirectoryNotFoundException)
        {
            throw new IOException($"Cannot load the webhook CA certificate '{path}': {e.Message}. Give a PEM or DER certificate file.", e);
        }

        return roots;
    }

    private static ArgumentException Invalid(string setting, string problem) => new($"Notifications.{setting} {problem}.");
}

/// <summary>The checked notification settings: which channels exist and how deliveries are retried.</summary>
/// <param name="Webhook">The webhook, if configured.</param>
/// <param name="Syslog">The syslog destination, if configured.</param>
/// <param name="MaxQueued">Queue bound per channel.</param>
/// <param name="Retry">Retry schedule for every channel.</param>
public sealed record NotificationTargets(WebhookTarget? Webhook, SyslogDestination? Syslog, int MaxQueued, RetrySchedule Retry)
{
    /// <summary>No channel: incidents are only logged.</summary>
    public static NotificationTargets None { get; } = new(null, null, 10_000, RetrySchedule.For(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5), TimeSpan.FromHours(24)));
}

/// <summary>How deliveries are retried: the product's <see cref="Engine.Retries.Backoff"/> between attempts, for <paramref name="GiveUpAfter"/>.</summary>
/// <param name="Backoff">The waits between attempts (a receiver's Retry-After may ask for another).</param>
/// <param name="GiveUpAfter">No attempt starts later than this after the first one.</param>
public sealed record RetrySchedule(Backoff Backoff, TimeSpan GiveUpAfter)
{
    /// <summary>
    /// Half of each wait is random: deliveries that failed together spread out, and no wait is shorter than half its
    /// ceiling, so a receiver that stays down is tried every 150 to 300 s with the default settings, not at any moment.
    /// </summary>
    public const double DeliveryJitter = 0.5;

    /// <summary>The settings' schedule: waits from <paramref name="initial"/>, doubling up to <paramref name="maxDelay"/>, with <see cref="DeliveryJitter"/>.</summary>
    public static RetrySchedule For(TimeSpan initial, TimeSpan maxDelay, TimeSpan giveUpAfter) => new(new Backoff(initial, maxDelay, jitter: DeliveryJitter), giveUpAfter);
}

/// <summary>A checked webhook receiver: URL, signing secret and how its TLS certificate is trusted.</summary>
public sealed class WebhookTarget
{
    internal WebhookTarget(Uri url, byte[] secret, CertificatePin? pin, X509Certificate2Collection? roots, TimeSpan timeout)
    {
        Url = url;
        Secret = secret;
        Pin = pin;
        Roots = roots;
        Timeout = timeout;
    }

    /// <summary>The receiver's URL.</summary>
    public Uri Url { get; }

    /// <summary>The URL as logged: scheme, host and port only (a receiver's path may itself be a credential).</summary>
    public string DisplayUrl => Url.GetLeftPart(UriPartial.Authority);

    /// <summary>The pin of the receiver's certificate, if trust is by pin.</summary>
    public CertificatePin? Pin { get; }

    /// <summary>One attempt's time limit.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>The HMAC key: the secret's UTF-8 bytes.</summary>
    internal byte[] Secret { get; }

    /// <summary>The CA certificates the receiver must chain to, if trust is by CA.</summary>
    internal X509Certificate2Collection? Roots { get; }

    /// <summary>Never the secret.</summary>
    public override string ToString() => DisplayUrl;
}

/// <summary>How syslog lines travel.</summary>
public enum SyslogTransport
{
    /// <summary>One UDP datagram per line (RFC 5426).</summary>
    Udp,

    /// <summary>A TCP stream with RFC 6587 octet-counting framing (<c>LEN SP LINE</c>).</summary>
    Tcp,

    /// <summary>A local Unix datagram socket such as <c>/dev/log</c>.</summary>
    Unix,
}

/// <summary>A checked syslog destination.</summary>
/// <param name="Transport">UDP, TCP or a Unix socket.</param>
/// <param name="Host">Host name or address (UDP, TCP).</param>
/// <param name="Port">Port (UDP, TCP).</param>
/// <param name="SocketPath">Socket path (Unix).</param>
public sealed record SyslogDestination(SyslogTransport Transport, string? Host, int Port, string? SocketPath)
{
    /// <summary>The setting's form: <c>udp:HOST:PORT</c>, <c>tcp:HOST:PORT</c> or <c>unix:PATH</c>.</summary>
    public override string ToString() => Transport switch
    {
        SyslogTransport.Unix => "unix:" + SocketPath,
        _ => $"{Transport.ToString().ToLowerInvariant()}:{(Host!.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host)}:{Port.ToString(CultureInfo.InvariantCulture)}",
    };
}
