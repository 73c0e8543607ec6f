using System.Security.Cryptography;
using TurboMft.Engine.Container;
using TurboMft.Engine.Crypto;

namespace TurboMft.Engine.Tests.TestSupport;

/// <summary>A data key and a stand-in wrapped-key field for container tests that do not exercise the key ring.</summary>
internal sealed class ContainerKeys : IDisposable
{
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(DataKey.Size);

    public ContainerKeys()
    {
        DataKey = DataKey.FromBytes(_key);
        WrappedKey = RandomNumberGenerator.GetBytes(ContainerFormat.WrappedKeySize);
    }

    public DataKey DataKey { get; }

    public byte[] WrappedKey { get; }

    public DataKeyResolver Resolver => (_, _) => DataKey.FromBytes(_key);

    public static DataKeyResolver WrongKey => (_, _) => DataKey.Generate();

    public ContainerHeader Header(int chunkSize, Guid? fileId = null) =>
        new(fileId ?? Guid.NewGuid(), chunkSize, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()) { WrappedKey = WrappedKey };

    public void Dispose() => DataKey.Dispose();
}
