using TurboMft.Engine.Client;
using TurboMft.Engine.Protocol;

namespace TurboMft.Engine.Tests.Client;

public sealed class TransferPlanTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "tmf-plan-" + Guid.NewGuid().ToString("N"));

    public TransferPlanTests()
    {
        Directory.CreateDirectory(Path.Combine(_root, "site", "sub"));
        File.WriteAllText(Path.Combine(_root, "site", "a.csv"), "a");
        File.WriteAllText(Path.Combine(_root, "site", "sub", "b.csv"), "b");
        File.WriteAllText(Path.Combine(_root, "site", ".hidden"), "h");
        File.WriteAllText(Path.Combine(_root, "one.bin"), "1");
    }

    [Fact]
    public void A_file_goes_to_the_exact_path_or_into_a_folder()
    {
        var file = Path.Combine(_root, "one.bin");

        Assert.Equal("/in/x.bin", Assert.Single(TransferPlan.ForPush([file], TransferUrl.Parse("https://h/in/x.bin"))).RemotePath);
        Assert.Equal("/in/one.bin", Assert.Single(TransferPlan.ForPush([file], TransferUrl.Parse("https://h/in/"))).RemotePath);
    }

    [Fact]
    public void A_directory_goes_recursively_with_its_structure()
    {
        var site = Path.Combine(_root, "site");

        var into = TransferPlan.ForPush([site], TransferUrl.Parse("https://h/in/")).Select(i => i.RemotePath);
        var renamed = TransferPlan.ForPush([site + "/"], TransferUrl.Parse("https://h/in/copy")).Select(i => i.RemotePath);

        Assert.Equal(["/in/site/.hidden", "/in/site/a.csv", "/in/site/sub/b.csv"], into);
        Assert.Equal(["/in/copy/.hidden", "/in/copy/a.csv", "/in/copy/sub/b.csv"], renamed);
    }

    [Fact]
    public void Several_sources_go_into_the_folder_and_missing_ones_fail()
    {
        var items = TransferPlan.ForPush([Path.Combine(_root, "one.bin"), Path.Combine(_root, "site")], TransferUrl.Parse("https://h/in"));

        Assert.Contains(items, i => i.RemotePath == "/in/one.bin");
        Assert.Contains(items, i => i.RemotePath == "/in/site/sub/b.csv");
        Assert.Throws<FileNotFoundException>(() => TransferPlan.ForPush([Path.Combine(_root, "nope")], TransferUrl.Parse("https://h/in/")));
    }

    [Fact]
    public void Pull_of_a_folder_keeps_structure_and_refuses_to_leave_dest()
    {
        var dest = Path.Combine(_root, "out");
        RemoteFile[] listed = [new("/in/site/a.csv", 1, null, 4 << 20, null), new("/in/site/sub/b.csv", 1, null, 4 << 20, null), new("/in/other", 1, null, 4 << 20, null)];

        var items = TransferPlan.ForPull(TransferUrl.Parse("https://h/in/site/"), listed, dest);

        Assert.Equal([Path.Combine(dest, "a.csv"), Path.Combine(dest, "sub", "b.csv")], items.Select(i => i.LocalPath));
        Assert.Throws<TransferException>(() => TransferPlan.ForPull(TransferUrl.Parse("https://h/in/"), [new("/in/../../etc/x", 1, null, 4 << 20, null)], dest));
    }

    [Fact]
    public void Pull_of_a_file_into_an_existing_directory_keeps_its_name()
    {
        Assert.Equal(Path.Combine(_root, "site", "x.bin"), Assert.Single(TransferPlan.ForPull(TransferUrl.Parse("https://h/in/x.bin"), [], Path.Combine(_root, "site"))).LocalPath);
        Assert.Equal(Path.Combine(_root, "y.bin"), Assert.Single(TransferPlan.ForPull(TransferUrl.Parse("https://h/in/x.bin"), [], Path.Combine(_root, "y.bin"))).LocalPath);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
