using Microsoft.AspNetCore.Http;

namespace TurboMft.Host.Http;

/// <summary>
/// Stable problem types (RFC 9457) of the HTTP API: clients branch on <c>type</c>, never on the text. The list and the
/// status each maps to are in docs/protocol.md, "Errors". Bodies carry no stack trace, file-system path or version.
/// </summary>
public static class Problems
{
    /// <summary>The URN prefix of every problem type.</summary>
    public const string Prefix = "urn:turbomft:problem:";

    /// <summary>Writes an <c>application/problem+json</c> response.</summary>
    public static IResult Result(int status, string type, string title, string? detail = null, IDictionary<string, object?>? extensions = null) =>
        Results.Problem(detail: detail, statusCode: status, title: title, type: Prefix + type, extensions: extensions);

    /// <summary>401: missing or wrong credentials.</summary>
    public static IResult Unauthorized() => Result(StatusCodes.Status401Unauthorized, "unauthorized", "Authentication required", "Send Authorization: Bearer <token>.");

    /// <summary>403: authenticated, but not allowed; the same body whether or not the path exists.</summary>
    public static IResult Forbidden() => Result(StatusCodes.Status403Forbidden, "forbidden", "Forbidden", "Your credentials do not allow this on this path.");

    /// <summary>400: the remote path is not acceptable.</summary>
    public static IResult BadPath(string detail) => Result(StatusCodes.Status400BadRequest, "invalid-path", "Invalid path", detail);

    /// <summary>400: the request is malformed.</summary>
    public static IResult BadRequest(string type, string detail) => Result(StatusCodes.Status400BadRequest, type, "Bad request", detail);

    /// <summary>404: no such file or upload.</summary>
    public static IResult NotFound(string type, string detail) => Result(StatusCodes.Status404NotFound, type, "Not found", detail);

    /// <summary>405: the path has a route, but not for this method; the Allow header lists the methods it has.</summary>
    public static IResult MethodNotAllowed(string detail) => Result(StatusCodes.Status405MethodNotAllowed, "method-not-allowed", "Method not allowed", detail);

    /// <summary>409: the request conflicts with the resource's state.</summary>
    public static IResult Conflict(string type, string detail, IDictionary<string, object?>? extensions = null) => Result(StatusCodes.Status409Conflict, type, "Conflict", detail, extensions);

    /// <summary>422: the bytes do not verify.</summary>
    public static IResult Unverified(string type, string detail) => Result(StatusCodes.Status422UnprocessableEntity, type, "Verification failed", detail);
}
