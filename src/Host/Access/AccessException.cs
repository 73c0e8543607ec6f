using TurboMft.Host.Infrastructure;

namespace TurboMft.Host.Access;

/// <summary>Why an access administration request was refused; each maps to one problem type (docs/protocol.md, "Errors").</summary>
public enum AccessError
{
    /// <summary>A user, role or peer name breaks the naming rule.</summary>
    InvalidName,

    /// <summary>A field is missing or malformed (permissions, area, password, fingerprint, expiry).</summary>
    InvalidRequest,

    /// <summary>An area is not a valid remote path.</summary>
    InvalidArea,

    /// <summary>No such user.</summary>
    UserNotFound,

    /// <summary>A user of that name exists.</summary>
    UserExists,

    /// <summary>No such token.</summary>
    TokenNotFound,

    /// <summary>No such role.</summary>
    RoleNotFound,

    /// <summary>A role of that name exists.</summary>
    RoleExists,

    /// <summary>Built-in roles cannot be changed.</summary>
    BuiltInRole,

    /// <summary>No such peer.</summary>
    PeerNotFound,

    /// <summary>A peer of that name, fingerprint or common name exists.</summary>
    PeerExists,

    /// <summary>No such grant.</summary>
    GrantNotFound,

    /// <summary>The change would leave no enabled user with the admin permission on "/".</summary>
    LastAdmin,

    /// <summary>The entry is declared by the policy file; change it there.</summary>
    PolicyManaged,

    /// <summary>A role still in use by grants cannot disappear.</summary>
    RoleInUse,
}

/// <summary>An access administration request was refused; the message says what to do. Nothing was changed.</summary>
public sealed class AccessException : Exception, IRefusal
{
    /// <summary>Creates the error.</summary>
    public AccessException(AccessError error, string message, Exception? inner = null)
        : base(message, inner)
    {
        Error = error;
    }

    /// <summary>Creates an <see cref="AccessError.InvalidRequest"/> error.</summary>
    public AccessException()
        : this(AccessError.InvalidRequest, "Invalid access administration request.")
    {
    }

    /// <summary>Creates an <see cref="AccessError.InvalidRequest"/> error.</summary>
    public AccessException(string message)
        : this(AccessError.InvalidRequest, message)
    {
    }

    /// <summary>Creates an <see cref="AccessError.InvalidRequest"/> error.</summary>
    public AccessException(string message, Exception inner)
        : this(AccessError.InvalidRequest, message, inner)
    {
    }

    /// <summary>Why.</summary>
    public AccessError Error { get; }

    /// <inheritdoc/>
    string IRefusal.ProblemType => Problem.Type;

    /// <inheritdoc/>
    int IRefusal.Status => Problem.Status;

    /// <summary>The stable problem type (without the URN prefix) and HTTP status for <see cref="Error"/>.</summary>
    public (string Type, int Status) Problem => Error switch
    {
        AccessError.InvalidName => ("invalid-name", 400),
        AccessError.InvalidRequest => ("invalid-request", 400),
        AccessError.InvalidArea => ("invalid-path", 400),
        AccessError.UserNotFound => ("user-not-found", 404),
        AccessError.TokenNotFound => ("token-not-found", 404),
        AccessError.RoleNotFound => ("role-not-found", 404),
        AccessError.PeerNotFound => ("peer-not-found", 404),
        AccessError.GrantNotFound => ("grant-not-found", 404),
        AccessError.UserExists => ("user-exists", 409),
        AccessError.RoleExists => ("role-exists", 409),
        AccessError.PeerExists => ("peer-exists", 409),
        AccessError.BuiltInRole => ("builtin-role", 409),
        AccessError.LastAdmin => ("last-admin", 409),
        AccessError.PolicyManaged => ("policy-managed", 409),
        AccessError.RoleInUse => ("role-in-use", 409),
        _ => ("invalid-request", 400),
    };
}
