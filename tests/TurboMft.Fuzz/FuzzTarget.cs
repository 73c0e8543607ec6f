namespace TurboMft.Fuzz;

/// <summary>How one input ended: accepted by the parser, or refused with the parser's documented, typed error.</summary>
/// <param name="Accepted">True when the parser took the input.</param>
/// <param name="Refusal">The parser's error message when it refused the input.</param>
public readonly record struct FuzzOutcome(bool Accepted, string? Refusal)
{
    /// <summary>The parser took the input.</summary>
    public static FuzzOutcome Accept { get; } = new(true, null);

    /// <summary>The parser refused the input with <paramref name="refusal"/>.</summary>
    public static FuzzOutcome Refuse(string refusal) => new(false, refusal);
}

/// <summary>
/// One parser under fuzzing: runs the real parser on an input and returns how it ended. Only the parser's documented,
/// typed errors become a <see cref="FuzzOutcome.Refuse"/>; anything else (and a broken invariant,
/// <see cref="FuzzInvariantException"/>) escapes, which afl-fuzz records as a crash and the property tests as a failure.
/// </summary>
public abstract class FuzzTarget
{
    /// <summary>The name on the command line and of the corpus folder.</summary>
    public abstract string Name { get; }

    /// <summary>What is parsed, in one line.</summary>
    public abstract string Description { get; }

    /// <summary>Runs the parser on <paramref name="input"/>.</summary>
    public abstract FuzzOutcome Run(ReadOnlySpan<byte> input);
}

/// <summary>A parser accepted an input but broke one of its own promises (a round trip, a bound); a crash, not a refusal.</summary>
public sealed class FuzzInvariantException : Exception
{
    /// <summary>An invariant broken, as described.</summary>
    public FuzzInvariantException(string message)
        : base(message)
    {
    }

    /// <summary>An invariant broken, with no description.</summary>
    public FuzzInvariantException()
        : base("A parser invariant was broken.")
    {
    }

    /// <summary>An invariant broken, as described, with its cause.</summary>
    public FuzzInvariantException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>Throws unless <paramref name="condition"/> holds.</summary>
    public static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new FuzzInvariantException(message);
        }
    }
}
