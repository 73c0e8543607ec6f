using TurboMft.Engine.Buffers;
using TurboMft.Engine.Container;
using TurboMft.Engine.Crypto;

namespace TurboMft.Fuzz.Targets;

/// <summary>
/// The container reader (src/Engine/Container): <see cref="ContainerReader.Open(string, DataKeyResolver)"/>, every chunk read, authenticated and
/// checked, the file digest checked, then <see cref="ContainerRecovery.Scan(string, DataKeyResolver)"/> on the same bytes. Expected: <see cref="ContainerException"/>.
/// </summary>
public sealed class ContainerTarget : FuzzTarget
{
    /// <inheritdoc />
    public override string Name => "container";

    /// <inheritdoc />
    public override string Description => "container file: header, footer, trailer, chunk records (reader and recovery scan)";

    /// <summary>The data key of the kept corpus's containers, so that inputs made from them authenticate.</summary>
    public static ReadOnlySpan<byte> CorpusKey => "TurboMft fuzz corpus data key 01"u8;

    /// <summary>Resolves every container's key to <see cref="CorpusKey"/>.</summary>
    public static DataKeyResolver CorpusKeyResolver { get; } = (_, _) => DataKey.FromBytes(CorpusKey);

    /// <inheritdoc />
    public override FuzzOutcome Run(ReadOnlySpan<byte> input)
    {
        var path = Path.Combine(Path.GetTempPath(), $"turbomft-fuzz-{Environment.ProcessId}-{Environment.CurrentManagedThreadId}.tmf");
        File.WriteAllBytes(path, input);
        try
        {
            var read = Read(path);
            var scanned = Scan(path);
            return read ?? scanned ?? FuzzOutcome.Accept;
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static FuzzOutcome? Read(string path)
    {
        try
        {
            using var reader = ContainerReader.Open(path, CorpusKeyResolver);
            using var opener = reader.CreateOpener();
            using var pool = new ChunkBufferPool(ContainerFormat.BufferSizeFor(reader.Header.ChunkSize), 1);
            var scratch = pool.Rent();
            var plain = new byte[reader.Header.ChunkSize];
            for (long i = 0; i < reader.Geometry.ChunkCount; i++)
            {
                var length = reader.ReadChunk(opener, i, scratch, plain);
                reader.CheckChunkDigest(i, plain.AsSpan(0, length));
            }

            reader.CheckFileDigest();
            return null;
        }
        catch (ContainerException e)
        {
            return FuzzOutcome.Refuse(e.Message);
        }
    }

    private static FuzzOutcome? Scan(string path)
    {
        try
        {
            var recovered = ContainerRecovery.Scan(path, CorpusKeyResolver);
            FuzzInvariantException.Check(recovered.ValidLength <= recovered.FileLength, "recovery claims more valid bytes than the file has");
            return null;
        }
        catch (ContainerException e)
        {
            return FuzzOutcome.Refuse(e.Message);
        }
    }
}
