using TurboMft.Engine.Client;

namespace TurboMft.Engine.Tests.Client;

public sealed class ResumeStoreTests : IDisposable
{
    private static readonly Uri Server = new("https://host:8443/");
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "tmf-resume-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void A_saved_record_is_found_again_for_the_same_upload()
    {
        var store = new ResumeStore(_directory);
        var record = new ResumeRecord("/data/a.csv", 123, 456, Server.ToString(), "/in/a.csv", 4 << 20, "upload-1");

        store.Save(record);

        Assert.Equal(record, new ResumeStore(_directory).Find("/data/a.csv", 123, 456, Server, "/in/a.csv", 4 << 20));
    }

    [Fact]
    public void A_changed_file_server_path_or_chunk_size_does_not_resume()
    {
        var store = new ResumeStore(_directory);
        store.Save(new ResumeRecord("/data/a.csv", 123, 456, Server.ToString(), "/in/a.csv", 4 << 20, "upload-1"));

        Assert.Null(store.Find("/data/a.csv", 124, 456, Server, "/in/a.csv", 4 << 20));
        Assert.Null(store.Find("/data/a.csv", 123, 457, Server, "/in/a.csv", 4 << 20));
        Assert.Null(store.Find("/data/a.csv", 123, 456, new Uri("https://other:8443/"), "/in/a.csv", 4 << 20));
        Assert.Null(store.Find("/data/a.csv", 123, 456, Server, "/in/b.csv", 4 << 20));
        Assert.Null(store.Find("/data/a.csv", 123, 456, Server, "/in/a.csv", 8 << 20));
    }

    [Fact]
    public void Removed_or_corrupt_records_are_not_found()
    {
        var store = new ResumeStore(_directory);
        store.Save(new ResumeRecord("/data/a.csv", 1, 2, Server.ToString(), "/a", 4 << 20, "u"));
        store.Remove("/data/a.csv", Server, "/a", 4 << 20);
        Assert.Null(store.Find("/data/a.csv", 1, 2, Server, "/a", 4 << 20));

        store.Save(new ResumeRecord("/data/b.csv", 1, 2, Server.ToString(), "/b", 4 << 20, "u"));
        foreach (var file in Directory.GetFiles(_directory))
        {
            File.WriteAllText(file, "{not json");
        }

        Assert.Null(store.Find("/data/b.csv", 1, 2, Server, "/b", 4 << 20));
    }

    [Fact]
    public void Default_directory_is_under_the_user_cache()
    {
        Assert.EndsWith(Path.Combine("turbomft", "uploads"), ResumeStore.DefaultDirectory, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}
