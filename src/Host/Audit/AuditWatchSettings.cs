namespace TurboMft.Host.Audit;

/// <summary>How often the running server verifies its audit chain (setting <c>AuditVerifyIntervalMinutes</c>, docs/audit.md).</summary>
/// <param name="VerifyIntervalMinutes">Minutes between two verifications; 0 verifies at start only.</param>
public sealed record AuditWatchSettings(double VerifyIntervalMinutes);
