using System.Security.Cryptography;
using System.Text;
using TurboMft.Engine.Compression;
using TurboMft.Engine.Container;
using TurboMft.Engine.Crypto;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Pipeline;
using TurboMft.Engine.Protocol;
using TurboMft.Fuzz.Targets;
using TurboMft.Host.Audit;

namespace TurboMft.Fuzz;

/// <summary>
/// Writes the kept seed corpus (tests/TurboMft.Fuzz/corpus/NAME/seed-*) with the product's own writers: containers packed
/// by <see cref="ContainerPacker"/>, batches framed by <see cref="BatchFormat"/>, audit lines sealed by
/// <see cref="AuditChain.Encode"/>, provenance written by <see cref="Provenance.ToHeaders"/>, LZ4 chunks by
/// <see cref="ChunkCompressor"/>; a peer's answers written by hand in the shapes src/Host/Server/FileEndpoints.cs and
/// src/Host/Server/InfoEndpoints.cs send; plus a few edge cases of each. Run by <c>TurboMft.Fuzz --write-seeds DIR</c>.
/// </summary>
public static class SeedCorpus
{
    /// <summary>A fixed time for every seed, so that rewriting the corpus gives the same bytes where the format allows.</summary>
    public static DateTimeOffset SeedTime { get; } = new(2026, 12, 7, 9, 0, 0, TimeSpan.Zero);

    /// <summary>Writes every target's seeds under <paramref name="corpus"/>/NAME/; returns the files written.</summary>
    public static async Task<int> WriteAsync(string corpus)
    {
        var written = 0;
        foreach (var (target, seeds) in await AllAsync())
        {
            var dir = Path.Combine(corpus, target);
            Directory.CreateDirectory(dir);
            foreach (var (name, bytes) in seeds)
            {
                await File.WriteAllBytesAsync(Path.Combine(dir, "seed-" + name), bytes);
                written++;
            }
        }

        return written;
    }

    /// <summary>The seeds of every target: target name, then (file name, bytes).</summary>
    public static async Task<List<(string Target, List<(string Name, byte[] Bytes)> Seeds)>> AllAsync() =>
    [
        ("container", await ContainersAsync()),
        ("chunk", Chunks()),
        ("batch", Batches()),
        ("range", Ranges()),
        ("digest-headers", DigestHeaders()),
        ("policy", Policies()),
        ("audit-log", AuditLogs()),
        ("provenance", ProvenanceHeaders()),
        ("remote-path", RemotePaths()),
        ("peer-answers", PeerAnswers()),
    ];

    /// <summary>A batch body framed by <see cref="BatchFormat"/>'s writer: each entry with its CRC, and its SHA-256 when asked.</summary>
    public static byte[] Batch(IEnumerable<(string Path, byte[] Content, bool WithSha)> entries)
    {
        using var body = new MemoryStream();
        var buffer = new byte[BatchFormat.EntryHeaderSize + SHA256.HashSizeInBytes];
        BatchFormat.WritePreamble(buffer);
        body.Write(buffer, 0, BatchFormat.PreambleSize);
        foreach (var (path, content, withSha) in entries)
        {
            var pathBytes = Encoding.UTF8.GetBytes(path);
            var sha = withSha ? SHA256.HashData(content) : [];
            var length = BatchFormat.WriteEntryHeader(buffer, pathBytes.Length, (uint)content.Length, ChunkCrc.Compute(content), sha);
            body.Write(buffer, 0, length);
            body.Write(pathBytes);
            body.Write(content);
        }

        BatchFormat.WriteEnd(buffer);
        body.Write(buffer, 0, BatchFormat.EndSize);
        return body.ToArray();
    }

    /// <summary>Audit log lines for <paramref name="events"/>, sealed and chained with <see cref="AuditLogTarget.CorpusKey"/>.</summary>
    public static byte[] AuditLog(IEnumerable<AuditEvent> events)
    {
        using var log = new MemoryStream();
        var prev = AuditChain.GenesisPrev;
        long seq = 0;
        foreach (var each in events)
        {
            var line = AuditChain.Encode(++seq, SeedTime.AddSeconds(seq), each, prev, AuditLogTarget.CorpusKey);
            log.Write(line);
            log.WriteByte((byte)'\n');
            prev = AuditChain.Hash(line);
        }

        return log.ToArray();
    }

