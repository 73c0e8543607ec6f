using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using TurboMft.Engine.Container;
using TurboMft.Engine.Native;
using TurboMft.Host.Audit;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Http;

/// <summary>
/// Turns an unhandled exception into a problem+json response without stack trace, file-system path or version: a full disk
/// is 507, a request body the client failed to deliver (too slow, cut short) is 408 or 400, a stored container that fails
/// verification is 500 <c>stored-file-corrupt</c>, an audit log that cannot be written is 503 <c>audit-unavailable</c> (fail
/// closed), a shared database or object store that is away is 503 <c>store-unavailable</c> with Retry-After, anything else 500 <c>internal</c>. Each failure is logged once; only
/// server faults carry a stack trace.
/// </summary>
public static class ErrorResponses
{
    private const int NoSpaceErrno = 28;
    private const string LogCategory = "TurboMft.Host.Http.ErrorResponses";

    // A database restart or fail-over takes seconds; the client's retry policy backs off from there.
    private const string StoreRetryAfterSeconds = "2";

    /// <summary>Installs the handler.</summary>
    public static IApplicationBuilder UseProblemResponses(this IApplicationBuilder app) => app.UseExceptionHandler(new ExceptionHandlerOptions
    {
        // The handler below logs each failure at the level it deserves; the middleware would add a second error with a stack trace.
        SuppressDiagnosticsCallback = _ => true,
        ExceptionHandler = async context =>
        {
            var exception = context.Features.Get<IExceptionHandlerFeature>()?.Error;
            var logger = (context.RequestServices.GetService(typeof(ILoggerFactory)) as ILoggerFactory)?.CreateLogger(LogCategory);
            IResult result;
            switch (exception)
            {
                case AuditUnavailableException:
                    logger?.LogCritical("Request {Method} {Path} refused: {Message}", context.Request.Method, context.Request.Path, exception.Message);
                    result = Problems.Result(StatusCodes.Status503ServiceUnavailable, "audit-unavailable", "Audit trail unavailable", "The audit trail cannot be written, so the server refuses the operation; the operator has been told.");
                    break;
                case StoreUnavailableException:
                    // The database or object store is away: nothing was committed; a client that retries later succeeds.
                    logger?.LogError("Request {Method} {Path} failed: {Message}", context.Request.Method, context.Request.Path, exception.Message);
                    context.Response.Headers.RetryAfter = StoreRetryAfterSeconds;
                    result = Problems.Result(StatusCodes.Status503ServiceUnavailable, "store-unavailable", "Store unavailable", "The server's database or object store cannot be reached just now; nothing was committed. Try again.");
                    break;
                case DiskFullException or IOException { HResult: NoSpaceErrno }:
                    logger?.LogError("Request {Method} {Path} failed: {Message}", context.Request.Method, context.Request.Path, exception.Message);
                    result = Problems.Result(StatusCodes.Status507InsufficientStorage, "insufficient-storage", "Insufficient storage", "The server's disk is full; nothing was committed.");
                    break;
                case BadHttpRequestException { StatusCode: StatusCodes.Status408RequestTimeout } slow:
                    // Kestrel's MinRequestBodyDataRate cut-off: the client's fault, but an operator watches for it (slowloris).
                    logger?.LogWarning("Request {Method} {Path} cut off: {Message}", context.Request.Method, context.Request.Path, slow.Message);
                    result = Problems.Result(StatusCodes.Status408RequestTimeout, "request-timeout", "Request body too slow", "The request body arrived slower than the server's minimum data rate; send it again.");
                    break;
                case BadHttpRequestException bad:
                    // A body cut short or malformed framing, typically a client that went away mid-request.
                    logger?.LogInformation("Request {Method} {Path} could not be read: {Message}", context.Request.Method, context.Request.Path, bad.Message);
                    result = Problems.Result(bad.StatusCode, "invalid-request", "Bad request", bad.Message);
                    break;
                case ContainerException e:
                    logger?.LogError(exception, "Request {Method} {Path} failed", context.Request.Method, context.Request.Path);
                    result = Problems.Result(StatusCodes.Status500InternalServerError, "stored-file-corrupt", "Stored file failed verification", $"{e.Fault} in a stored chunk; the operator has been told.");
                    break;
                default:
                    logger?.LogError(exception, "Request {Method} {Path} failed", context.Request.Method, context.Request.Path);
                    result = Problems.Result(StatusCodes.Status500InternalServerError, "internal", "Internal error", "The server could not complete the request.");
                    break;
            }

            await result.ExecuteAsync(context).ConfigureAwait(false);
        },
    });
}
