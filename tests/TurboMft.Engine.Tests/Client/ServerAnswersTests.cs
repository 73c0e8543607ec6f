using System.Text;
using TurboMft.Engine.Client;
using TurboMft.Fuzz;
using TurboMft.Fuzz.Targets;

namespace TurboMft.Engine.Tests.Client;

/// <summary>
/// A peer's malformed answers, found by the peer-answers fuzz properties (docs/fuzzing.md, "Findings"), each kept in
/// tests/TurboMft.Fuzz/corpus/peer-answers/regressions/: the client reads them into a <see cref="TransferException"/>
/// (or, for an error answer, a <see cref="ServerProblemException"/> with the answer's status), never another exception.
/// </summary>
public class ServerAnswersTests
{
    [Theory]
    [InlineData("list-empty-body", "not the JSON of GET /v1/files")]
    [InlineData("list-entry-without-path", "entry 0 has the path '', which is not a canonical remote path")]
    [InlineData("list-null-entry", "entry 0 is null")]
    [InlineData("list-path-twice", "entry 1 lists '/export/a.csv' a second time")]
    [InlineData("list-digest-not-sha256-tree", "the digest 'sha256-tree:00'")]
    public void A_listing_a_pulling_node_cannot_act_on_is_a_TransferException(string name, string expected)
    {
        var error = Assert.Throws<TransferException>(() => ServerAnswers.ReadListing(Body(name)));

        Assert.Equal(typeof(TransferException), error.GetType());
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_listing_cut_short_is_a_TransferException_naming_the_json_error()
    {
        var error = Assert.Throws<TransferException>(() => ServerAnswers.ReadListing(Body("seed-list-cut", regression: false)));

        Assert.StartsWith("The server's file listing is not the JSON of GET /v1/files: ", error.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<System.Text.Json.JsonException>(error.InnerException);
    }

    [Theory]
    [InlineData("info-site-number", "names the site 5, which is not a site name")]
    [InlineData("info-site-not-a-name", "names the site \"/export//a\", which is not a site name")]
    [InlineData("info-not-an-object", "is JSON Array, not an object")]
    public void An_info_document_without_a_usable_site_is_a_TransferException(string name, string expected)
    {
        var error = Assert.Throws<TransferException>(() => ServerAnswers.SiteOf(ServerAnswers.ReadInfo(Body(name))));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"site":null}""")]
    [InlineData("""{"site":""}""")]
    [InlineData("""{"version":"1.0.0"}""")]
    public void An_info_document_that_names_no_site_gives_none(string body) =>
        Assert.Null(ServerAnswers.SiteOf(ServerAnswers.ReadInfo(Encoding.UTF8.GetBytes(body))));

    [Fact]
    public void A_problem_whose_type_is_not_a_string_keeps_the_answers_status()
    {
        var problem = ServerAnswers.ReadProblem(503, PeerAnswersTarget.ProblemRequest, "application/problem+json", Body("problem-type-number"), null);

        Assert.Equal(503, problem.Status);
        Assert.Null(problem.ProblemType);
        Assert.True(problem.IsTransient);
        Assert.Equal($"{PeerAnswersTarget.ProblemRequest}: the server answered 503.", problem.Message);
    }

    [Fact]
    public void A_problem_with_invalid_utf8_in_its_detail_keeps_its_type_and_status()
    {
        var problem = ServerAnswers.ReadProblem(404, PeerAnswersTarget.ProblemRequest, "application/problem+json", Body("problem-detail-invalid-utf8"), null);

        Assert.Equal((404, "file-not-found"), (problem.Status, problem.ProblemType));
        Assert.Equal($"{PeerAnswersTarget.ProblemRequest}: the server answered 404 file-not-found.", problem.Message);
    }

    [Fact]
    public void A_head_with_a_chunk_size_that_is_not_one_is_a_TransferException()
    {
        var error = Assert.Throws<TransferException>(() => ReadHead("head-chunk-size-not-valid"));

        Assert.Contains("the TMF-Chunk-Size '5', not a power of two from 1 MiB to 64 MiB", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_head_whose_provenance_path_is_not_canonical_carries_no_provenance()
    {
        var state = ReadHead("head-provenance-path-not-canonical");

        Assert.Null(state.Provenance);
        Assert.Equal((12L, 4194304), (state.Size, state.ChunkSize));
    }

    [Fact]
    public void A_head_without_a_chunk_size_reads_as_chunk_size_0()
    {
        // A held version's 409 carries no TMF-Chunk-Size (FileEndpoints.NotReleased): that stays allowed.
        var state = ReadHead("seed-head-held", regression: false);

        Assert.Equal((0, "pending-scan"), (state.ChunkSize, state.State));
    }

    [Fact]
    public void Afl_crash_inputs_are_refused_or_read_as_a_pulling_node_can_act_on()
    {
        // afl-fuzz crashes of 2026-12-07 on the build before the fix (docs/fuzzing.md, "Findings"), one of each kind but
        // the listing's (whose kinds the named regressions above cover).
        var info = Assert.Throws<TransferException>(() => ServerAnswers.ReadInfo(Body("afl-20261207-id000006")));
        Assert.StartsWith("The server's GET /v1/info answer is not JSON: '1' is invalid after a property name.", info.Message, StringComparison.Ordinal);

        Assert.Null(ReadHead("afl-20261207-id000009").Provenance);

        var chunk = Assert.Throws<TransferException>(() => ReadHead("afl-20261207-id000024"));
        Assert.Contains("the TMF-Chunk-Size '4194305', not a power of two", chunk.Message, StringComparison.Ordinal);

        var problem = ServerAnswers.ReadProblem(404, PeerAnswersTarget.ProblemRequest, "application/problem+json", Body("afl-20261207-id000036"), null);
        Assert.Equal(404, problem.Status);
        Assert.Null(problem.ProblemType);
        Assert.Equal($"{PeerAnswersTarget.ProblemRequest}: the server answered 404: No v.", problem.Message);
    }

    private static RemoteFileState ReadHead(string name, bool regression = true)
    {
        var lines = ProvenanceTarget.Lines(Body(name, regression));
        string? First(string header) => lines.FirstOrDefault(h => string.Equals(h.Key, header, StringComparison.OrdinalIgnoreCase)).Value;
        long? length = long.TryParse(First("Content-Length"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var l) ? l : null;
        return ServerAnswers.ReadFileState("/export/a.csv", First, length, null);
    }

    /// <summary>The body of a kept input: what follows its answer line.</summary>
    private static byte[] Body(string name, bool regression = true)
    {
        var file = regression
            ? Path.Combine(FuzzTargets.CorpusDirectory("peer-answers"), "regressions", name)
            : Path.Combine(FuzzTargets.CorpusDirectory("peer-answers"), name);
        var bytes = File.ReadAllBytes(file);
        return bytes[(Array.IndexOf(bytes, (byte)'\n') + 1)..];
    }
}
