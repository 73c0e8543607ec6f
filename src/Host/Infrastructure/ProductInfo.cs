using System.Net.Quic;
using System.Reflection;

namespace TurboMft.Host.Infrastructure;

/// <summary>What this build is and what the platform lets it serve: reported by <c>GET /v1/info</c> and <c>/metrics</c>.</summary>
public static class ProductInfo
{
    /// <summary>The TurboMft version (the assembly's informational version).</summary>
    public static string Version { get; } =
        typeof(ProductInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0";

    /// <summary>Whether HTTP/3 is served (needs libmsquic; Kestrel silently drops it otherwise, so it is decided here).</summary>
    public static bool QuicAvailable => (OperatingSystem.IsLinux() || OperatingSystem.IsWindows() || OperatingSystem.IsMacOS()) && QuicListener.IsSupported;
}
