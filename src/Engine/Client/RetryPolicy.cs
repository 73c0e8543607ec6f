using System.Net;
using System.Security.Authentication;
using TurboMft.Engine.Retries;

namespace TurboMft.Engine.Client;

/// <summary>
/// Retry of one idempotent request after a transient failure (network error, timeout, 5xx, 408, 429), with the product's
/// <see cref="Retries.Backoff"/> at full jitter: the n-th wait is uniform in [0, min(MaxDelay, BaseDelay·2ⁿ)).
/// </summary>
public sealed record RetryPolicy
{
    /// <summary>5 attempts, 250 ms base, 10 s cap.</summary>
    public static readonly RetryPolicy Default = new();

    /// <summary>A single attempt.</summary>
    public static readonly RetryPolicy None = new() { MaxAttempts = 1 };

    /// <summary>Attempts in all, the first included (at least 1).</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>Upper bound of the first wait.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Upper bound of any wait.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How a wait happens; replaceable in tests.</summary>
    public Func<TimeSpan, CancellationToken, Task> Delay { get; init; } = Task.Delay;

    /// <summary>The waits between attempts: doubling from <see cref="BaseDelay"/> up to <see cref="MaxDelay"/>, full jitter.</summary>
    public Backoff Backoff => new(BaseDelay, MaxDelay, jitter: Backoff.FullJitter);

    /// <summary>The upper bound of the wait before attempt <paramref name="retry"/> + 2 (0 for the first retry).</summary>
    public TimeSpan Ceiling(int retry) => Backoff.Ceiling(retry);

    /// <summary>True when <paramref name="error"/> is worth sending the same request again; never for a cancellation by the caller.</summary>
    public static bool IsRetryable(Exception error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(error);
        return error switch
        {
            _ when cancellationToken.IsCancellationRequested => false,
            ServerProblemException problem => problem.IsTransient,
            TransferException => false,
            HttpRequestException http when http.InnerException is AuthenticationException || http.HttpRequestError == HttpRequestError.SecureConnectionError => false,
            HttpRequestException http => http.StatusCode is null || (int)http.StatusCode >= 500 || http.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests,
            OperationCanceledException => true, // a request timeout, since the caller did not cancel
            IOException or TimeoutException => true,
            _ => false,
        };
    }

    /// <summary>Runs <paramref name="attempt"/> until it succeeds, fails for good, or <see cref="MaxAttempts"/> are spent (the last error is thrown).</summary>
    public async Task<T> ExecuteAsync<T>(Func<CancellationToken, Task<T>> attempt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        for (var n = 0; ; n++)
        {
            try
            {
                return await attempt(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (n + 1 < MaxAttempts && IsRetryable(e, cancellationToken))
            {
                await Delay(Backoff.Delay(n), cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
