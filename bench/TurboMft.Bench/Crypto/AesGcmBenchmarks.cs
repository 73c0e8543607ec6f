using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using TurboMft.Bench.Infrastructure;
using TurboMft.Engine.Compression;
using TurboMft.Engine.Crypto;
using TurboMft.Engine.Datasets;
using TurboMft.Engine.Integrity;

namespace TurboMft.Bench.Crypto;

/// <summary>AES-256-GCM on one 4 MiB chunk: the BCL call against ChunkSealer, which adds a fresh nonce and the record AAD.</summary>
[Config(typeof(BenchConfig))]
[MemoryDiagnoser]
[BytesPerOperation(BenchData.ChunkSize)]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class AesGcmBenchmarks
{
    private readonly byte[] _aad = new byte[ChunkSealer.AssociatedDataSize];
    private readonly byte[] _nonce = new byte[ChunkSealer.NonceSize];
    private readonly byte[] _tag = new byte[ChunkSealer.TagSize];
    private readonly byte[] _sealedNonce = new byte[ChunkSealer.NonceSize];
    private readonly byte[] _sealedTag = new byte[ChunkSealer.TagSize];
    private readonly byte[] _outNonce = new byte[ChunkSealer.NonceSize];
    private readonly byte[] _outTag = new byte[ChunkSealer.TagSize];
    private byte[] _plaintext = [];
    private byte[] _ciphertext = [];
    private byte[] _sealedCiphertext = [];
    private byte[] _opened = [];
    private byte[] _output = [];
    private DataKey? _key;
    private AesGcm? _aes;
    private ChunkSealer? _sealer;
    private ChunkRecordInfo _record;

    [GlobalSetup]
    public void Setup()
    {
        _plaintext = BenchData.Chunk(DatasetKind.Random);
        _ciphertext = BenchData.Pinned(BenchData.ChunkSize);
        _sealedCiphertext = BenchData.Pinned(BenchData.ChunkSize);
        _opened = BenchData.Pinned(BenchData.ChunkSize);
        _output = BenchData.Pinned(BenchData.ChunkSize);
        _key = DataKey.Generate();
        _aes = new AesGcm(_key.Bytes, ChunkSealer.TagSize);
        _sealer = new ChunkSealer(_key, Guid.NewGuid());
        _record = new ChunkRecordInfo(0, ChunkEncoding.Raw, _plaintext.Length, ChunkCrc.Compute(_plaintext));
        RandomNumberGenerator.Fill(_nonce);
        RandomNumberGenerator.Fill(_aad);

        // Decrypt benchmarks need valid records: one from the raw call, one from the sealer.
        _aes.Encrypt(_nonce, _plaintext, _ciphertext, _tag, _aad);
        _sealer.Seal(_record, _plaintext, _sealedCiphertext, _sealedNonce, _sealedTag);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _sealer?.Dispose();
        _aes?.Dispose();
        _key?.Dispose();
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Encrypt")]
    public void AesGcm_Encrypt() => _aes!.Encrypt(_nonce, _plaintext, _output, _outTag, _aad);

    [Benchmark]
    [BenchmarkCategory("Encrypt")]
    public void ChunkSealer_Seal() => _sealer!.Seal(_record, _plaintext, _output, _outNonce, _outTag);

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Decrypt")]
    public void AesGcm_Decrypt() => _aes!.Decrypt(_nonce, _ciphertext, _tag, _opened, _aad);

    [Benchmark]
    [BenchmarkCategory("Decrypt")]
    public bool ChunkSealer_TryOpen() => _sealer!.TryOpen(_record, _sealedNonce, _sealedCiphertext, _sealedTag, _opened);
}
