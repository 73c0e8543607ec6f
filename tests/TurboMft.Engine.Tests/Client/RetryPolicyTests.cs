using System.Net;
using System.Security.Authentication;
using TurboMft.Engine.Client;

namespace TurboMft.Engine.Tests.Client;

public sealed class RetryPolicyTests
{
    private readonly List<TimeSpan> _waits = [];

    [Fact]
    public async Task Gives_up_after_max_attempts_and_throws_the_last_error()
    {
        var policy = Policy(maxAttempts: 4);
        var calls = 0;

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => policy.ExecuteAsync<int>(_ =>
        {
            calls++;
            throw new HttpRequestException($"reset {calls}");
        }));

        Assert.Equal(4, calls);
        Assert.Equal("reset 4", error.Message);
        Assert.Equal(3, _waits.Count);
    }

    [Fact]
    public async Task Succeeds_when_a_later_attempt_does()
    {
        var policy = Policy(maxAttempts: 5);
        var calls = 0;

        var result = await policy.ExecuteAsync(_ => ++calls < 3 ? throw new ServerProblemException(503, null, "busy") : Task.FromResult(42));

        Assert.Equal(42, result);
        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task Does_not_retry_client_errors_verification_or_trust_failures()
    {
        Exception[] permanent =
        [
            new ServerProblemException(400, "chunk-index-out-of-range", "bad"),
            new ServerProblemException(401, "unauthorized", "no"),
            new ServerProblemException(422, "chunk-crc-mismatch", "bad"),
            new TransferVerificationException("/a", "x", "y", "differs"),
            new ServerTrustException("pin"),
            new HttpRequestException("tls", new AuthenticationException("handshake")),
            new HttpRequestException("forbidden", null, HttpStatusCode.Forbidden),
            new InvalidOperationException("bug"),
        ];
        foreach (var error in permanent)
        {
            var calls = 0;
            var thrown = await Assert.ThrowsAnyAsync<Exception>(() => Policy(5).ExecuteAsync<int>(_ =>
            {
                calls++;
                throw error;
            }));
            Assert.Same(error, thrown);
            Assert.Equal(1, calls);
        }

        Assert.Empty(_waits);
    }

    [Fact]
    public void Retries_network_errors_timeouts_and_transient_statuses()
    {
        Assert.True(RetryPolicy.IsRetryable(new HttpRequestException("reset"), CancellationToken.None));
        Assert.True(RetryPolicy.IsRetryable(new IOException("broken pipe"), CancellationToken.None));
        Assert.True(RetryPolicy.IsRetryable(new TimeoutException(), CancellationToken.None));
        Assert.True(RetryPolicy.IsRetryable(new ServerProblemException(500, null, "x"), CancellationToken.None));
        Assert.True(RetryPolicy.IsRetryable(new ServerProblemException(429, null, "x"), CancellationToken.None));
        Assert.True(RetryPolicy.IsRetryable(new HttpRequestException("bad gateway", null, HttpStatusCode.BadGateway), CancellationToken.None));
        Assert.False(RetryPolicy.IsRetryable(new HttpRequestException("reset"), new CancellationToken(canceled: true)));

        // A full disk does not heal by retrying: the push stops at once and says so.
        Assert.False(RetryPolicy.IsRetryable(new ServerProblemException(507, "insufficient-storage", "x"), CancellationToken.None));
    }

    [Fact]
    public async Task Waits_are_full_jitter_under_an_exponential_capped_ceiling()
    {
        var policy = Policy(maxAttempts: 8) with { BaseDelay = TimeSpan.FromMilliseconds(100), MaxDelay = TimeSpan.FromMilliseconds(1000) };

        await Assert.ThrowsAsync<IOException>(() => policy.ExecuteAsync<int>(_ => throw new IOException("down")));

        Assert.Equal(7, _waits.Count);
        for (var n = 0; n < _waits.Count; n++)
        {
            Assert.InRange(_waits[n], TimeSpan.Zero, policy.Ceiling(n));
        }

        Assert.Equal(TimeSpan.FromMilliseconds(100), policy.Ceiling(0));
        Assert.Equal(TimeSpan.FromMilliseconds(400), policy.Ceiling(2));
        Assert.Equal(TimeSpan.FromMilliseconds(1000), policy.Ceiling(6));
    }

    [Fact]
    public async Task Caller_cancellation_is_not_retried()
    {
        using var cancel = new CancellationTokenSource();
        var calls = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Policy(5).ExecuteAsync<int>(token =>
        {
            calls++;
            cancel.Cancel();
            token.ThrowIfCancellationRequested();
            return Task.FromResult(1);
        }, cancel.Token));

        Assert.Equal(1, calls);
    }

    private RetryPolicy Policy(int maxAttempts) => new()
    {
        MaxAttempts = maxAttempts,
        Delay = (wait, _) =>
        {
            _waits.Add(wait);
            return Task.CompletedTask;
        },
    };
}
