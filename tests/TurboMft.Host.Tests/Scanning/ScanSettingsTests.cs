using TurboMft.Engine.Retries;
using TurboMft.Host.Cli;
using TurboMft.Host.Scanning;
using TurboMft.Host.Server;

namespace TurboMft.Host.Tests.Scanning;

public class ScanSettingsTests
{
    [Fact]
    public void A_held_version_is_scanned_again_after_a_doubling_wait_without_jitter()
    {
        // docs/content-security.md, "Release states": again after 5 s, then doubling up to 5 min.
        var backoff = new ContentSettings().ScanRetryBackoff();

        Assert.Equal(new Backoff(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(300), factor: 2, jitter: Backoff.NoJitter), backoff);
        Assert.Equal([5, 10, 20, 40, 80, 160, 300, 300], Enumerable.Range(0, 8).Select(n => backoff.Delay(n).TotalSeconds));
    }

    [Fact]
    public void Content_settings_bind_from_the_json_config_file_and_the_environment()
    {
        var file = Path.Combine(Path.GetTempPath(), "tmf-content-" + Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(file, """
            {
              "Data": "/srv/turbomft",
              "Content": {
                "Clamd": "unix:/run/clamav/clamd.ctl",
                "DenyListFile": "/etc/turbomft/deny-sha256.txt",
                "ScanTimeoutSeconds": 900,
                "Archive": { "MaxDepth": 2, "MaxExpandedBytes": 1073741824, "MaxRatio": 100 },
                "Areas": [
                  { "Area": "/ot", "DenyTypes": [ "pe", "elf", "macho", "script" ] },
                  { "Area": "/imaging", "AllowTypes": [ "dicom", "zip" ], "RequireApproval": true, "ApprovalExpiryHours": 72 }
                ]
              }
            }
            """);
        try
        {
            var settings = ServeCommand.LoadSettings(new FileInfo(file), data: null, listen: null);
            var content = settings.Content;
            Assert.Equal("unix:/run/clamav/clamd.ctl", content.Clamd);
            Assert.Equal("/etc/turbomft/deny-sha256.txt", content.DenyListFile);
            Assert.Equal(900, content.ScanTimeoutSeconds);
            Assert.Equal(2, content.Archive.MaxDepth);
            Assert.Equal(1L << 30, content.Archive.MaxExpandedBytes);
            Assert.Equal(100, content.Archive.MaxRatio);
            Assert.Equal(100_000, content.Archive.MaxEntries);
            Assert.Equal(2, content.Areas.Count);
            Assert.Equal(["pe", "elf", "macho", "script"], content.Areas[0].DenyTypes!);
            Assert.Null(content.Areas[0].AllowTypes);

            var policies = ContentPolicies.FromSettings(content);
            var imaging = policies.Areas[1];
            Assert.Equal(["dicom", "zip"], imaging.AllowTypes!);
            Assert.True(imaging.RequireApproval);
            Assert.Equal(TimeSpan.FromHours(72), imaging.ApprovalExpiry);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Defaults_run_no_clamd_and_no_deny_list_with_the_documented_limits()
    {
        var content = new ServerSettings().Content;
        Assert.Null(content.Clamd);
        Assert.Null(content.DenyListFile);
        Assert.Equal(600, content.ScanTimeoutSeconds);
        var limits = content.Archive.ToLimits();
        Assert.Equal(3, limits.MaxDepth);
        Assert.Equal(4L << 30, limits.MaxExpandedBytes);
        Assert.Equal(200, limits.MaxRatio);
        Assert.Equal(1 << 20, limits.RatioFloorBytes);
        Assert.Equal(100_000, limits.MaxEntries);
        Assert.Empty(ContentPolicies.FromSettings(content).Areas);
    }

    public static TheoryData<string, Action<ContentSettings>> Invalid => new()
    {
        { "unknown file type 'exe'", s => s.Areas.Add(new AreaContentSettings { Area = "/ot", DenyTypes = ["exe"] }) },
        { "Content:Areas:0:Area 'ot/../x'", s => s.Areas.Add(new AreaContentSettings { Area = "ot/../x" }) },
        { "configured twice", s => s.Areas.AddRange([new AreaContentSettings { Area = "/ot" }, new AreaContentSettings { Area = "/ot/" }]) },
        { "in both AllowTypes and DenyTypes", s => s.Areas.Add(new AreaContentSettings { Area = "/a", AllowTypes = ["csv"], DenyTypes = ["CSV"] }) },
        { "would refuse every file", s => s.Areas.Add(new AreaContentSettings { Area = "/a", AllowTypes = [] }) },
        { "ApprovalExpiryHours must be a positive", s => s.Areas.Add(new AreaContentSettings { Area = "/a", ApprovalExpiryHours = 0 }) },
        { "Content:Clamd: clamd address 'localhost:3310'", s => s.Clamd = "localhost:3310" },
        { "Content:DenyListFile is empty", s => s.DenyListFile = " " },
        { "Content:ScanTimeoutSeconds must be positive", s => s.ScanTimeoutSeconds = 0 },
        { "Content:Archive:MaxRatio must be positive", s => s.Archive.MaxRatio = -1 },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Invalid_settings_are_refused_at_start_with_what_to_fix(string expected, Action<ContentSettings> breakIt)
    {
        var settings = new ContentSettings();
        breakIt(settings);
        var error = Assert.Throws<ContentSettingsException>(() => ContentPolicies.FromSettings(settings));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<ArgumentException>(error); // the CLI reports it as a usage error
    }
}
