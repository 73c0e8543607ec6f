using CsCheck;

namespace TurboMft.Fuzz;

/// <summary>
/// Inputs for the property tests that run the fuzz targets in CI: the kept corpus as it is, random bytes, and corpus
/// files mutated the way afl-fuzz's havoc stage does (bit flips, interesting values, inserts, deletes, cuts, copies).
/// </summary>
public static class FuzzInputs
{
    private static readonly byte[] Interesting = [0x00, 0x01, 0x7f, 0x80, 0xff, (byte)'/', (byte)'\n', (byte)':', (byte)'"', (byte)'-'];

    /// <summary>
    /// Runs <paramref name="target"/> on every kept input (seeds and regressions); returns each file with its outcome.
    /// Anything but the parser's typed error escapes from here, naming the file.
    /// </summary>
    public static IReadOnlyList<(string File, FuzzOutcome Outcome)> RunCorpus(FuzzTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        var results = new List<(string, FuzzOutcome)>();
        foreach (var file in FuzzTargets.CorpusFiles(target.Name))
        {
            try
            {
                results.Add((file, target.Run(File.ReadAllBytes(file))));
            }
            catch (Exception e)
            {
                throw new FuzzInvariantException($"{target.Name} failed on kept input {file}: {e.GetType().Name}: {e.Message}", e);
            }
        }

        return results;
    }

    /// <summary>Random bytes up to <paramref name="maxLength"/> long.</summary>
    public static Gen<byte[]> Random(int maxLength = 512) => Gen.Byte.Array[0, maxLength];

    /// <summary>A kept input of <paramref name="target"/> with one to four havoc mutations.</summary>
    public static Gen<byte[]> Mutated(string target)
    {
        var seeds = FuzzTargets.CorpusFiles(target).Select(File.ReadAllBytes).ToArray();
        if (seeds.Length == 0)
        {
            throw new InvalidOperationException($"No kept corpus for {target}.");
        }

        var mutation = Gen.Select(Gen.Int[0, 6], Gen.Int[0, int.MaxValue], Gen.Int[1, 32], Gen.Byte);
        return Gen.Select(Gen.Int[0, seeds.Length - 1], mutation.Array[1, 4], (seed, mutations) =>
        {
            var bytes = new List<byte>(seeds[seed]);
            foreach (var (kind, position, count, value) in mutations)
            {
                Apply(bytes, kind, position, count, value);
            }

            return bytes.ToArray();
        });
    }

    private static void Apply(List<byte> bytes, int kind, int position, int count, byte value)
    {
        var at = bytes.Count == 0 ? 0 : position % bytes.Count;
        switch (kind)
        {
            case 0 when bytes.Count > 0:
                bytes[at] ^= (byte)(1 << (value & 7));
                break;
            case 1 when bytes.Count > 0:
                bytes[at] = Interesting[value % Interesting.Length];
                break;
            case 2:
                bytes.InsertRange(at, Enumerable.Repeat(value, count));
                break;
            case 3 when bytes.Count > 0:
                bytes.RemoveRange(at, Math.Min(count, bytes.Count - at));
                break;
            case 4:
                bytes.RemoveRange(at, bytes.Count - at);
                break;
            case 5 when bytes.Count > 0:
                bytes.InsertRange(position % (bytes.Count + 1), bytes.GetRange(at, Math.Min(count, bytes.Count - at)));
                break;
            case 6 when bytes.Count > 0:
                bytes[at] = value;
                break;
            default:
                break;
        }
    }
}
