using CsCheck;
using TurboMft.Engine.Compression;
using TurboMft.Fuzz;
using TurboMft.Fuzz.Targets;

namespace TurboMft.Engine.Tests.Compression;

/// <summary>The chunk body fuzz target (tests/TurboMft.Fuzz/Targets/ChunkTarget.cs) on its kept corpus, generated inputs and encode/decode round trips.</summary>
public class ChunkFramingFuzzTests
{
    private static readonly FuzzTarget Target = FuzzTargets.Find("chunk")!;

    [Fact]
    public void Every_kept_chunk_input_decodes_or_is_refused_with_a_ChunkDecodeException()
    {
        var results = FuzzInputs.RunCorpus(Target);

        Assert.Contains(results, r => r.Outcome.Accepted && r.File.EndsWith("seed-lz4", StringComparison.Ordinal));
        Assert.Contains(results, r => !r.Outcome.Accepted && r.File.EndsWith("seed-lz4-wrong-length", StringComparison.Ordinal));
    }

    [Fact]
    public void Random_chunk_inputs_decode_or_are_refused() =>
        FuzzInputs.Random().Sample(bytes => _ = Target.Run(bytes), iter: 3000);

    [Fact]
    public void Mutated_chunk_inputs_decode_or_are_refused() =>
        FuzzInputs.Mutated(Target.Name).Sample(bytes => _ = Target.Run(bytes), iter: 3000);

    [Fact]
    public void A_compressed_chunk_framed_as_uploaded_decodes_to_its_plaintext() =>
        Gen.Byte[0, 3].Array[0, 4096].Sample(plain =>
        {
            var encoded = new byte[ChunkCompressor.MaxEncodedLength(plain.Length)];
            var encoding = ChunkCompressor.Adaptive.Compress(plain, encoded, out var length);
            var body = encoding == ChunkEncoding.Raw ? plain : encoded.AsSpan(0, length).ToArray();
            Assert.True(Target.Run(ChunkTarget.Frame(encoding, plain.Length, body)).Accepted);
            var decoded = new byte[plain.Length];
            ChunkCompressor.Decode(encoding, body, decoded);
            Assert.Equal(plain, decoded);
        }, iter: 1000);
}
