using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CsCheck;
using TurboMft.Engine.Client;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Protocol;
using TurboMft.Engine.Storage;
using TurboMft.Fuzz;
using TurboMft.Fuzz.Targets;

namespace TurboMft.Engine.Tests.Client;

/// <summary>
/// The peer answers fuzz target (tests/TurboMft.Fuzz/Targets/PeerAnswersTarget.cs) on its kept corpus, on random and
/// mutated answers, on answers whose JSON members take any JSON value, and round trips of the server's shapes.
/// </summary>
public class PeerAnswersFuzzTests
{
    private static readonly FuzzTarget Target = FuzzTargets.Find("peer-answers")!;

    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    private static readonly string Digest = new FileDigest(SHA256.HashData("a"u8)).ToString();

    private static readonly Gen<string> Answer = Gen.OneOf("list", "info", "head", "problem 404", "problem 409 quarantined", "problem 503");

    /// <summary>JSON scalars a broken or hostile peer might send: wrong kinds, out-of-range numbers, bad paths, digests and sites.</summary>
    private static readonly Gen<string> Scalar = Gen.Frequency(
        (6, Gen.OneOf(
            "null", "true", "false", "0", "-1", "12", "1.5", "2147483648", "-9223372036854775809", "9223372036854775808", "1e400",
            "\"\"", "\"/export/a.csv\"", "\"/export/../a\"", "\"/\"", "\"export/a\"", "\"/export//a\"", "\"/export/con\"", "\"/export/a\\u0000b\"",
            "\"" + Digest + "\"", "\"sha256-tree:00\"", "\"released\"", "\"pending-scan\"", "\"site-b\"", "\"a b\"", "\"a\\r\\nb\"", "\"\\u00e9\"",
            "\"2026-12-07T09:00:00+00:00\"", "\"not a time\"", "\"urn:turbomft:problem:file-not-found\"", "\"\\ud800\"")),
        (1, Gen.String[Gen.Char, 0, 12].Select(s => JsonSerializer.Serialize(s))));

    private static readonly Gen<string> AnyJson = Json(2);

    [Fact]
    public void Every_kept_peer_answer_is_read_or_refused_with_a_TransferException()
    {
        var results = FuzzInputs.RunCorpus(Target);

        Assert.All(results.Where(r => Path.GetFileName(r.File).StartsWith("seed-", StringComparison.Ordinal) && !r.File.EndsWith("-cut", StringComparison.Ordinal)), r => Assert.True(r.Outcome.Accepted, r.File));
        Assert.Contains(results, r => !r.Outcome.Accepted && r.File.EndsWith("seed-list-cut", StringComparison.Ordinal));
    }

    [Fact]
    public void Random_answers_are_read_or_refused() =>
        Gen.Select(Answer, FuzzInputs.Random(300)).Sample((answer, body) => _ = Target.Run([.. Encoding.UTF8.GetBytes(answer + "\n"), .. body]), iter: 4000);

    [Fact]
    public void Mutated_peer_answers_are_read_or_refused() =>
        FuzzInputs.Mutated(Target.Name).Sample(bytes => _ = Target.Run(bytes), iter: 5000);

    [Fact]
    public void Listings_with_any_json_in_their_members_are_read_or_refused() =>
        Gen.Frequency((4, Member("path", "size", "digest", "chunkSize", "committedAt", "state", "origin").Array[0, 6].Select(Object)), (1, AnyJson))
            .Array[0, 4]
            .Select(files => $"{{\"files\":[{string.Join(',', files)}]}}")
            .Sample(body => _ = Target.Run(PeerAnswersTarget.Frame("list", body)), iter: 5000);

    [Fact]
    public void Info_documents_with_any_json_in_their_site_are_read_or_refused() =>
        Gen.Frequency((4, Member("site", "version", "limits").Array[0, 3].Select(Object)), (1, AnyJson))
            .Sample(body => _ = Target.Run(PeerAnswersTarget.Frame("info", body)), iter: 3000);

    [Fact]
    public void Problems_with_any_json_in_their_members_keep_the_answers_status() =>
        Gen.Select(Gen.OneOf("problem 400", "problem 404", "problem 409 pending-scan", "problem 429", "problem 503"), Gen.Frequency((4, Member("type", "title", "detail", "missing").Array[0, 4].Select(Object)), (1, AnyJson)))
            .Sample((answer, body) => Assert.True(Target.Run(PeerAnswersTarget.Frame(answer, body)).Accepted), iter: 3000);

