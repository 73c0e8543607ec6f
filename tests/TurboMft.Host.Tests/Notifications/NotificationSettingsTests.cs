using System.Runtime.Versioning;
using TurboMft.Engine.Retries;
using TurboMft.Host.Notifications;

namespace TurboMft.Host.Tests.Notifications;

[UnsupportedOSPlatform("windows")]
public sealed class NotificationSettingsTests : IDisposable
{
    private const string Secret = "0123456789abcdef0123456789abcdef0123456789abcdef";
    private readonly string _dir = Directory.CreateTempSubdirectory("tmf-notify-settings-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Nothing_configured_means_no_channel()
    {
        var targets = new NotificationSettings().Resolve(null);
        Assert.Null(targets.Webhook);
        Assert.Null(targets.Syslog);
        Assert.Equal(10_000, targets.MaxQueued);
        Assert.Equal(new RetrySchedule(new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5), factor: 2, jitter: 0.5), TimeSpan.FromHours(24)), targets.Retry);
    }

    [Theory]
    [InlineData("https://siem.example/hooks/turbomft")]
    [InlineData("http://127.0.0.1:9000/hook")]
    [InlineData("http://localhost:9000/hook")]
    [InlineData("http://[::1]:9000/hook")]
    public void Https_anywhere_and_plain_http_on_loopback_are_accepted(string url)
    {
        var webhook = new NotificationSettings { WebhookUrl = url, WebhookSecretFile = SecretFiles.Write(_dir, Secret) }.Resolve(null).Webhook!;
        Assert.Equal(new Uri(url), webhook.Url);
        Assert.Equal(new Uri(url).GetLeftPart(UriPartial.Authority), webhook.ToString());
    }

    [Theory]
    [InlineData("http://siem.example/hook", "only https is allowed off this machine")]
    [InlineData("http://10.0.0.5/hook", "only https is allowed off this machine")]
    [InlineData("ftp://siem.example/hook", "is not an absolute https:// URL")]
    [InlineData("/hook", "is not an absolute https:// URL")]
    [InlineData("https://user:pw@siem.example/hook", "holds a user name or password")]
    public void Unsafe_or_malformed_urls_are_refused_with_the_setting_named(string url, string reason)
    {
        var error = Assert.Throws<ArgumentException>(() => new NotificationSettings { WebhookUrl = url, WebhookSecretFile = SecretFiles.Write(_dir, Secret) }.Resolve(null));
        Assert.StartsWith("Notifications.WebhookUrl ", error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("pw", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_webhook_without_a_secret_is_refused_and_the_environment_secret_wins_over_the_file()
    {
        var missing = Assert.Throws<ArgumentException>(() => new NotificationSettings { WebhookUrl = "https://siem.example/h" }.Resolve(null));
        Assert.Contains("TURBOMFT_WEBHOOK_SECRET", missing.Message, StringComparison.Ordinal);

        var file = SecretFiles.Write(_dir, Secret);
        var fromEnvironment = new NotificationSettings { WebhookUrl = "https://siem.example/h", WebhookSecretFile = file }.Resolve(new string('e', 40)).Webhook!;
        var signature = WebhookFormat.Signature(System.Text.Encoding.UTF8.GetBytes(new string('e', 40)), 1, "{}"u8);
        Assert.Equal(signature, WebhookFormat.Signature(fromEnvironment.Secret, 1, "{}"u8));
    }

    [Fact]
    public void A_secret_file_others_can_read_or_a_short_secret_is_refused()
    {
        var file = SecretFiles.Write(_dir, Secret);
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        var exposed = Assert.Throws<IOException>(() => new NotificationSettings { WebhookUrl = "https://siem.example/h", WebhookSecretFile = file }.Resolve(null));
        Assert.Contains("chmod 600", exposed.Message, StringComparison.Ordinal);

        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllText(file, "too-short\n");
        var shortSecret = Assert.Throws<ArgumentException>(() => new NotificationSettings { WebhookUrl = "https://siem.example/h", WebhookSecretFile = file }.Resolve(null));
        Assert.Contains("has 9 characters; at least 32", shortSecret.Message, StringComparison.Ordinal);

        var absent = Assert.Throws<IOException>(() => new NotificationSettings { WebhookUrl = "https://siem.example/h", WebhookSecretFile = Path.Combine(_dir, "none") }.Resolve(null));
        Assert.Contains("openssl rand -hex 32", absent.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("WebhookPin", "sha256:00")]
    [InlineData("WebhookCaFile", "/nonexistent.pem")]
    [InlineData("WebhookSecretFile", "/nonexistent.secret")]
    public void Webhook_options_without_a_webhook_url_are_refused(string setting, string value)
    {
        var settings = new NotificationSettings();
        typeof(NotificationSettings).GetProperty(setting)!.SetValue(settings, value);
        var error = Assert.Throws<ArgumentException>(() => settings.Resolve(null));
        Assert.Equal($"Notifications.{setting} is set but WebhookUrl is not; set the receiver's URL or remove it.", error.Message);
    }

    [Fact]
    public void Pin_and_ca_are_exclusive_and_meaningless_over_http()
    {
        var secret = SecretFiles.Write(_dir, Secret);
        var pin = "sha256:" + new string('a', 64);
        var both = Assert.Throws<ArgumentException>(() => new NotificationSettings { WebhookUrl = "https://siem.example/h", WebhookSecretFile = secret, WebhookPin = pin, WebhookCaFile = "/x.pem" }.Resolve(null));
        Assert.Contains("both set", both.Message, StringComparison.Ordinal);
        var overHttp = Assert.Throws<ArgumentException>(() => new NotificationSettings { WebhookUrl = "http://127.0.0.1:1/h", WebhookSecretFile = secret, WebhookPin = pin }.Resolve(null));
        Assert.Contains("is plain http", overHttp.Message, StringComparison.Ordinal);
        var badPin = Assert.Throws<ArgumentException>(() => new NotificationSettings { WebhookUrl = "https://siem.example/h", WebhookSecretFile = secret, WebhookPin = "sha1:00" }.Resolve(null));
        Assert.StartsWith("Notifications.WebhookPin ", badPin.Message, StringComparison.Ordinal);
        Assert.Equal(pin, new NotificationSettings { WebhookUrl = "https://siem.example/h", WebhookSecretFile = secret, WebhookPin = pin }.Resolve(null).Webhook!.Pin!.ToString());
    }

    [Theory]
    [InlineData("udp:127.0.0.1:514", SyslogTransport.Udp, "127.0.0.1", 514, null)]
    [InlineData("tcp:siem.example:6514", SyslogTransport.Tcp, "siem.example", 6514, null)]
    [InlineData("TCP:[::1]:601", SyslogTransport.Tcp, "::1", 601, null)]
    [InlineData("unix:/dev/log", SyslogTransport.Unix, null, 0, "/dev/log")]
    public void Syslog_targets_parse(string text, SyslogTransport transport, string? host, int port, string? socket)
    {
        var destination = NotificationSettings.ParseSyslog(text)!;
        Assert.Equal(new SyslogDestination(transport, host, port, socket), destination);
        Assert.Equal(text.ToLowerInvariant(), destination.ToString().ToLowerInvariant());
    }

    [Theory]
    [InlineData("127.0.0.1:514")]
    [InlineData("udp:127.0.0.1")]
    [InlineData("udp:127.0.0.1:0")]
    [InlineData("udp:127.0.0.1:70000")]
    [InlineData("tcp::::514")]
    [InlineData("unix:dev/log")]
    [InlineData("tls:siem.example:6514")]
    public void Malformed_syslog_targets_are_refused_with_the_shape(string text)
    {
        var error = Assert.Throws<ArgumentException>(() => new NotificationSettings { SyslogTarget = text }.Resolve(null));
        Assert.StartsWith("Notifications.SyslogTarget ", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 1, 300, 24)]
    [InlineData(10_000, 0, 300, 24)]
    [InlineData(10_000, 10, 5, 24)]
    [InlineData(10_000, 1, 300, -1)]
    public void Queue_and_retry_bounds_are_checked(int maxQueued, double initial, double maxDelay, double hours)
    {
        var settings = new NotificationSettings { MaxQueued = maxQueued, RetryInitialSeconds = initial, RetryMaxDelaySeconds = maxDelay, RetryForHours = hours };
        Assert.StartsWith("Notifications.", Assert.Throws<ArgumentException>(() => settings.Resolve(null)).Message, StringComparison.Ordinal);
    }
}
