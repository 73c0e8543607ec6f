namespace TurboMft.Engine.Retries;

/// <summary>
/// Exponential backoff, the one policy behind every retry of the product (docs/architecture.md, "Backoff"): the wait
/// before retry <c>n</c> (0 for the first) is at most its ceiling <c>min(Max, First·Factorⁿ)</c>, and the share
/// <see cref="Jitter"/> of it is drawn at random: the wait is uniform between <c>ceiling·(1 − Jitter)</c> and the ceiling.
/// It only computes waits: a caller sleeps them, hands them to Polly, or stores <c>now + wait</c> as a due time.
/// </summary>
public sealed record Backoff
{
    /// <summary>Every wait is its ceiling: a schedule an operator can predict.</summary>
    public const double NoJitter = 0;

    /// <summary>A wait is uniform in [0, ceiling): callers that failed together do not come back together.</summary>
    public const double FullJitter = 1;

    /// <summary>Creates a backoff; the waits double per retry unless <paramref name="factor"/> says otherwise.</summary>
    /// <param name="first">Ceiling of the first wait (zero or more).</param>
    /// <param name="max">Ceiling of any wait (zero or more); below <paramref name="first"/> it caps the first wait too.</param>
    /// <param name="factor">Growth of the ceiling per retry, at least 1.</param>
    /// <param name="jitter">Share of each wait drawn at random, from <see cref="NoJitter"/> to <see cref="FullJitter"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is outside its range.</exception>
    public Backoff(TimeSpan first, TimeSpan max, double factor = 2, double jitter = NoJitter)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(first, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, TimeSpan.Zero);
        if (!(factor >= 1) || double.IsPositiveInfinity(factor))
        {
            throw new ArgumentOutOfRangeException(nameof(factor), factor, "The backoff factor must be finite and at least 1.");
        }

        if (!(jitter is >= NoJitter and <= FullJitter))
        {
            throw new ArgumentOutOfRangeException(nameof(jitter), jitter, "The jitter is a share of the wait, from 0 to 1.");
        }

        First = first;
        Max = max;
        Factor = factor;
        Jitter = jitter;
    }

    /// <summary>Ceiling of the first wait.</summary>
    public TimeSpan First { get; }

    /// <summary>Ceiling of any wait.</summary>
    public TimeSpan Max { get; }

    /// <summary>Growth of the ceiling per retry.</summary>
    public double Factor { get; }

    /// <summary>Share of each wait drawn at random (0: none, 1: full jitter).</summary>
    public double Jitter { get; }

    /// <summary>The longest wait before retry <paramref name="retry"/> (0 for the first): <c>min(Max, First·Factorⁿ)</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="retry"/> is negative.</exception>
    public TimeSpan Ceiling(int retry)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(retry);
        if (First == TimeSpan.Zero)
        {
            return TimeSpan.Zero;
        }

        // In doubles, so that a large retry saturates at Max instead of overflowing.
        var ticks = First.Ticks * Math.Pow(Factor, retry);
        return ticks < Max.Ticks ? TimeSpan.FromTicks((long)ticks) : Max;
    }

    /// <summary>The wait before retry <paramref name="retry"/> (0 for the first), its random share drawn from <see cref="Random.Shared"/>.</summary>
    public TimeSpan Delay(int retry) => Delay(retry, Random.Shared);

    /// <summary>The wait before retry <paramref name="retry"/> (0 for the first), its random share drawn from <paramref name="random"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="retry"/> is negative.</exception>
    public TimeSpan Delay(int retry, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var ceiling = Ceiling(retry);
        if (Jitter == NoJitter)
        {
            return ceiling;
        }

        return TimeSpan.FromTicks((long)(ceiling.Ticks * ((1 - Jitter) + (Jitter * random.NextDouble()))));
    }
}
