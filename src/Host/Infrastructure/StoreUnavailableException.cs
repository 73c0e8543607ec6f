namespace TurboMft.Host.Infrastructure;

/// <summary>
/// A shared store (the PostgreSQL database, an object store) cannot be reached just now: nothing of the operation was
/// committed and the same request may succeed later. The HTTP layer answers 503 <c>store-unavailable</c> with Retry-After.
/// </summary>
public sealed class StoreUnavailableException : IOException
{
    /// <summary>Creates the exception; <paramref name="message"/> names the store (never a password) and what failed.</summary>
    public StoreUnavailableException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