    private static async Task<List<(string, byte[])>> ContainersAsync()
    {
        var dir = Directory.CreateTempSubdirectory("turbomft-seeds-");
        try
        {
            async Task<byte[]> Pack(byte[] data)
            {
                var source = Path.Combine(dir.FullName, "source");
                var target = Path.Combine(dir.FullName, "container.tmf");
                await File.WriteAllBytesAsync(source, data);
                File.Delete(target);
                using var key = DataKey.FromBytes(ContainerTarget.CorpusKey);
                var wrapped = new byte[ContainerFormat.WrappedKeySize];
                await ContainerPacker.PackAsync(source, target, key, wrapped, new Guid("0f0e0d0c-0b0a-0908-0706-050403020100"), new PipelineOptions { ChunkSize = 1 << 20, Workers = 1 });
                return await File.ReadAllBytesAsync(target);
            }

            var text = await Pack(Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("historian,2026-12-07T09:00:00Z,42.0\n", 40))));
            var random = await Pack([.. Enumerable.Range(0, 300).Select(i => (byte)((i * 7919) ^ (i >> 3)))]);
            var empty = await Pack([]);
            return
            [
                ("text.tmf", text),
                ("random.tmf", random),
                ("empty.tmf", empty),
                ("truncated.tmf", text[..(text.Length / 2)]),
                ("header-only.tmf", text[..ContainerFormat.HeaderSize]),
            ];
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static List<(string, byte[])> Chunks()
    {
        var plain = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("chunk text ", 100)));
        var encoded = new byte[ChunkCompressor.MaxEncodedLength(plain.Length)];
        var encoding = new ChunkCompressor(CompressionMode.Adaptive).Compress(plain, encoded, out var length);
        var lz4 = ChunkTarget.Frame(encoding, plain.Length, encoded.AsSpan(0, length));
        var wrongLength = ChunkTarget.Frame(encoding, plain.Length + 1, encoded.AsSpan(0, length));
        return
        [
            ("raw", ChunkTarget.Frame(ChunkEncoding.Raw, 16, "0123456789abcdef"u8)),
            ("lz4", lz4),
            ("lz4-wrong-length", wrongLength),
            ("lz4-cut", lz4[..(lz4.Length - 3)]),
            ("empty", ChunkTarget.Frame(ChunkEncoding.Raw, 0, [])),
        ];
    }

    private static List<(string, byte[])> Batches()
    {
        var two = Batch([("/plant1/a.csv", "a,b\n1,2\n"u8.ToArray(), false), ("/plant1/b.txt", "hello"u8.ToArray(), true)]);
        var bad = (byte[])two.Clone();
        bad[^3] ^= 1;
        return
        [
            ("empty", Batch([])),
            ("two-files", two),
            ("crc-mismatch", bad),
            ("truncated", two[..(two.Length - 4)]),
            ("duplicate", Batch([("/x/a", [1], false), ("/x/a", [2], false)])),
            ("trailing", [.. Batch([]), 0]),
        ];
    }

    private static List<(string, byte[])> Ranges() =>
    [
        ("first", RangeTarget.Frame(1000, "bytes=0-99")),
        ("open", RangeTarget.Frame(1000, "bytes=500-")),
        ("suffix", RangeTarget.Frame(1000, "bytes=-100")),
        ("past-end", RangeTarget.Frame(1000, "bytes=900-5000")),
        ("reversed", RangeTarget.Frame(1000, "bytes=5-1")),
        ("multi", RangeTarget.Frame(1000, "bytes=0-1,5-6")),
        ("huge", RangeTarget.Frame(long.MaxValue, "bytes=-9223372036854775807")),
    ];

    private static List<(string, byte[])> DigestHeaders()
    {
        var sha = SHA256.HashData("chunk"u8);
        return
        [
            ("repr", Encoding.UTF8.GetBytes(DigestFields.FormatSha256(sha))),
            ("many", Encoding.UTF8.GetBytes("sha-512=:AAAA:, sha-256=" + DigestFields.FormatSha256(sha)["sha-256=".Length..])),
            ("crc", Encoding.UTF8.GetBytes(ChunkCrc.Format(ChunkCrc.CheckValue))),
            ("tree", Encoding.UTF8.GetBytes(new FileDigest(sha).ToString())),
            ("bad-base64", "sha-256=:not base64!:"u8.ToArray()),
        ];
    }

    private static List<(string, byte[])> Policies() =>
    [
        ("valid.json", """
            {
              // Plant 1: historian exports go out, reports come in.
              "roles": [ { "name": "historian-reader", "permissions": "list,read" } ],
              "users": [ { "name": "alice" }, { "name": "bob", "enabled": false } ],
              "peers": [
                { "name": "site-b", "fingerprint": "sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" },
                { "name": "site-c", "commonName": "site-c.example" }
              ],
              "grants": [
                { "role": "uploader", "user": "alice", "area": "/ot/plant1" },
                { "role": "historian-reader", "user": "bob", "area": "/ot/plant1/historian" },
                { "role": "downloader", "peer": "site-b", "area": "/outbound/site-b" },
              ]
            }
            """u8.ToArray()),
        ("empty.json", "{}"u8.ToArray()),
        ("unknown-role.json", """{ "grants": [ { "role": "nobody", "user": "alice", "area": "/a" } ] }"""u8.ToArray()),
        ("syntax.json", """{ "roles": [ { "name": "x", "permissions": "read" """u8.ToArray()),
    ];

    private static List<(string, byte[])> AuditLogs()
    {
        var actor = new AuditActor("alice", "tok1", null, "127.0.0.1");
        var log = AuditLog(
        [
            new AuditEvent { Action = "file.upload", Actor = actor, Outcome = AuditOutcome.Success, Path = "/plant1/a.csv", Size = 12, Digest = new FileDigest(SHA256.HashData("a"u8)).ToString() },
            new AuditEvent { Action = "file.download", Actor = actor, Outcome = AuditOutcome.Denied, Path = "/plant1/b.csv", Detail = "no read grant" },
            new AuditEvent { Action = "replication.received", Actor = AuditActor.System, Outcome = AuditOutcome.Failure, CorrelationId = "r-1" },
        ]);
        return
        [
            ("three.jsonl", log),
            ("cut.jsonl", log[..(log.Length - 20)]),
            ("not-json.jsonl", "{\"seq\":1,\n"u8.ToArray()),
        ];
    }

    private static List<(string, byte[])> ProvenanceHeaders()
    {
        var origin = new Provenance("site-a", "/plant1/ré port.csv", SeedTime, new FileDigest(SHA256.HashData("a"u8)).ToString(), "corr-1");
        var headers = origin.ToHeaders().ToList();
        return
        [
            ("full", ProvenanceTarget.Frame(headers)),
            ("no-correlation", ProvenanceTarget.Frame(headers.Take(4))),
            ("missing-digest", ProvenanceTarget.Frame(headers.Where(h => h.Key != Provenance.DigestHeader))),
            ("none", []),
        ];
    }

    private static List<(string, byte[])> RemotePaths() =>
    [
        ("simple", "/plant1/historian/2026-12-07.csv"u8.ToArray()),
        ("nfd", Encoding.UTF8.GetBytes("/caf\u0065\u0301/r\u00e9sum\u00e9.txt")),
        ("dots", "/a/./b/../c"u8.ToArray()),
        ("root", "/"u8.ToArray()),
        ("reserved", "/con/aux.txt"u8.ToArray()),
        ("double-slash", "//a//b/"u8.ToArray()),
        ("long", Encoding.UTF8.GetBytes("/" + string.Join('/', Enumerable.Repeat(new string('x', 250), 17)))),
    ];

    private static List<(string, byte[])> PeerAnswers()
    {
        // Written by hand in the shapes the server sends: the listing of FileEndpoints.ListAsync, the document of
        // InfoEndpoints, the headers of a HEAD (FileEndpoints.GetAsync, NotReleased) and problems (Problems.Result); and a
        // listing cut short.
        var a = new FileDigest(SHA256.HashData("a"u8)).ToString();
        var b = new FileDigest(SHA256.HashData("b"u8)).ToString();
        var origin = new Provenance("site-a", "/plant1/ré port.csv", SeedTime, b, "corr-1");
        var provenance = string.Concat(origin.ToHeaders().Select(h => $"{h.Key}: {h.Value}\n"));
        var twoFiles = PeerAnswersTarget.Frame("list", $$$"""
            {"files":[{"path":"/export/plant1/a.csv","size":12,"digest":"{{{a}}}","chunkSize":4194304,"committedAt":"2026-12-07T09:00:00+00:00","state":"released","origin":null},{"path":"/export/plant1/r\u00e9 port.csv","size":9437184,"digest":"{{{b}}}","chunkSize":4194304,"committedAt":"2026-12-07T09:00:01.5+00:00","state":"released","origin":{"site":"site-a","path":"/plant1/r\u00e9 port.csv","time":"2026-12-07T09:00:00+00:00","digest":"{{{b}}}","correlationId":"corr-1"}}]}
            """);
        return
        [
            ("list-two-files", twoFiles),
            ("list-cut", twoFiles[..^60]),
            ("list-held", PeerAnswersTarget.Frame("list", $$$"""
                {"files":[{"path":"/export/held.bin","size":0,"digest":"{{{a}}}","chunkSize":1048576,"committedAt":"2026-12-07T09:00:00+00:00","state":"pending-scan","origin":null}]}
                """)),
            ("list-empty", PeerAnswersTarget.Frame("list", """{"files":[]}""")),
            ("info", PeerAnswersTarget.Frame("info", """
                {"product":"TurboMft","version":"1.0.0","tls":"1.3","site":"site-b","nodeCertificate":"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","protocols":["http/1.1","h2"],"quic":{"supported":false,"http3":false,"reason":"libmsquic is not installed on this host; HTTP/3 is off"},"cpu":{"model":"AMD EPYC","logicalCores":2,"features":["avx2","sha"]},"limits":{"minChunkSize":1048576,"maxChunkSize":67108864,"defaultChunkSize":4194304,"uploadExpiryHours":24,"minRequestBodyBytesPerSecond":1024,"minRequestBodyGraceSeconds":10,"batchMaxFiles":1000,"batchMaxFileSize":1048576}}
                """)),
            ("info-no-site", PeerAnswersTarget.Frame("info", """{"product":"TurboMft","version":"0.9.0","tls":"1.3"}""")),
            ("head-released", PeerAnswersTarget.Frame("head", $"Content-Length: 9437184\nETag: \"0f0e0d0c0b0a09080706050403020100\"\nTMF-Release-State: released\nTMF-Digest: {b}\nTMF-Chunk-Size: 4194304\nAccept-Ranges: bytes\n")),
            ("head-provenance", PeerAnswersTarget.Frame("head", $"Content-Length: 9437184\nETag: \"0f0e0d0c0b0a09080706050403020100\"\nTMF-Release-State: released\nTMF-Digest: {b}\nTMF-Chunk-Size: 4194304\n{provenance}")),
            ("head-held", PeerAnswersTarget.Frame("head", $"Content-Length: 0\nTMF-Release-State: pending-scan\nTMF-Digest: {a}\n")),
            ("problem-404", PeerAnswersTarget.Frame("problem 404", """{"type":"urn:turbomft:problem:file-not-found","title":"Not found","status":404,"detail":"No file at /export/a.csv."}""")),
            ("problem-409-missing", PeerAnswersTarget.Frame("problem 409", """{"type":"urn:turbomft:problem:chunks-missing","title":"Conflict","status":409,"detail":"2 chunk(s) have not arrived; send them, then complete again.","missing":[3,4]}""")),
            ("problem-409-held", PeerAnswersTarget.Frame("problem 409 quarantined", string.Empty)),
        ];
    }
}
