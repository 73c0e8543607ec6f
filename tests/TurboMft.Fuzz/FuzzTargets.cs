using TurboMft.Fuzz.Targets;

namespace TurboMft.Fuzz;

/// <summary>Every fuzz target, by name; the kept corpus of each is under tests/TurboMft.Fuzz/corpus/NAME/.</summary>
public static class FuzzTargets
{
    /// <summary>All targets, in the order listed.</summary>
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new ContainerTarget(),
        new ChunkTarget(),
        new BatchTarget(),
        new RangeTarget(),
        new DigestHeadersTarget(),
        new PolicyTarget(),
        new AuditLogTarget(),
        new ProvenanceTarget(),
        new RemotePathTarget(),
        new PeerAnswersTarget(),
    ];

    /// <summary>The target named <paramref name="name"/>, or null.</summary>
    public static FuzzTarget? Find(string name) => All.FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.Ordinal));

    /// <summary>
    /// The kept corpus folder of <paramref name="name"/>, found by walking up from the running assembly to the repository
    /// (tests and the harness run from bin/ folders inside it).
    /// </summary>
    public static string CorpusDirectory(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var corpus = Path.Combine(dir.FullName, "tests", "TurboMft.Fuzz", "corpus");
            if (Directory.Exists(corpus))
            {
                return Path.Combine(corpus, name);
            }
        }

        throw new DirectoryNotFoundException($"No tests/TurboMft.Fuzz/corpus above {AppContext.BaseDirectory}.");
    }

    /// <summary>Every kept input of <paramref name="name"/>: its seeds and its regressions (crash and hang inputs once found).</summary>
    public static IReadOnlyList<string> CorpusFiles(string name)
    {
        var dir = CorpusDirectory(name);
        return Directory.Exists(dir) ? [.. Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)] : [];
    }
}
