using System.CommandLine;
using TurboMft.Host.Audit;
using TurboMft.Host.Infrastructure;

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
        var rotateData = new Option<string?>("--data")
        {
            Description = "Data directory whose audit log records the rotation (default: the one the key file belongs to, DIR/keys/master.key).",
            HelpName = "DIR",
        };
        var rotate = new Command("rotate", "Add a new active master key; older keys stay to unwrap existing data keys until re-wrapped.") { rotateFile, rotateData };
        rotate.SetAction((parse, _) => CliErrors.GuardAsync(error, async () =>
        {
            var path = parse.GetRequiredValue(rotateFile).FullName;

            // The audit log is opened first: a running server holds it, and then nothing is changed.
            var dataPath = parse.GetValue(rotateData) ?? DataDirectoryOf(path);
            await using var audit = dataPath is null ? null : AuditLog.Open(DataDirectory.OpenExisting(dataPath));
            using var ring = Engine.Crypto.KeyRing.LoadKeyFile(path);
            var previous = ring.ActiveKeyId;
            string id;
            try
            {
                id = ring.Rotate(path);
            }
            catch (Exception e) when (audit is not null)
            {
                await audit.AppendDurableAsync(RotationEvent(AuditOutcome.Failure, $"master key {previous} not rotated: {e.GetType().Name}")).ConfigureAwait(false);
                throw;
            }

            if (audit is not null)
            {
                await audit.AppendDurableAsync(RotationEvent(AuditOutcome.Success, $"master key {previous} to {id}")).ConfigureAwait(false);
            }

            await output.WriteLineAsync($"rotated master key {previous} -> {id} in {path}; re-wrap containers with `turbomft container rewrap`.").ConfigureAwait(false);
            if (audit is not null)
            {
                await output.WriteLineAsync($"recorded in the audit log of {dataPath} (seq {audit.LastSeq})").ConfigureAwait(false);
            }

            return ExitCodes.Ok;
        }));

        return new Command("keys", "Manage the node master key (KEK).") { init, rotate };
    }

    /// <summary>The data directory of a key file at <c>DIR/keys/master.key</c> with an audit key or log beside it; else null.</summary>
    private static string? DataDirectoryOf(string keyFile)
    {
        var keys = Path.GetDirectoryName(keyFile);
        var root = keys is null ? null : Path.GetDirectoryName(keys);
        if (root is null || Path.GetFileName(keys) != "keys" || Path.GetFileName(keyFile) != "master.key")
        {
            return null;
        }

        return File.Exists(Path.Combine(keys!, "audit.key")) || Directory.Exists(Path.Combine(root, "audit")) ? root : null;
    }

    private static AuditEvent RotationEvent(string outcome, string detail) =>
        new() { Action = "keys.rotate", Actor = AuditActor.System, Outcome = outcome, Detail = detail };
}
