using TurboMft.Host.Access;

namespace TurboMft.Fuzz.Targets;

/// <summary>The access policy file (src/Host/Access/AccessPolicyFile.cs). Expected: <see cref="PolicyFileException"/>.</summary>
public sealed class PolicyTarget : FuzzTarget
{
    /// <inheritdoc />
    public override string Name => "policy";

    /// <inheritdoc />
    public override string Description => "access policy file (JSON: roles, users, peers, grants)";

    /// <inheritdoc />
    public override FuzzOutcome Run(ReadOnlySpan<byte> input)
    {
        try
        {
            var policy = AccessPolicyFile.Parse(input, "fuzz-policy.json");
            FuzzInvariantException.Check(policy.Grants.All(g => g.At.Line >= 1 && g.At.Column >= 1), "a grant without a position");
            return FuzzOutcome.Accept;
        }
        catch (PolicyFileException e)
        {
            return FuzzOutcome.Refuse(e.Message);
        }
    }
}