    [Fact]
    public void A_listing_in_the_servers_shape_reads_back_the_same_files() =>
        Gen.Select(CanonicalPath, Gen.Long[0, long.MaxValue], Gen.Byte.Array[SHA256.HashSizeInBytes], Gen.Int[20, 26], Gen.Long[0, 253402300799999], Gen.OneOf("released", "pending-scan", "quarantined"))
            .Array[0, 5]
            .Sample(generated =>
            {
                var files = generated.DistinctBy(f => f.Item1)
                    .Select(f => new RemoteFile(f.Item1, f.Item2, new FileDigest(f.Item3).ToString(), 1 << f.Item4, DateTimeOffset.FromUnixTimeMilliseconds(f.Item5), f.Item6))
                    .ToList();

                // The listing as FileEndpoints.ListAsync writes it (FileList), spelled out by hand, serialised as Results.Json does (web defaults).
                var body = JsonSerializer.SerializeToUtf8Bytes(
                    new { files = files.Select(f => new { path = f.Path, size = f.Size, digest = f.Digest, chunkSize = f.ChunkSize, committedAt = f.CommittedAt, state = f.State, origin = (object?)null }) }, Web);

                Assert.Equal(files, ServerAnswers.ReadListing(body));
                Assert.True(Target.Run([.. "list\n"u8, .. body]).Accepted);
            }, iter: 1000);

    [Fact]
    public void A_head_in_the_servers_shape_reads_back_its_version_and_provenance() =>
        Gen.Select(Gen.String[Gen.Char["abz09.-_"], 1, 64], CanonicalPath, Gen.Long[0, 253402300799999], Gen.Byte.Array[SHA256.HashSizeInBytes], Gen.Int[20, 26], Gen.Long[0, long.MaxValue])
            .Sample((site, path, ms, sha, log, size) =>
            {
                var digest = new FileDigest(sha);
                var origin = new Provenance(site, path, DateTimeOffset.FromUnixTimeMilliseconds(ms), digest.ToString(), null);
                var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
                {
                    [ProtocolHeaders.ReleaseState] = ReleaseStates.Released,
                    [ProtocolHeaders.Digest] = digest.ToString(),
                    [ProtocolHeaders.ChunkSize] = (1 << log).ToString(CultureInfo.InvariantCulture),
                };
                foreach (var (name, value) in origin.ToHeaders())
                {
                    headers[name] = value;
                }

                var state = ServerAnswers.ReadFileState("/export/a.csv", name => headers.GetValueOrDefault(name), size, "\"v1\"");

                Assert.Equal(new RemoteFileState(size, digest, ReleaseStates.Released, origin, 1 << log, "\"v1\""), state);
                Assert.True(Target.Run(PeerAnswersTarget.Frame("head", string.Concat(headers.Select(h => $"{h.Key}: {h.Value}\n")) + string.Create(CultureInfo.InvariantCulture, $"Content-Length: {size}\n"))).Accepted);
            }, iter: 1000);

    private static Gen<string> CanonicalPath { get; } =
        Gen.String[Gen.Char["abz09 é%+#-_"], 1, 12].Array[1, 4].Select(segments => "/export/" + string.Join('/', segments))
            .Where(p => RemotePath.TryParse(p, out var canonical, out _) && canonical.Value == p);

    private static Gen<string> Json(int depth) => depth == 0
        ? Scalar
        : Gen.Frequency(
            (6, Scalar),
            (1, Json(depth - 1).Array[0, 3].Select(items => "[" + string.Join(',', items) + "]")),
            (1, Gen.Select(Gen.OneOf("path", "site", "type", "a"), Json(depth - 1)).Array[0, 3].Select(members => Object(members.Select(m => $"\"{m.Item1}\":{m.Item2}").ToArray()))));

    /// <summary>A member named one of <paramref name="names"/> whose value is any JSON value.</summary>
    private static Gen<string> Member(params string[] names) =>
        Gen.Select(Gen.OneOf(names), AnyJson, (name, value) => $"\"{name}\":{value}");

    private static string Object(string[] members) => "{" + string.Join(',', members) + "}";
}
