using System.Text;
using TurboMft.Engine.Storage;

namespace TurboMft.Fuzz.Targets;

/// <summary>
/// Path normalisation (<see cref="RemotePath"/>, src/Engine/Storage/RemotePath.cs): <see cref="RemotePath.TryParse"/>
/// and <see cref="RemotePath.Parse(string, bool)"/> on the input as UTF-8. Expected: false, <see cref="InvalidRemotePathException"/>.
/// A canonical path parses back to itself.
/// </summary>
public sealed class RemotePathTarget : FuzzTarget
{
    /// <inheritdoc />
    public override string Name => "remote-path";

    /// <inheritdoc />
    public override string Description => "remote path normalisation (NFC, segments, reserved names, length)";

    /// <inheritdoc />
    public override FuzzOutcome Run(ReadOnlySpan<byte> input)
    {
        var text = Encoding.UTF8.GetString(input);
        var parsed = RemotePath.TryParse(text, out var path, out var error);
        RemotePath? withRoot;
        try
        {
            withRoot = RemotePath.Parse(text, allowRoot: true);
        }
        catch (InvalidRemotePathException)
        {
            withRoot = null;
        }

        FuzzInvariantException.Check(!parsed || (withRoot is not null && withRoot.Value == path!.Value), "a path parses without the root allowed but not with it");
        if (!parsed)
        {
            return FuzzOutcome.Refuse(error!);
        }

        FuzzInvariantException.Check(RemotePath.TryParse(path!.Value, out var again, out _) && again.Value == path.Value, $"canonical path '{path.Value}' does not parse back to itself");
        FuzzInvariantException.Check(Encoding.UTF8.GetByteCount(path.Value) <= RemotePath.MaxPathBytes, "a canonical path over the length limit");
        return FuzzOutcome.Accept;
    }
}
