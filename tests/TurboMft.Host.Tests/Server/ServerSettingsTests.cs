using TurboMft.Host.Cli;
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
            var settings = new ServerSettings { Data = data, Listen = "127.0.0.1:0", Uploads = { MinRequestBodyGraceSeconds = seconds } };
            var error = Assert.Throws<ArgumentException>(() => TurboMftServer.Create(settings, DataDirectory.Open(data)));
            Assert.Contains("MinRequestBodyGraceSeconds", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public void Every_bad_setting_is_named_at_once_before_anything_is_opened()
    {
        var data = Directory.CreateTempSubdirectory("tmf-settings-").FullName;
        try
        {
            var settings = new ServerSettings { Data = data, Listen = "127.0.0.1:0", Site = "no spaces", AuditVerifyIntervalMinutes = -1, Uploads = { BatchMaxFiles = 0 } };
            settings.Replication.Batch = 0;
            settings.Throttle.FreeFailures = 0;
            settings.Content.ScanConcurrency = 0;

            var directory = DataDirectory.Open(data);
            var before = Directory.EnumerateFileSystemEntries(data, "*", SearchOption.AllDirectories).Order().ToList();
            var error = Assert.Throws<ArgumentException>(() => TurboMftServer.Create(settings, directory));
            foreach (var name in new[] { "Site 'no spaces'", "AuditVerifyIntervalMinutes", "BatchMaxFiles", "Replication:Batch", "Throttle:FreeFailures", "Content:ScanConcurrency" })
            {
                Assert.Contains(name, error.Message, StringComparison.Ordinal);
            }

            // Nothing was opened or created: no audit log, no database, no certificate.
            Assert.Equal(before, Directory.EnumerateFileSystemEntries(data, "*", SearchOption.AllDirectories).Order());
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public void Upload_settings_keep_their_top_level_keys_in_the_config_file_and_the_environment()
    {
        var file = Path.Combine(Path.GetTempPath(), "tmf-uploads-" + Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(file, """{ "UploadExpiryHours": 48, "BatchMaxFiles": 100, "MinRequestBodyGraceSeconds": 30 }""");
        Environment.SetEnvironmentVariable("TURBOMFT_ONESHOTCHUNKSIZE", "2097152");
        try
        {
            var uploads = ServeCommand.LoadSettings(new FileInfo(file), data: null, listen: null).Uploads;
            Assert.Equal((48.0, 100, 30.0, 2 << 20, 240.0), (uploads.UploadExpiryHours, uploads.BatchMaxFiles, uploads.MinRequestBodyGraceSeconds, uploads.OneShotChunkSize, uploads.MinRequestBodyBytesPerSecond));
        }
        finally
        {
            Environment.SetEnvironmentVariable("TURBOMFT_ONESHOTCHUNKSIZE", null);
            File.Delete(file);
        }
    }
}
