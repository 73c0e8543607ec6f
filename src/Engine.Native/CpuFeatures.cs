namespace TurboMft.Engine.Native;

/// <summary>Placeholder until CPU feature detection lands.</summary>
internal static class CpuFeatures
{
}
