using System.Net.Sockets;
using System.Security.Authentication;

namespace TurboMft.Load.Recording;

/// <summary>The server answered a request with an error status; <see cref="ProblemType"/> is its problem+json type, if any.</summary>
public sealed class ServerAnswerException(string operation, int status, string? problemType)
    : Exception($"{operation}: the server answered {status}{(problemType is null ? string.Empty : " " + problemType)}")
{
    /// <summary>The HTTP status.</summary>
    public int Status { get; } = status;

    /// <summary>The problem type without the <c>urn:turbomft:problem:</c> prefix, or null.</summary>
    public string? ProblemType { get; } = problemType;
}

/// <summary>Bytes the server sent or committed differ from what the driver uploaded.</summary>
public sealed class ContentMismatchException(string message) : Exception(message);

/// <summary>A request got no complete answer within the driver's per-request timeout.</summary>
public sealed class RequestTimeoutException(string operation, TimeSpan timeout, Exception inner)
    : TimeoutException($"{operation}: no complete answer within {timeout.TotalSeconds:0} s", inner);

/// <summary>A request that failed, with the name of the operation (<see cref="Operations"/>) it was part of.</summary>
public sealed class OperationFailedException(string operation, Exception inner) : Exception($"{operation} failed: {inner.Message}", inner)
{
    /// <summary>Which request failed.</summary>
    public string Operation { get; } = operation;
}

/// <summary>Sorts failures into the kinds a load report counts: HTTP status, timeout, connection reset, TLS, content.</summary>
public static class FailureKinds
{
    /// <summary>The slow-client outcome the server is meant to produce: its minimum data rate cut the request off.</summary>
    public const string CutOff = "cut-off";

    /// <summary>A short stable name for <paramref name="failure"/>, e.g. <c>http 409 file-pending</c> or <c>connection reset</c>.</summary>
    public static string Classify(Exception failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        if (failure is OperationFailedException wrapped)
        {
            return Classify(wrapped.InnerException!);
        }

        return failure switch
        {
            ServerAnswerException answer => answer.ProblemType is null ? $"http {answer.Status}" : $"http {answer.Status} {answer.ProblemType}",
            ContentMismatchException => "content mismatch",
            TimeoutException => "timeout",
            HttpRequestException { HttpRequestError: HttpRequestError.SecureConnectionError } => "tls",
            HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError } when Find<SocketException>(failure) is { SocketErrorCode: SocketError.ConnectionRefused } => "connection refused",
            _ when Find<AuthenticationException>(failure) is not null => "tls",
            HttpRequestException or IOException or SocketException => "connection reset",
            _ => failure.GetType().Name,
        };
    }

    private static T? Find<T>(Exception? e)
        where T : Exception
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is T found)
            {
                return found;
            }
        }

        return null;
    }
}
