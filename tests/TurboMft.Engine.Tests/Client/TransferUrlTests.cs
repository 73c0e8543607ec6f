using TurboMft.Engine.Client;

namespace TurboMft.Engine.Tests.Client;

public sealed class TransferUrlTests
{
    [Theory]
    [InlineData("https://host:8443/ot/plant1/a.csv", "https://host:8443/", "/ot/plant1/a.csv", false)]
    [InlineData("https://host:8443/ot/plant1/", "https://host:8443/", "/ot/plant1", true)]
    [InlineData("https://host:8443/", "https://host:8443/", "/", true)]
    [InlineData("https://host:8443", "https://host:8443/", "/", true)]
    [InlineData("https://127.0.0.1:9000//a//b", "https://127.0.0.1:9000/", "/a/b", false)]
    [InlineData("https://host/with%20space/x%2By.bin", "https://host/", "/with space/x+y.bin", false)]
    public void Splits_server_path_and_folder_intent(string text, string server, string path, bool folder)
    {
        var url = TransferUrl.Parse(text);

        Assert.Equal(new Uri(server), url.BaseAddress);
        Assert.Equal(path, url.RemotePath);
        Assert.Equal(folder, url.IsFolder);
    }

    [Fact]
    public void Dot_segments_are_resolved_as_rfc_3986_says_and_never_reach_the_server()
    {
        Assert.Equal("/b", TransferUrl.Parse("https://host/a/%2E%2E/b").RemotePath);
        Assert.Equal("/b", TransferUrl.Parse("https://host/../../b").RemotePath);
        Assert.Throws<ArgumentException>(() => RemotePaths.Normalize("/a/../b"));
    }

    [Fact]
    public void Target_goes_into_a_folder_or_exactly_to_the_path()
    {
        Assert.Equal("/in/a.bin", TransferUrl.Parse("https://h/in/").Target("a.bin"));
        Assert.Equal("/in/renamed.bin", TransferUrl.Parse("https://h/in/renamed.bin").Target("a.bin"));
    }

    [Theory]
    [InlineData("http://host/a", "HTTPS only")]
    [InlineData("ftp://host/a", "not a transfer URL")]
    [InlineData("host:8443/a", "not a transfer URL")]
    [InlineData("https://user:pw@host/a", "token")]
    [InlineData("https://host/a?x=1", "query")]
    public void Rejects_with_a_message_that_says_what_to_write(string text, string hint)
    {
        var error = Assert.ThrowsAny<ArgumentException>(() => TransferUrl.Parse(text));
        Assert.Contains(hint, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Remote_paths_are_encoded_once_per_segment()
    {
        Assert.Equal("/a%20b/c%3Fd", RemotePaths.ToUrlPath("a b/c?d"));
        Assert.Equal("/x/y/z.bin", RemotePaths.Combine("/x/", "y/z.bin"));
        Assert.Equal("z.bin", RemotePaths.Name("/x/y/z.bin"));
    }
}
