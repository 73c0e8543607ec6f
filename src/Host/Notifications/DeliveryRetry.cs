using System.Numerics;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace TurboMft.Host.Notifications;

/// <summary>
/// The retry policy of every channel (docs/content-security.md, "Retries"), as a Polly pipeline: Polly runs the attempts,
/// the waits between them are the product's backoff (<see cref="RetrySchedule.Backoff"/>, docs/architecture.md, "Backoff")
/// or a receiver's Retry-After, and no new attempt starts once <see cref="RetrySchedule.GiveUpAfter"/> has passed since the
/// first. Failed attempts are logged at warning on the 1st, 2nd, 4th, 8th… (with the count) and at debug otherwise, so a
/// receiver that stays down does not flood the log.
/// </summary>
internal static class DeliveryRetry
{
    /// <summary>Longest Retry-After honoured; a receiver asking for more is tried again after this.</summary>
    public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromHours(1);

    /// <summary>The incident being delivered.</summary>
    public static readonly ResiliencePropertyKey<QueuedIncident> IncidentKey = new("turbomft.incident");

    /// <summary>When its first attempt started (<see cref="TimeProvider.GetTimestamp"/>).</summary>
    public static readonly ResiliencePropertyKey<long> StartedKey = new("turbomft.started");

    /// <summary>
    /// A pipeline that retries while <paramref name="isTransient"/> says so and the window is open; <paramref name="retryAfter"/>
    /// may name the receiver's wish (Retry-After); <paramref name="describe"/> says what went wrong, for the log.
    /// </summary>
    public static ResiliencePipeline<T> Build<T>(
        RetrySchedule schedule,
        TimeProvider time,
        ILogger logger,
        string channel,
        Func<Outcome<T>, bool> isTransient,
        Func<Outcome<T>, string> describe,
        Func<Outcome<T>, TimeSpan?>? retryAfter = null)
    {
        var options = new RetryStrategyOptions<T>
        {
            MaxRetryAttempts = int.MaxValue,

            // Polly's own backoff computes nothing (a zero constant delay): every wait comes from DelayGenerator.
            BackoffType = DelayBackoffType.Constant,
            Delay = TimeSpan.Zero,
            ShouldHandle = args => ValueTask.FromResult(
                !args.Context.CancellationToken.IsCancellationRequested
                && time.GetElapsedTime(args.Context.Properties.GetValue(StartedKey, 0)) < schedule.GiveUpAfter
                && isTransient(args.Outcome)),
            DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(
                retryAfter?.Invoke(args.Outcome) is { } wanted ? TimeSpan.FromTicks(Math.Clamp(wanted.Ticks, 0, MaxRetryAfter.Ticks)) : schedule.Backoff.Delay(args.AttemptNumber)),
            OnRetry = args =>
            {
                var failures = args.AttemptNumber + 1;
                var level = failures == 1 || BitOperations.IsPow2(failures) ? LogLevel.Warning : LogLevel.Debug;
                if (logger.IsEnabled(level))
                {
                    var item = args.Context.Properties.GetValue(IncidentKey, null!);
                    logger.Log(
                        level,
                        "Delivery of incident {Id} ({Kind}) to {Channel} failed {Failures} time(s), last: {Reason}; next attempt in {Delay:0.#} s (given up {Window} h after the first)",
                        item?.Id,
                        item?.Incident.Kind,
                        channel,
                        failures,
                        describe(args.Outcome),
                        args.RetryDelay.TotalSeconds,
                        schedule.GiveUpAfter.TotalHours);
                }

                return default;
            },
        };

        return new ResiliencePipelineBuilder<T> { TimeProvider = time }.AddRetry(options).Build();
    }

    /// <summary>Runs <paramref name="attempt"/> under <paramref name="pipeline"/> for <paramref name="item"/>; returns the last outcome and the number of attempts.</summary>
    public static async Task<(Outcome<T> Outcome, int Attempts)> RunAsync<T>(
        ResiliencePipeline<T> pipeline, TimeProvider time, QueuedIncident item, Func<CancellationToken, ValueTask<T>> attempt, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        try
        {
            context.Properties.Set(IncidentKey, item);
            context.Properties.Set(StartedKey, time.GetTimestamp());
            var attempts = 0;
            var outcome = await pipeline.ExecuteOutcomeAsync(
                static async (ctx, state) =>
                {
                    state.Count();
                    try
                    {
                        return Outcome.FromResult(await state.Attempt(ctx.CancellationToken).ConfigureAwait(false));
                    }
                    catch (Exception e)
                    {
                        return Outcome.FromException<T>(e);
                    }
                },
                context,
                (Attempt: attempt, Count: (Action)(() => attempts++))).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            return (outcome, attempts);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }
}
