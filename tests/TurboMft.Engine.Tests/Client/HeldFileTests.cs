using TurboMft.Engine.Client;
using TurboMft.Engine.Protocol;

namespace TurboMft.Engine.Tests.Client;

public sealed class HeldFileTests
{
    private static readonly CommittedVersion Released = new(
        "/in/x.exe", 68, 4194304, "sha256-tree:" + new string('a', 64), null, Guid.NewGuid(), DateTimeOffset.UnixEpoch, ReleaseStates.Released, null, null, null);

    [Fact]
    public void A_released_commit_or_one_without_a_state_holds_nothing_back()
    {
        Assert.Null(HeldFile.Of(Released, "/in/x.exe"));
        Assert.Null(HeldFile.Of(Released with { State = null }, "/in/x.exe"));
    }

    [Fact]
    public void A_held_commit_names_its_state_and_what_the_scanners_found()
    {
        Assert.Equal(new HeldFile("/in/x.exe", ReleaseStates.PendingApproval, null), HeldFile.Of(Released with { State = ReleaseStates.PendingApproval }, "/in/x.exe"));
        var quarantined = Released with
        {
            State = ReleaseStates.Quarantined,
            Findings = [new VerdictView("clamav", "ClamAV 1.4.2/27500", "infected", "Eicar-Signature", null, null), new VerdictView("filetype", "1", "infected", "pe-executable", null, null)],
        };
        Assert.Equal(
            new HeldFile("/in/x.exe", ReleaseStates.Quarantined, "clamav ClamAV 1.4.2/27500 found Eicar-Signature; filetype 1 found pe-executable"),
            HeldFile.Of(quarantined, "/in/x.exe"));
    }
}
