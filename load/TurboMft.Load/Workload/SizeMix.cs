using System.Globalization;
using TurboMft.Engine.Chunks;

namespace TurboMft.Load.Workload;

/// <summary>A file size with its weight in the mix.</summary>
public sealed record SizeClass(int Bytes, int Weight)
{
    /// <summary>The size written as a reader expects it, e.g. <c>64KiB</c> or <c>16MiB</c>.</summary>
    public string Label => Bytes % (1 << 20) == 0 ? $"{Bytes >> 20}MiB" : Bytes % 1024 == 0 ? $"{Bytes >> 10}KiB" : $"{Bytes}B";
}

/// <summary>
/// A fixed weighted distribution of file sizes, written <c>64KiB:30,256KiB:20,...</c>; each client draws from it with
/// its own seeded <see cref="Random"/>, so a run with the same seed and client count asks for the same sequence.
/// </summary>
public sealed class SizeMix
{
    /// <summary>The default mix: mostly small files by count, mostly large ones by bytes (≈ 5.7 MiB a file on average).</summary>
    public const string DefaultText = "64KiB:30,256KiB:20,1MiB:20,4MiB:15,16MiB:10,64MiB:5";

    /// <summary>The largest file size the driver holds in memory.</summary>
    public const int MaxSize = 1 << 30;

    private readonly int _totalWeight;

    private SizeMix(IReadOnlyList<SizeClass> classes)
    {
        Classes = classes;
        _totalWeight = classes.Sum(c => c.Weight);
    }

    /// <summary>The sizes and weights, in the order given.</summary>
    public IReadOnlyList<SizeClass> Classes { get; }

    /// <summary>The largest size in the mix.</summary>
    public int Largest => Classes.Max(c => c.Bytes);

    /// <summary>The mean file size, weighted.</summary>
    public double MeanBytes => Classes.Sum(c => (double)c.Bytes * c.Weight) / _totalWeight;

    /// <summary>Parses <c>SIZE:WEIGHT,...</c>; a size without a weight weighs 1. Throws <see cref="FormatException"/> naming the bad part.</summary>
    public static SizeMix Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var classes = new List<SizeClass>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var colon = part.IndexOf(':');
            var sizeText = colon < 0 ? part : part[..colon];
            if (!ByteSize.TryParse(sizeText, out var size) || size is < 1 or > MaxSize)
            {
                throw new FormatException($"'{sizeText}' in the size mix is not a size from 1 B to 1 GiB (write e.g. 64KiB:30,4MiB:10).");
            }

            var weight = 1;
            if (colon >= 0 && (!int.TryParse(part[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out weight) || weight < 1))
            {
                throw new FormatException($"'{part}' in the size mix has no whole positive weight after the colon (write e.g. 64KiB:30).");
            }

            classes.Add(new SizeClass((int)size, weight));
        }

        return classes.Count == 0 ? throw new FormatException("The size mix is empty; write e.g. 64KiB:30,4MiB:10.") : new SizeMix(classes);
    }

    /// <summary>Draws one size class.</summary>
    public SizeClass Pick(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var ticket = random.Next(_totalWeight);
        foreach (var size in Classes)
        {
            ticket -= size.Weight;
            if (ticket < 0)
            {
                return size;
            }
        }

        return Classes[^1];
    }

    /// <inheritdoc />
    public override string ToString() => string.Join(',', Classes.Select(c => $"{c.Label}:{c.Weight}"));
}
