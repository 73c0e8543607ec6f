using TurboMft.Host.Infrastructure;
using TurboMft.Host.Server;

namespace TurboMft.Host.Tests.Server;

public class ServerSettingsTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(0.5)]
    [InlineData(3601)]
    [InlineData(double.NaN)]
    public void A_minimum_body_rate_grace_Kestrel_cannot_honour_stops_the_start_naming_the_setting(double seconds)
    {
        var data = Directory.CreateTempSubdirectory("tmf-settings-").FullName;
        try
        {
            var settings = new ServerSettings { Data = data, Listen = "127.0.0.1:0", MinRequestBodyGraceSeconds = seconds };
            var error = Assert.Throws<ArgumentException>(() => TurboMftServer.Create(settings, DataDirectory.Open(data)));
            Assert.Contains("MinRequestBodyGraceSeconds", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
}
