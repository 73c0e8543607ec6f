using System.CommandLine;

namespace TurboMft.Host.Cli;

/// <summary><c>turbomft keys init|rotate</c>: the node master key file.</summary>
internal static class KeysCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var initFile = MasterKeyOptions.KeyFile(required: true);
        var init = new Command("init", "Create a new master key file (mode 0600); refuses to overwrite one.") { initFile };
        init.SetAction((parse, _) => CliErrors.GuardAsync(error, async () =>
        {
            var path = parse.GetRequiredValue(initFile).FullName;
            using var ring = Engine.Crypto.KeyRing.CreateKeyFile(path);
            await output.WriteLineAsync($"created master key {ring.ActiveKeyId} in {path} (mode 0600); keep a copy offline: without it no container can be read.").ConfigureAwait(false);
            return ExitCodes.Ok;
        }));

        var rotateFile = MasterKeyOptions.KeyFile(required: true);
        var rotate = new Command("rotate", "Add a new active master key; older keys stay to unwrap existing data keys until re-wrapped.") { rotateFile };
        rotate.SetAction((parse, _) => CliErrors.GuardAsync(error, async () =>
        {
            var path = parse.GetRequiredValue(rotateFile).FullName;
            using var ring = Engine.Crypto.KeyRing.LoadKeyFile(path);
            var previous = ring.ActiveKeyId;
            var id = ring.Rotate(path);
            await output.WriteLineAsync($"rotated master key {previous} -> {id} in {path}; re-wrap containers with `turbomft container rewrap`.").ConfigureAwait(false);
            return ExitCodes.Ok;
        }));

        return new Command("keys", "Manage the node master key (KEK).") { init, rotate };
    }
}
