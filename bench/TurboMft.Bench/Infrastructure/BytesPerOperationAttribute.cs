namespace TurboMft.Bench.Infrastructure;

/// <summary>How many bytes one invocation of a benchmark processes; <see cref="ThroughputColumn"/> turns it into GB/s.</summary>
/// <remarks>On a method it overrides the class-level value.</remarks>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, Inherited = true)]
public sealed class BytesPerOperationAttribute(long bytes) : Attribute
{
    public long Bytes { get; } = bytes;
}
