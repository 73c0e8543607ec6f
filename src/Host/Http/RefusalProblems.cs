using Microsoft.AspNetCore.Http;
using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Http;

/// <summary>
/// The endpoint filter of the admin, auth, release and replication routes: a feature's refusal (<see cref="IRefusal"/>)
/// becomes its problem (docs/protocol.md, "Errors"); anything else propagates to the error handler.
/// </summary>
internal static class RefusalProblems
{
    /// <summary>Runs the endpoint and answers a refusal with its problem.</summary>
    public static async ValueTask<object?> FilterAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IRefusal)
        {
            return For((IRefusal)e, e.Message);
        }
    }

    /// <summary>The problem answer for <paramref name="refusal"/> with <paramref name="detail"/>.</summary>
    public static IResult For(IRefusal refusal, string detail) =>
        Problems.Result(refusal.Status, refusal.ProblemType, Title(refusal.Status), detail, refusal.ProblemMembers is { } members ? new Dictionary<string, object?>(members) : null);

    private static string Title(int status) => status switch
    {
        StatusCodes.Status403Forbidden => "Forbidden",
        StatusCodes.Status404NotFound => "Not found",
        StatusCodes.Status409Conflict => "Conflict",
        _ => "Bad request",
    };
}
