using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Polly;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Notifications;

/// <summary>
/// The webhook's wire format (docs/content-security.md, "Webhook"): the JSON body and the Stripe-style signature header
/// <c>TurboMft-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256(secret, "&lt;t&gt;." + body)&gt;</c>.
/// </summary>
public static class WebhookFormat
{
    /// <summary>The signature header.</summary>
    public const string SignatureHeader = "TurboMft-Signature";

    /// <summary>The incident id header (the same on every retry, for de-duplication).</summary>
    public const string IncidentIdHeader = "TurboMft-Incident-Id";

    /// <summary>
    /// The body: <c>{"id","kind","severity","time","summary","path","digest","actor","correlationId","details",
    /// "source":{"product":"TurboMft","host"}}</c>, absent values as <c>null</c>, in this order, UTF-8.
    /// </summary>
    public static byte[] Body(string id, Incident incident, string host)
    {
        ArgumentNullException.ThrowIfNull(incident);
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("id", id);
            json.WriteString("kind", incident.Kind);
            json.WriteString("severity", incident.Severity);
            json.WriteString("time", UtcTimestamp.Text(incident.Time));
            json.WriteString("summary", incident.Summary);
            json.WriteString("path", incident.Path);
            json.WriteString("digest", incident.Digest);
            json.WriteString("actor", incident.Actor);
            json.WriteString("correlationId", incident.CorrelationId);
            if (incident.Details is { } details)
            {
                json.WriteStartObject("details");
                foreach (var (name, value) in details)
                {
                    json.WriteString(name, value);
                }

                json.WriteEndObject();
            }
            else
            {
                json.WriteNull("details");
            }

            json.WriteStartObject("source");
            json.WriteString("product", "TurboMft");
            json.WriteString("host", host);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The signature header's value for <paramref name="body"/> sent at <paramref name="unixSeconds"/>.</summary>
    public static string Signature(ReadOnlySpan<byte> secret, long unixSeconds, ReadOnlySpan<byte> body)
    {
        var t = unixSeconds.ToString(CultureInfo.InvariantCulture);
        var signed = new byte[Encoding.ASCII.GetByteCount(t) + 1 + body.Length];
        var prefix = Encoding.ASCII.GetBytes(t, signed);
        signed[prefix] = (byte)'.';
        body.CopyTo(signed.AsSpan(prefix + 1));
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(secret, signed, mac);
        return $"t={t},v1={Convert.ToHexStringLower(mac)}";
    }
}

/// <summary>
/// Delivers incidents as signed JSON POSTs (<see cref="WebhookFormat"/>). Retries network errors, timeouts, 408, 429 and
/// 5xx (honouring Retry-After) on <see cref="DeliveryRetry"/>'s schedule; any other status is final: 2xx delivered, else
/// failed. Redirects are not followed. Each attempt is signed afresh (a new <c>t</c>) over the same body.
/// </summary>
internal sealed class WebhookChannel : IncidentChannel
{
    private readonly WebhookTarget _target;
    private readonly string _host;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly HttpClient _http;
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;

    public WebhookChannel(WebhookTarget target, RetrySchedule retry, string host, TimeProvider time, ILogger logger)
    {
        _target = target;
        _host = host;
        _time = time;
        _logger = logger;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            ConnectTimeout = target.Timeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        };
        if (target.Pin is not null || target.Roots is not null)
        {
            handler.SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = Trust };
        }

        _http = new HttpClient(handler) { Timeout = target.Timeout };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("TurboMft", null));
        _pipeline = DeliveryRetry.Build<HttpResponseMessage>(retry, time, logger, Name, IsTransient, Describe, RetryAfter);
    }

    public override string Name => "webhook";

    public override async Task<IncidentDeliveryOutcome> DeliverAsync(QueuedIncident item, CancellationToken cancellationToken)
    {
        var body = WebhookFormat.Body(item.Id, item.Incident, _host);
        var (outcome, attempts) = await DeliveryRetry.RunAsync(_pipeline, _time, item, ct => SendAsync(item.Id, body, ct), cancellationToken).ConfigureAwait(false);
        using var response = outcome.Result;
        var tries = attempts == 1 ? "1 attempt" : $"{attempts} attempts";
        if (response is { IsSuccessStatusCode: true })
        {
            _logger.LogInformation("Incident {Id} ({Kind}) delivered to the webhook {Url}: HTTP {Status} after {Attempts}", item.Id, item.Incident.Kind, _target.DisplayUrl, (int)response.StatusCode, tries);
            return new IncidentDeliveryOutcome(Name, DeliveryStatus.Delivered, $"HTTP {(int)response.StatusCode} from {_target.DisplayUrl} after {tries}");
        }

        var reason = Describe(outcome);
        var final = response is not null && !IsTransient(outcome)
            ? $"refused for good by {_target.DisplayUrl}: {reason} (not retried; check the receiver's configuration)"
            : $"given up after {tries} to {_target.DisplayUrl} (retry window: Notifications.RetryForHours); last: {reason}";
        _logger.LogWarning("Incident {Id} ({Kind}) not delivered to the webhook: {Reason}", item.Id, item.Incident.Kind, final);
        return new IncidentDeliveryOutcome(Name, DeliveryStatus.Failed, final);
    }

    public override void Dispose() => _http.Dispose();

    private static bool IsTransient(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Exception: HttpRequestException or TimeoutException or OperationCanceledException or IOException } => true,
        { Result: { } response } => response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)response.StatusCode >= 500,
        _ => false,
    };

    private static string Describe(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Result: { } response } => $"HTTP {(int)response.StatusCode}",
        { Exception: OperationCanceledException } => "no answer within the timeout (Notifications.WebhookTimeoutSeconds)",
        { Exception: { } e } => e.InnerException is { } inner ? $"{e.Message} ({inner.Message})" : e.Message,
        _ => "no outcome",
    };

    private TimeSpan? RetryAfter(Outcome<HttpResponseMessage> outcome)
    {
        var retryAfter = outcome.Result?.Headers.RetryAfter;
        return retryAfter?.Delta ?? (retryAfter?.Date is { } date ? date - _time.GetUtcNow() : null);
    }

    private async ValueTask<HttpResponseMessage> SendAsync(string id, byte[] body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _target.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.TryAddWithoutValidation(WebhookFormat.SignatureHeader, WebhookFormat.Signature(_target.Secret, _time.GetUtcNow().ToUnixTimeSeconds(), body));
        request.Headers.TryAddWithoutValidation(WebhookFormat.IncidentIdHeader, id);

        // The answer's body is not read: only the status counts.
        return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
    }

    private bool Trust(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (_target.Pin is { } pin)
        {
            return pin.Matches(certificate);
        }

        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            return false;
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(_target.Roots!);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            custom.ChainPolicy.ExtraStore.AddRange(chain.ChainPolicy.ExtraStore);
        }

        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return custom.Build(leaf);
    }
}
