using System.Text;
using TurboMft.Host.Notifications;

namespace TurboMft.Host.Tests.Notifications;

public sealed class WebhookFormatTests
{
    [Fact]
    public void The_signature_matches_the_documented_vector_computed_with_openssl_and_python()
    {
        // docs/content-security.md, "Verifying the signature": the same values give the same v1 with openssl dgst and Python's hmac.
        var secret = Encoding.UTF8.GetBytes("0123456789abcdef0123456789abcdef-test-secret");
        var body = """{"id":"0194f3c2-7b1e-7c3a-9d2e-5f6a7b8c9d0e","kind":"test"}"""u8;
        Assert.Equal(
            "t=1764158400,v1=166337604e472c943cc441cb806d93fa8d7ee12c013f125d3af0fe823cd4d5cd",
            WebhookFormat.Signature(secret, 1764158400, body));
    }

    [Fact]
    public void Absent_values_are_null_and_the_source_names_product_and_host()
    {
        var body = Encoding.UTF8.GetString(WebhookFormat.Body("id-1", new Incident("auth-failures", "warning", new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero), "5 failures \"quoted\""), "mft01"));
        Assert.Equal(
            """{"id":"id-1","kind":"auth-failures","severity":"warning","time":"2026-11-26T12:00:00.000Z","summary":"5 failures \u0022quoted\u0022","path":null,"digest":null,"actor":null,"correlationId":null,"details":null,"source":{"product":"TurboMft","host":"mft01"}}""",
            body);
    }
}
