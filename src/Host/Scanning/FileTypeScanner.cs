using TurboMft.Host.Metadata;

namespace TurboMft.Host.Scanning;

/// <summary>
/// File-type policy (docs/content-security.md, "file-type"): the type is detected from content; an executable under a
/// name that claims data is <c>type-mismatch:&lt;type&gt;-as-&lt;ext&gt;</c> in every area; a type on the area's deny list is
/// <c>type-denied:&lt;type&gt;</c>; with an allow list, any other type is <c>type-not-allowed:&lt;type&gt;</c>.
/// </summary>
public sealed class FileTypeScanner : IContentScanner
{
    /// <summary>The scanner's name in verdicts.</summary>
    public const string ScannerName = "file-type";

    /// <inheritdoc />
    public string Name => ScannerName;

    /// <inheritdoc />
    public async Task<ScanVerdict> ScanAsync(ScanSubject subject, Func<Stream> openPlaintext, AreaContentPolicy policy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(openPlaintext);
        ArgumentNullException.ThrowIfNull(policy);
        string type;
        var stream = openPlaintext();
        await using (stream.ConfigureAwait(false))
        {
            type = await FileTypeDetector.DetectAsync(stream, cancellationToken).ConfigureAwait(false);
        }

        var finding = FileTypeRules.Check(type, subject.Path.Name, policy, applyAllowList: true);
        return finding is { } f
            ? new ScanVerdict(Name, ScannerVersion.BuiltIn, ScanOutcome.Infected, f.Finding, $"{subject.Path}: {f.Detail}")
            : new ScanVerdict(Name, ScannerVersion.BuiltIn, ScanOutcome.Clean, Detail: $"detected {type}");
    }
}

/// <summary>One file-type finding: the rule and a short explanation.</summary>
/// <param name="Finding">E.g. <c>type-denied:elf</c>.</param>
/// <param name="Detail">What was detected and why it is refused.</param>
internal readonly record struct TypeFinding(string Finding, string Detail);

/// <summary>The file-type rules, shared by the file-type scanner (the file) and the archive scanner (each entry).</summary>
internal static class FileTypeRules
{
    public static TypeFinding? Check(string type, string fileName, AreaContentPolicy policy, bool applyAllowList)
    {
        if (FileTypes.Executables.Contains(type) && FileTypes.ClaimedDataExtension(fileName) is { } extension)
        {
            return new TypeFinding($"type-mismatch:{type}-as-{extension}", $"content is {type} but the name '{fileName}' claims {extension}");
        }

        if (Lists(policy.DenyTypes, type))
        {
            return new TypeFinding($"type-denied:{type}", $"{type} is denied in area {policy.Area}");
        }

        if (applyAllowList && policy.AllowTypes is { } allowed && !Lists(allowed, type))
        {
            return new TypeFinding($"type-not-allowed:{type}", $"{type} is not among the types allowed in area {policy.Area} ({string.Join(", ", allowed)})");
        }

        return null;
    }

    private static bool Lists(IReadOnlyList<string>? types, string type) =>
        types is not null && types.Any(t => string.Equals(t, type, StringComparison.OrdinalIgnoreCase));
}

/// <summary>The version reported by the built-in scanners: the TurboMft build, whose rules they implement.</summary>
internal static class ScannerVersion
{
    public static string BuiltIn { get; } = "turbomft-" + (typeof(ScannerVersion).Assembly.GetName().Version?.ToString(3) ?? "0");
}
