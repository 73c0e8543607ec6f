using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using TurboMft.Engine.Client;

namespace TurboMft.Engine.Tests.Client;

public sealed class CertificatePinTests
{
    [Fact]
    public void Matches_the_sha256_of_the_certificate_der_in_any_accepted_spelling()
    {
        using var certificate = SelfSigned();
        var hex = Convert.ToHexStringLower(SHA256.HashData(certificate.RawData));
        var colons = string.Join(':', Enumerable.Range(0, 32).Select(i => hex.Substring(2 * i, 2).ToUpperInvariant()));

        Assert.True(CertificatePin.Parse("sha256:" + hex).Matches(certificate));
        Assert.True(CertificatePin.Parse("SHA256:" + colons).Matches(certificate));
        Assert.Equal("sha256:" + hex, CertificatePin.Of(certificate).ToString());
    }

    [Fact]
    public void Another_certificate_does_not_match()
    {
        using var pinned = SelfSigned();
        using var other = SelfSigned();

        Assert.False(CertificatePin.Of(pinned).Matches(other));
        Assert.False(CertificatePin.Of(pinned).Matches(null));
    }

    [Theory]
    [InlineData("")]
    [InlineData("abcd")]
    [InlineData("sha1:0123456789abcdef0123456789abcdef01234567")]
    [InlineData("sha256:0123")]
    [InlineData("sha256:zz23456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef00")]
    public void Malformed_pins_are_refused_saying_the_expected_form(string text)
    {
        var error = Assert.Throws<FormatException>(() => CertificatePin.Parse(text));
        Assert.Contains("sha256:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_refuse_both_a_pin_and_a_ca()
    {
        var options = new TurboMftClientOptions { BaseAddress = new Uri("https://h/"), Token = "t", PinSha256 = "sha256:" + new string('0', 64), CaCertificatePath = "/x.crt" };

        Assert.Throws<ArgumentException>(options.Validate);
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=pin-test", key, HashAlgorithmName.SHA256);
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(1));
    }
}
