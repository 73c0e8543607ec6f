using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using TurboMft.Engine.Container;
using TurboMft.Engine.Native;

namespace TurboMft.Host.Server;

/// <summary>
/// Turns an unhandled exception into a problem+json response without stack trace, file-system path or version: a full disk
/// is 507, a stored container that fails verification is 500 <c>stored-file-corrupt</c>, anything else 500 <c>internal</c>.
/// </summary>
public static class ErrorResponses
{
    private const int NoSpaceErrno = 28;

    /// <summary>Installs the handler.</summary>
    public static IApplicationBuilder UseProblemResponses(this IApplicationBuilder app) => app.UseExceptionHandler(error => error.Run(async context =>
    {
        var exception = context.Features.Get<IExceptionHandlerFeature>()?.Error;
        var logger = context.RequestServices.GetService(typeof(ILogger<TurboMftServer>)) as ILogger;
        var result = exception switch
        {
            DiskFullException or IOException { HResult: NoSpaceErrno } =>
                Problems.Result(StatusCodes.Status507InsufficientStorage, "insufficient-storage", "Insufficient storage", "The server's disk is full; nothing was committed."),
            ContainerException e =>
                Problems.Result(StatusCodes.Status500InternalServerError, "stored-file-corrupt", "Stored file failed verification", $"{e.Fault} in a stored chunk; the operator has been told."),
            _ => Problems.Result(StatusCodes.Status500InternalServerError, "internal", "Internal error", "The server could not complete the request."),
        };
        logger?.LogError(exception, "Request {Method} {Path} failed", context.Request.Method, context.Request.Path);
        await result.ExecuteAsync(context).ConfigureAwait(false);
    }));
}
