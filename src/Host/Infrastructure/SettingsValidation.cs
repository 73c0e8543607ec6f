using Microsoft.Extensions.Options;

namespace TurboMft.Host.Infrastructure;

/// <summary>
/// Runs a settings section's validator (the Options pattern's <see cref="IValidateOptions{TOptions}"/>) before anything is
/// opened, and reports every failure at once; each feature folder owns the validator of its section.
/// </summary>
public static class SettingsValidation
{
    /// <summary>Throws <see cref="ArgumentException"/> listing every failure <paramref name="validator"/> finds in <paramref name="settings"/>.</summary>
    public static void ThrowIfInvalid<T>(this IValidateOptions<T> validator, T settings)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(validator);
        var result = validator.Validate(Options.DefaultName, settings);
        if (result.Failed)
        {
            throw new ArgumentException(string.Join(" ", result.Failures));
        }
    }

    /// <summary>Success when <paramref name="failures"/> is empty, else a failure with each of them.</summary>
    public static ValidateOptionsResult Result(IReadOnlyCollection<string> failures) =>
        failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);

    /// <summary>The failures of <paramref name="validator"/> on <paramref name="settings"/>, for a section nested in another.</summary>
    public static IEnumerable<string> FailuresOf<T>(this IValidateOptions<T> validator, T settings)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(validator);
        var result = validator.Validate(Options.DefaultName, settings);
        return result.Failed ? result.Failures : [];
    }
}
